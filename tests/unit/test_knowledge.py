import shutil
from datetime import datetime

import pytest
import yaml

from common.knowledge import KNOWLEDGE_DIR, SERVICE_TIMEZONE, load_knowledge
from tests.conftest import ROOT, assert_only_official_numbers


def test_hotlines_are_the_ones_in_the_source_documents():
    services = load_knowledge().services
    assert services["tianxing_loan"].hotline == "400-100-3399"
    assert services["xiaomi_after_sales"].hotline == "400-100-5678"
    assert services["alipay"].hotline == "95188"


def test_the_article_sites_number_is_known_as_unofficial():
    owner = load_knowledge().lookup_number("4006808581")
    assert owner is not None and "路由通" in owner.owner


def test_every_problem_intent_has_a_button_title_and_an_answer_or_its_own_action():
    knowledge = load_knowledge()
    for key in knowledge.intents_of_kind("problem"):
        assert knowledge.intent_titles[key]
        assert knowledge.intents[key].action or knowledge.topics[key].default.strip()


def test_aliases_resolve_to_products_and_xiaomi_alone_is_ambiguous():
    index = load_knowledge().alias_index
    assert index["随星借"] == "tianxing_loan"
    assert index["花呗"] == "alipay"
    assert index["米家"] == "xiaomi_after_sales"
    assert [s.key for s in load_knowledge().services_for(index["小米"])] == ["xiaomi_after_sales", "tianxing_loan"]


def test_loading_refuses_an_answer_with_an_invented_number(tmp_path):
    shutil.copytree(KNOWLEDGE_DIR, tmp_path / "knowledge")
    intents_path = tmp_path / "knowledge" / "intents.yml"
    catalogue = yaml.safe_load(intents_path.read_text(encoding="utf-8"))
    catalogue["intents"]["repayment_failure"]["answer"] += "\n也可以拨打400-123-4567。"
    intents_path.write_text(yaml.safe_dump(catalogue, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="4001234567"):
        load_knowledge(tmp_path / "knowledge")


def test_loading_refuses_a_fixed_response_with_an_invented_number(tmp_path):
    shutil.copytree(KNOWLEDGE_DIR, tmp_path / "knowledge")
    responses_path = tmp_path / "knowledge" / "responses.yml"
    responses = yaml.safe_load(responses_path.read_text(encoding="utf-8"))
    responses["responses"]["utter_greet"][0]["text"] += "客服电话 400-123-4567"
    responses_path.write_text(yaml.safe_dump(responses, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="4001234567"):
        load_knowledge(tmp_path / "knowledge")


@pytest.mark.parametrize("entry, error", [
    ({"kind": "problem", "answer": "先重启试试。"}, "without a title"),
    ({"kind": "stock", "response": "utter_no_such_response"}, "utter_no_such_response"),
    ({"kind": "stock"}, "needs an answer, an action or a response"),
    ({"kind": "chitchat", "response": "utter_greet"}, "kind 'chitchat'"),
])
def test_loading_refuses_an_incomplete_catalogue_entry(tmp_path, entry, error):
    shutil.copytree(KNOWLEDGE_DIR, tmp_path / "knowledge")
    intents_path = tmp_path / "knowledge" / "intents.yml"
    catalogue = yaml.safe_load(intents_path.read_text(encoding="utf-8"))
    catalogue["intents"]["new_intent"] = entry
    intents_path.write_text(yaml.safe_dump(catalogue, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match=error):
        load_knowledge(tmp_path / "knowledge")


def test_domain_responses_carry_no_phone_numbers_but_hotlines():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    for variations in domain["responses"].values():
        for variation in variations:
            assert_only_official_numbers(variation["text"])


def test_hours_know_whether_the_line_is_staffed_in_beijing_time():
    hours = load_knowledge().services["tianxing_loan"].hours
    assert hours.is_open(datetime(2026, 11, 23, 10, 0, tzinfo=SERVICE_TIMEZONE))
    assert not hours.is_open(datetime(2026, 11, 23, 18, 0, tzinfo=SERVICE_TIMEZONE))
    # 01:30 UTC is 09:30 in Beijing.
    assert hours.is_open(datetime.fromisoformat("2026-11-23T01:30:00+00:00"))
