"""The knowledge editor's HTTP API on the real page server (and the real Rasa and action servers behind it):
the contract, 401 without the token, the number guard, drafts, publishing, history, rollback, operator
accounts, 试聊, and new phrasings filed into the training data and trained into the model in service."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from common.knowledge import load_knowledge
from devtools.servers import ROOT
from tests.knowledge.conftest import TOKEN, call, customer_says, topic

KNOWLEDGE = load_knowledge()
CALLS = [("knowledge", "GET", None), ("knowledge/topics/login_failure", "PUT", {"answer": "x"}),
         ("knowledge/topics/login_failure/phrasings", "GET", None),
         ("knowledge/services/alipay", "PUT", {"note": "x"}), ("knowledge/draft", "DELETE", None),
         ("knowledge/publish", "POST", {"note": "x"}), ("knowledge/history", "GET", None),
         ("knowledge/rollback", "POST", {"version": 1}), ("knowledge/trial", "POST", {"text": "你好"}),
         ("operators", "POST", {"name": "x"}), ("operators", "GET", None), ("me", "GET", None)]
RETRAIN_TIMEOUT_S = 900  # validation + training + loading, niced, on 2 busy cores


@pytest.mark.parametrize("token", [None, "", "wrong-token", TOKEN + "x"])
def test_every_knowledge_call_refuses_a_missing_or_wrong_token(console, token):
    for path, method, body in CALLS:
        assert call(console, path, token=token, body=body, method=method)[0] == 401, path
    assert call(console, "knowledge")[1]["draft"]["changed"] is False  # nothing got through


def test_the_knowledge_lists_every_topic_and_service_as_the_repository_has_them(console):
    status, body = call(console, "knowledge")
    assert status == 200 and body["version"] >= 1
    repayment = next(t for t in body["topics"] if t["intent"] == "repayment_failure")
    assert repayment["title"] == "还款失败"
    assert repayment["answer"] == KNOWLEDGE.topics["repayment_failure"].default.strip()
    assert repayment["variants"]["alipay"].startswith("花呗/借呗还款失败")
    assert repayment["phrasings"] > 10 and repayment["draft"] is False
    assert {t["intent"] for t in body["topics"]} >= set(KNOWLEDGE.intent_titles)
    alipay = next(s for s in body["services"] if s["key"] == "alipay")
    assert alipay["hotline"] == "95188" and alipay["hours"] is None and alipay["note"]
    loan = next(s for s in body["services"] if s["key"] == "tianxing_loan")
    assert loan["hours"] == {"open": "09:00", "close": "18:00", "days": "每天",
                             "note": "节假日可能调整，以天星金融官方公告为准"}


def test_the_first_version_is_the_repository(console):
    first = call(console, "knowledge/history")[1]["items"][-1]
    assert (first["version"], first["by"]) == (1, "knowledge/*.yml")


@pytest.mark.parametrize("body, number", [
    ({"answer": "还款失败请拨打13912345678咨询"}, "13912345678"),
    ({"answer": "官方电话是 400-680-8581"}, "4006808581"),  # known, and listed as not official
    ({"variants": {"alipay": "花呗问题打 021-55667788"}}, "02155667788"),
    ({"title": "打 13912345678"}, "13912345678"),
])
def test_a_number_that_is_not_an_official_line_is_refused_with_422_naming_it(console, body, number):
    before = topic(console, "repayment_failure")
    status, answer = call(console, "knowledge/topics/repayment_failure", body={**body, "phrasings_add": ["还款老失败"]},
                          method="PUT")
    assert status == 422 and number in answer["error"] and answer["number"] == number
    assert topic(console, "repayment_failure") == before  # nothing saved, not even the phrasing


def test_a_service_note_or_hours_with_an_unofficial_number_is_refused(console):
    status, answer = call(console, "knowledge/services/alipay", body={"note": "也可以打 13812345678"}, method="PUT")
    assert status == 422 and "13812345678" in answer["error"]
    hours = {"open": "08:00", "close": "20:00", "days": "工作日", "note": "急事请拨 010-66668888"}
    status, answer = call(console, "knowledge/services/tianxing_loan", body={"hours": hours}, method="PUT")
    assert status == 422 and "01066668888" in answer["error"]


def test_official_lines_and_bad_requests(console):
    status, saved = call(console, "knowledge/topics/quota_frozen",
                         body={"answer": "额度问题请打 400-100-3399。"}, method="PUT")
    assert status == 200 and saved["answer"] == "额度问题请打 400-100-3399。" and saved["draft"] is True
    assert call(console, "knowledge/topics/no_such_intent", body={"answer": "x"}, method="PUT")[0] == 404
    assert call(console, "knowledge/topics/quota_frozen", body={"answer": "  "}, method="PUT")[0] == 422
    assert call(console, "knowledge/topics/quota_frozen", body={}, method="PUT")[0] == 400
    assert call(console, "knowledge/services/alipay", body={"hours": {"open": "25:00", "close": "26:00",
                                                                      "days": "每天"}}, method="PUT")[0] == 422
    assert call(console, "knowledge/draft", method="DELETE")[0] == 200
    assert topic(console, "quota_frozen")["draft"] is False


def test_edit_publish_history_and_rollback(console, assistant):
    old = topic(console, "login_failure")["answer"]
    version = call(console, "knowledge")[1]["version"]
    status, saved = call(console, "knowledge/topics/login_failure", method="PUT",
                         body={"answer": "登录不上，先**重置密码**再试。", "title": "登不上去"})
    assert status == 200 and saved["draft"] is True and saved["published"]["answer"] == old
    assert saved["edited"]["by"] == "管理员"
    assert call(console, "knowledge")[1]["version"] == version  # a draft is not a version

    status, published = call(console, "knowledge/publish", method="POST", body={"note": "登录答复改短"})
    assert status == 200 and published["version"] == version + 1 and published["retrain"] is None
    current = topic(console, "login_failure")
    assert (current["answer"], current["title"]) == ("登录不上，先**重置密码**再试。", "登不上去")
    assert current["draft"] is False
    assert call(console, "knowledge/publish", method="POST", body={"note": "again"})[0] == 409
    assert call(console, "knowledge/publish", method="POST", body={})[0] == 400

    latest = call(console, "knowledge/history")[1]["items"][0]
    assert (latest["version"], latest["by"], latest["note"]) == (version + 1, "管理员", "登录答复改短")
    assert {(c["label"], c["before"], c["after"]) for c in latest["changes"]} == {
        ("登录不上 · 答复", old, "登录不上，先**重置密码**再试。"), ("登录不上 · 按钮标题", "登录不上", "登不上去")}
    assert time.time() - 60 < latest["at"] <= time.time()

    status, rolled = call(console, "knowledge/rollback", method="POST", body={"version": version})
    assert status == 200 and rolled["version"] == version + 2
    assert topic(console, "login_failure")["answer"] == old
    history = call(console, "knowledge/history")[1]["items"]
    assert [item["version"] for item in history[:3]] == [version + 2, version + 1, version]
    assert history[0]["rollback_of"] == version
    assert call(console, "knowledge/rollback", method="POST", body={"version": 999})[0] == 404


def test_the_history_cannot_be_changed_through_the_api(console):
    before = call(console, "knowledge/history")[1]
    for method in ("PUT", "POST", "DELETE", "PATCH"):
        assert call(console, "knowledge/history", method=method, body={"items": []})[0] == 405
    assert call(console, "knowledge/history/1", method="DELETE")[0] in (404, 405)
    assert call(console, "knowledge/history")[1] == before


def test_operators_get_accounts_and_the_history_says_who(console):
    status, created = call(console, "operators", method="POST", body={"name": "小李"})
    assert status == 200 and created["token"]
    assert call(console, "operators", method="POST", body={"name": "小李"})[0] == 409
    operator = created["token"]
    assert call(console, "me", token=operator)[1] == {"name": "小李", "admin": False}
    assert call(console, "operators", token=operator, method="POST", body={"name": "小张"})[0] == 403
    assert call(console, "agents", token=operator, method="POST", body={"name": "x", "services": ["alipay"]})[0] == 403
    assert call(console, "knowledge/topics/interest_fees", token=operator, method="PUT",
                body={"answer": "利息按借款合同计算，App里「账单」可查。"})[0] == 200
    assert topic(console, "interest_fees")["edited"]["by"] == "小李"
    status, published = call(console, "knowledge/publish", token=operator, method="POST", body={"note": "利息说明"})
    assert status == 200
    assert call(console, "knowledge/history")[1]["items"][0]["by"] == "小李"
    assert "小李" in [o["name"] for o in call(console, "operators")[1]["items"]]


def test_trial_chat_answers_with_the_draft_while_customers_get_the_published_text(console, assistant):
    published = topic(console, "duplicate_charge")["answer"]
    draft = "试聊草稿：重复扣款请先核对交易记录。"
    assert call(console, "knowledge/topics/duplicate_charge", method="PUT", body={"answer": draft})[0] == 200
    try:
        status, trial = call(console, "knowledge/trial", method="POST", body={"text": "/duplicate_charge"})
        assert status == 200 and trial["conversation"].startswith("ops-trial-")
        assert draft in trial["messages"][0]["text"]
        assert [b["title"] for b in trial["messages"][0]["buttons"]] == ["解决了", "没解决，找人工"]
        again = call(console, "knowledge/trial", method="POST",
                     body={"text": "/duplicate_charge", "conversation": trial["conversation"]})[1]
        assert again["conversation"] == trial["conversation"] and draft in again["messages"][0]["text"]
        customer = customer_says(assistant, "knowledge-customer-trial", "/duplicate_charge")
        assert published in customer[0]["text"] and draft not in customer[0]["text"]
        # an id that merely looks like a test chat gets the published text
        forged = customer_says(assistant, "ops-trial-forged", "/duplicate_charge")
        assert draft not in forged[0]["text"]
        assert call(console, "knowledge/trial", method="POST",
                    body={"text": "你好", "conversation": "customer-1"})[0] == 400
        # the operators' test chats are not customers: not in the figures, the inbox or the conversation list
        listed = [c["id"] for c in call(console, "conversations")[1]["conversations"]]
        assert "knowledge-customer-trial" in listed and not any(c.startswith("ops-trial-") for c in listed)
    finally:
        call(console, "knowledge/draft", method="DELETE")


def _examples(data: Path, intent: str) -> list:
    found = []
    for path in sorted((data / "nlu").glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if block.get("intent") == intent:
                found += [line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- ")]
    return found


def test_new_phrasings_are_filed_trained_and_served_after_publishing(console, assistant, training_data):
    heldout = yaml.safe_load((ROOT / "holdout" / "heldout.yml").read_text(encoding="utf-8"))["nlu"][0]
    sentence = heldout["examples"].splitlines()[0][2:].strip()
    status, refused = call(console, f"knowledge/topics/{heldout['intent']}", method="PUT",
                           body={"phrasings_add": [sentence]})
    assert status == 422 and "测试集" in refused["error"]

    intent = "withdrawal_failure"
    existing = _examples(training_data, intent)
    removed = existing[-1]
    new = "零钱转不到银行卡上去，一直显示处理失败"
    count = topic(console, intent)["phrasings"]
    status, saved = call(console, f"knowledge/topics/{intent}", method="PUT",
                         body={"phrasings_add": [new], "phrasings_remove": [removed]})
    assert status == 200 and saved["phrasings_added"] == [new] and saved["phrasings_removed"] == [removed]
    assert saved["phrasings"] == count
    assert call(console, f"knowledge/topics/{intent}/phrasings")[1]["items"] == existing  # not yet written
    status, published = call(console, "knowledge/publish", method="POST", body={"note": "提现说法"})
    assert status == 200 and published["retrain"] == "started" and "重新训练" in published["message"]
    examples = _examples(training_data, intent)
    assert new in examples and removed not in examples
    assert call(console, "knowledge/history")[1]["items"][0]["phrasings"] == {
        intent: {"added": [new], "removed": [removed]}}

    wait_for_retrain(console)
    reply = customer_says(assistant, "knowledge-customer-phrasing", new)
    assert "提现" in reply[0]["text"]

    # a rollback to the version before takes the phrasings back too, and retrains
    status, rolled = call(console, "knowledge/rollback", method="POST", body={"version": published["version"] - 1})
    assert status == 200 and rolled["retrain"] == "started"
    examples = _examples(training_data, intent)
    assert new not in examples and removed in examples
    wait_for_retrain(console)


def wait_for_retrain(console) -> None:
    deadline = time.monotonic() + RETRAIN_TIMEOUT_S
    while (status := call(console, "retrain")[1])["state"] == "running" and time.monotonic() < deadline:
        time.sleep(5)
    assert status["state"] == "succeeded", status


def test_the_dashboard_and_the_inbox_show_the_published_titles(console, assistant):
    customer_says(assistant, "knowledge-customer-title", "/duplicate_charge")
    assert call(console, "knowledge/topics/duplicate_charge", method="PUT", body={"title": "扣了两次钱"})[0] == 200
    assert call(console, "knowledge/publish", method="POST", body={"note": "标题更口语"})[0] == 200
    time.sleep(4)  # the console looks for a new version every 3 s, as the action servers do
    topics = call(console, "summary")[1]["topics"]
    assert "扣了两次钱" in [t["title"] for t in topics] and "重复扣款" not in [t["title"] for t in topics]
    labels = call(console, "inbox")[1]["labels"]
    assert {"intent": "duplicate_charge", "title": "扣了两次钱"} in labels


def test_the_administrator_disables_and_rekeys_an_operator_and_the_old_token_stops_at_once(console):
    created = call(console, "operators", method="POST", body={"name": "小孟"})[1]
    token, operator_id = created["token"], created["id"]
    assert call(console, "me", token=token)[0] == 200
    assert call(console, f"operators/{operator_id}", token=token, method="POST", body={"disabled": True})[0] == 403

    assert call(console, f"operators/{operator_id}", method="POST", body={"disabled": True})[0] == 200
    assert call(console, "me", token=token)[0] == 401  # a colleague who left: locked out at once
    listed = {o["name"]: o for o in call(console, "operators")[1]["items"]}
    assert listed["小孟"]["disabled"] is True
    assert call(console, f"operators/{operator_id}", method="POST", body={"disabled": False})[0] == 200
    assert call(console, "me", token=token)[0] == 200

    status, rekeyed = call(console, f"operators/{operator_id}/token", method="POST", body={})
    assert status == 200 and rekeyed["token"] != token
    assert call(console, "me", token=token)[0] == 401  # a leaked token, replaced
    assert call(console, "me", token=rekeyed["token"])[1] == {"name": "小孟", "admin": False}
    assert call(console, "operators/9999/token", method="POST", body={})[0] == 404
    assert call(console, f"operators/{operator_id}", method="POST", body={"disabled": "yes"})[0] == 400
