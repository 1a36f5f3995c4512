"""The knowledge store (common/knowledge_store.py) on a real SQLite file, and on PostgreSQL when its binaries
are here: the number guard, drafts, versions, diffs, rollback, the upgrade merge and what the assistant
answers with."""

from __future__ import annotations

from typing import Iterator

import pytest
import sqlalchemy as sa

from common import knowledge_store as ks
from common.knowledge import load_knowledge
from common.knowledge_store import (
    AnsweringKnowledge,
    EditRefused,
    KnowledgeStore,
    NothingToPublish,
    NumberRefused,
    editable_content,
)
from devtools.servers import LocalPostgres

KNOWLEDGE = load_knowledge()
ANSWER = "topic/repayment_failure/answer"
ALIPAY_VARIANT = "topic/repayment_failure/answer/alipay"


@pytest.fixture(scope="module")
def postgres() -> Iterator[LocalPostgres]:
    if not LocalPostgres.available():
        pytest.skip("PostgreSQL 15 is not installed (make cluster-deps)")
    server = LocalPostgres().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path) -> Iterator[sa.engine.Engine]:
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    else:
        env = request.getfixturevalue("postgres").tracker_env()
        url = sa.engine.URL.create("postgresql", username=env["TRACKER_DB_USER"], password=env["TRACKER_DB_PASSWORD"],
                                   host="127.0.0.1", port=int(env["TRACKER_DB_HOST"].split(":")[1]),
                                   database=env["TRACKER_DB"])
        engine = sa.create_engine(url)
        ks.metadata.drop_all(engine)
    yield engine
    engine.dispose()


def test_a_fresh_install_publishes_the_repository_as_version_1(engine):
    store = KnowledgeStore(engine, KNOWLEDGE)
    first = store.published()
    assert first.version == 1 and first.by == ks.YAML_AUTHOR
    assert first.content == editable_content(KNOWLEDGE)
    assert first.content[ANSWER].startswith("还款没成功")
    assert KnowledgeStore(engine, KNOWLEDGE).published().version == 1  # a second process imports nothing


@pytest.mark.parametrize("text, number", [
    ("请拨打 13912345678 找我们", "13912345678"),
    ("客服电话：４００－６８０－８５８１", "4006808581"),  # full-width, and a number listed as not official
    ("95188 或 021-12345678", "02112345678"),
    ("微信或电话 1 3 9 1 2 3 4 5 6 7 8 都行", "13912345678"),  # spaced out digit by digit
])
def test_a_number_that_is_not_an_official_line_is_refused_and_nothing_is_saved(engine, text, number):
    store = KnowledgeStore(engine, KNOWLEDGE)
    with pytest.raises(NumberRefused) as refused:
        store.save({"topic/login_failure/answer": "新的登录答复", ANSWER: text}, by="小李")
    assert refused.value.digits == number and number in str(refused.value)
    draft = store.draft()
    assert not draft.changed and draft.pending == {}  # the good edit of the same save is not kept either


def test_the_guard_covers_variants_titles_and_service_hours_and_notes(engine):
    store = KnowledgeStore(engine, KNOWLEDGE)
    for path, value in [(ALIPAY_VARIANT, "打 13812345678"), ("topic/repayment_failure/title", "打13812345678"),
                        ("service/alipay/note", "或拨打 4001234567"),
                        ("service/tianxing_loan/hours", {"open": "09:00", "close": "18:00", "days": "每天",
                                                         "note": "急事打 13812345678"})]:
        with pytest.raises(NumberRefused):
            store.save({path: value}, by="小李")
    # official lines are fine anywhere
    store.save({ANSWER: "请拨打 400-100-3399 或 95188。"}, by="小李")
    assert store.draft().content[ANSWER] == "请拨打 400-100-3399 或 95188。"


def test_edits_of_what_is_not_editable_are_refused(engine):
    store = KnowledgeStore(engine, KNOWLEDGE)
    for path, value in [("topic/no_such_intent/answer", "x"), ("service/alipay/hotline", "95188"),
                        ("topic/repayment_failure/answer/no_such_service", "x"), (ANSWER, "  "),
                        ("service/alipay/hours", {"open": "9点", "close": "18:00", "days": "每天"}),
                        ("service/alipay/hours", {"open": "18:00", "close": "09:00", "days": "每天"}),
                        (ANSWER, '还款失败<img src=x onerror="alert(1)">'), ("service/alipay/note", "<b>说人工</b>")]:
        with pytest.raises(EditRefused):
            store.save({path: value}, by="小李")


def test_a_draft_is_not_published_until_publish_and_then_is_a_new_version_with_who_and_note(engine):
    store = KnowledgeStore(engine, KNOWLEDGE)
    store.save({ANSWER: "新的还款答复", "service/alipay/note": "说“人工”即可"}, by="小李")
    draft = store.draft()
    assert draft.changed and draft.content[ANSWER] == "新的还款答复"
    assert store.published().content[ANSWER].startswith("还款没成功")
    assert draft.pending[ANSWER]["by"] == "小李"

    second = store.publish("改了还款答复", by="小李")
    assert (second.version, second.by, second.note) == (2, "小李", "改了还款答复")
    assert store.published().content[ANSWER] == "新的还款答复"
    assert store.published().edited[ANSWER]["by"] == "小李"
    assert not store.draft().changed
    with pytest.raises(NothingToPublish):
        store.publish("again", by="小李")


def test_saving_the_published_text_again_leaves_nothing_to_publish(engine):
    store = KnowledgeStore(engine, KNOWLEDGE)
    published = store.published().content[ANSWER]
    store.save({ANSWER: "别的"}, by="小李")
    store.save({ANSWER: published}, by="小李")
    assert not store.draft().changed


def test_a_variant_can_be_added_and_removed(engine):
    store = KnowledgeStore(engine, KNOWLEDGE)
    store.save({"topic/login_failure/answer/alipay": "支付宝登录不上……"}, by="小李")
    assert store.publish("加支付宝版本", by="小李").content["topic/login_failure/answer/alipay"] == "支付宝登录不上……"
    store.save({ALIPAY_VARIANT: None}, by="小李")
    third = store.publish("去掉支付宝版本", by="小李")
    assert ALIPAY_VARIANT not in third.content


def test_history_lists_every_version_newest_first_with_its_diff(engine):
    store = KnowledgeStore(engine, KNOWLEDGE)
    old = store.published().content[ANSWER]
    store.save({ANSWER: "第二版"}, by="小李")
    store.publish("第二版", by="小李")
    store.save({"topic/repayment_failure/title": "还不上款"}, by="小张")
    store.publish("改标题", by="小张")
    history = store.history()
    assert [item["version"] for item in history] == [3, 2, 1]
    assert [(item["by"], item["note"]) for item in history[:2]] == [("小张", "改标题"), ("小李", "第二版")]
    assert history[0]["changes"] == [{"path": "topic/repayment_failure/title", "before": "还款失败",
                                      "after": "还不上款"}]
    assert history[1]["changes"] == [{"path": ANSWER, "before": old, "after": "第二版"}]


def test_rollback_publishes_an_earlier_content_as_a_new_version_and_keeps_the_draft(engine):
    store = KnowledgeStore(engine, KNOWLEDGE)
    original = store.published().content
    store.save({ANSWER: "第二版"}, by="小李")
    store.publish("第二版", by="小李")
    store.save({"topic/login_failure/answer": "还没发布的修改"}, by="小李")
    back = store.rollback(1, by="管理员")
    assert (back.version, back.rollback_of, back.by) == (3, 1, "管理员")
    assert back.content == original
    assert store.history()[0]["changes"] == [{"path": ANSWER, "before": "第二版", "after": original[ANSWER]}]
    assert store.draft().content["topic/login_failure/answer"] == "还没发布的修改"  # still pending
    assert [item["version"] for item in store.history()] == [3, 2, 1]  # nothing rewritten
    with pytest.raises(EditRefused):
        store.rollback(42, by="管理员")


def test_an_upgrade_merges_the_repository_changes_over_what_operators_published(engine):
    store = KnowledgeStore(engine, KNOWLEDGE)
    store.save({ANSWER: "运营改的"}, by="小李")
    store.publish("运营改的", by="小李")
    # the repository changed another answer and a title since it was imported
    upgraded = ks.apply_content(KNOWLEDGE, {"topic/login_failure/answer": "仓库改的",
                                            "topic/login_failure/title": "登不上"})
    merged = KnowledgeStore(engine, upgraded).import_repository()
    assert merged.version == 3 and merged.by == ks.YAML_AUTHOR
    assert merged.content[ANSWER] == "运营改的"  # the operator's edit stays
    assert merged.content["topic/login_failure/answer"] == "仓库改的"
    assert merged.content["topic/login_failure/title"] == "登不上"
    assert KnowledgeStore(engine, upgraded).import_repository() is None  # only once


def test_phrasings_to_add_or_remove_wait_in_the_draft_and_are_published_with_the_version(engine):
    store = KnowledgeStore(engine, KNOWLEDGE)

    def known(intent):
        return ["还款失败", "还不上款"]

    store.save_phrasings("repayment_failure", add=["银行卡扣不了款", "还款失败"], remove=["还不上款", "没有的"],
                         by="小李", known=known)
    draft = store.draft()
    assert draft.phrasings == {"repayment_failure": {"added": ["银行卡扣不了款"], "removed": ["还不上款"]}}
    assert draft.changed
    with pytest.raises(EditRefused):  # Rasa's annotation syntax
        store.save_phrasings("repayment_failure", add=["[花呗](product)还不上"], remove=[], by="小李", known=known)
    version = store.publish("加说法", by="小李")
    assert version.phrasings == draft.phrasings
    assert store.history()[0]["phrasings"] == draft.phrasings
    assert store.draft().phrasings == {}


def test_the_assistant_answers_from_the_newest_version_and_a_test_chat_from_the_draft(engine):
    store = KnowledgeStore(engine, KNOWLEDGE)
    answering = AnsweringKnowledge(lambda: engine, KNOWLEDGE, refresh_s=0)
    assert answering.published().topics["repayment_failure"].default.startswith("还款没成功")
    store.save({ANSWER: "草稿", "service/tianxing_loan/hours": None}, by="小李")
    trial = store.new_trial("小李")
    assert answering.for_conversation(trial).topics["repayment_failure"].default == "草稿"
    assert answering.for_conversation(trial).services["tianxing_loan"].hours is None
    assert answering.for_conversation("customer-1").topics["repayment_failure"].default.startswith("还款没成功")
    # an unregistered id that looks like a test chat gets the published text
    assert answering.for_conversation(ks.TRIAL_PREFIX + "guess").topics["repayment_failure"].default != "草稿"
    store.publish("发布", by="小李")
    assert answering.published().topics["repayment_failure"].default == "草稿"
    assert answering.version == 2


def test_the_assistant_looks_for_a_new_version_at_most_every_refresh_interval(engine):
    store = KnowledgeStore(engine, KNOWLEDGE)
    store.published()
    answering = AnsweringKnowledge(lambda: engine, KNOWLEDGE, refresh_s=3600)
    assert answering.version == 1
    store.save({ANSWER: "新"}, by="小李")
    store.publish("新", by="小李")
    assert answering.published().topics["repayment_failure"].default != "新"  # not looked yet
    answering._checked_at -= 3600
    assert answering.published().topics["repayment_failure"].default == "新"


def test_without_a_readable_database_the_repository_answers(tmp_path):
    answering = AnsweringKnowledge(lambda: sa.create_engine("postgresql://nobody@127.0.0.1:1/none"), KNOWLEDGE,
                                   refresh_s=0)
    assert answering.published() is KNOWLEDGE


def test_a_published_title_is_the_clarification_buttons_title():
    applied = ks.apply_content(KNOWLEDGE, {**editable_content(KNOWLEDGE), "topic/account_locked/title": "账号被锁定"})
    assert applied.intent_titles["account_locked"] == "账号被锁定"
    assert KNOWLEDGE.intent_titles["account_locked"] == "账户被锁"  # the repository's knowledge is untouched


def test_a_rollback_takes_back_the_phrasings_published_after_that_version(engine):
    store = KnowledgeStore(engine, KNOWLEDGE)
    known = {"repayment_failure": ["还款失败", "还不上款"]}
    store.published()
    store.save_phrasings("repayment_failure", add=["扣不了款"], remove=["还不上款"], by="小李",
                         known=lambda intent: known[intent])
    store.publish("说法一", by="小李")
    known["repayment_failure"] = ["还款失败", "扣不了款"]
    store.save_phrasings("repayment_failure", add=["卡里没钱还不了"], remove=["扣不了款"], by="小李",
                         known=lambda intent: known[intent])
    store.publish("说法二", by="小李")
    back = store.rollback(1, by="管理员")
    # as before version 2: 还不上款 back, the two added since gone
    assert {k: sorted(v) for k, v in back.phrasings["repayment_failure"].items()} == {
        "added": ["还不上款"], "removed": ["卡里没钱还不了", "扣不了款"]}
    assert store.rollback(back.version, by="管理员").phrasings == {}  # nothing published in between
