import shutil
from datetime import datetime

import pytest
import yaml

from assistant.knowledge import KNOWLEDGE_DIR, SERVICE_TIMEZONE, load_knowledge
from tests.conftest import ROOT, assert_only_official_numbers

PROBLEM_INTENTS = [
    "repayment_failure", "account_locked", "login_failure", "duplicate_charge", "withdrawal_failure",
    "quota_frozen", "interest_fees", "earnings_query", "after_sales_repair", "return_exchange",
    "device_connection", "complaint", "loan_offer_risk", "brand_change",
    "payment_failure", "bill_error", "investment_risk", "card_binding", "repayment_date", "quota_increase",
    "repair_progress", "spare_parts", "service_locations", "call_tips", "contact_channels",
]


def test_hotlines_are_the_ones_in_the_source_documents():
    services = load_knowledge().services
    assert services["tianxing_loan"].hotline == "400-100-3399"
    assert services["xiaomi_after_sales"].hotline == "400-100-5678"
    assert services["alipay"].hotline == "95188"


def test_the_article_sites_number_is_known_as_unofficial():
    owner = load_knowledge().lookup_number("4006808581")
    assert owner is not None and "路由通" in owner.owner


def test_every_problem_intent_has_an_answer_and_a_button_title():
    knowledge = load_knowledge()
    for intent in PROBLEM_INTENTS:
        assert knowledge.topics[intent].default.strip()
        assert knowledge.intent_titles[intent]


def test_aliases_resolve_to_products_and_xiaomi_alone_is_ambiguous():
    index = load_knowledge().alias_index()
    assert index["随星借"] == "tianxing_loan"
    assert index["花呗"] == "alipay"
    assert index["米家"] == "xiaomi_after_sales"
    assert [s.key for s in load_knowledge().services_for(index["小米"])] == ["xiaomi_after_sales", "tianxing_loan"]


def test_loading_refuses_an_answer_with_an_invented_number(tmp_path):
    shutil.copytree(KNOWLEDGE_DIR, tmp_path / "knowledge")
    answers_path = tmp_path / "knowledge" / "answers.yml"
    answers = yaml.safe_load(answers_path.read_text(encoding="utf-8"))
    answers["topics"]["repayment_failure"]["default"] += "\n也可以拨打400-123-4567。"
    answers_path.write_text(yaml.safe_dump(answers, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="4001234567"):
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
