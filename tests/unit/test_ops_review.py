"""Why a message is in the review inbox (ops/metrics.review_candidates, ops/inbox.group): each reason and each
signal of a wrong answer, on conversations written as the tracker store holds them."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any, Dict, List, Optional

from common.knowledge import load_knowledge
from ops import inbox, metrics

DAY = metrics.Period(date(2026, 11, 2), date(2026, 11, 2))
_clock = itertools.count(int(DAY.start) + 3600, 10)  # ten seconds between events


def user(text: str, intent: str, confidence: float = 0.95, ranking: Optional[List[Dict[str, Any]]] = None) -> dict:
    return {"event": "user", "timestamp": next(_clock), "text": text,
            "parse_data": {"intent": {"name": intent, "confidence": confidence},
                           "intent_ranking": ranking or [{"name": intent, "confidence": confidence}]}}


def action(name: str) -> dict:
    return {"event": "action", "name": name, "timestamp": next(_clock)}


def bot(text: str) -> dict:
    return {"event": "bot", "text": text, "timestamp": next(_clock)}


def answer(text: str = "答复") -> List[dict]:
    return [action("action_answer_problem"), bot(text), action("action_listen")]


def candidates(*events: dict) -> Dict[str, tuple]:
    found = metrics.review_candidates({"c1": list(events)}, DAY, low_confidence=0.5)
    return {c.turn.text: (c.reason, c.signal) for c in found}


def test_a_message_to_an_agent_during_a_live_chat_is_not_a_clarified_one():
    found = candidates(
        user("转人工", "ask_hotline"), action("action_handoff"), bot("热线"),
        {"event": "pause", "timestamp": next(_clock)},
        user("有人吗？等很久了", "nlu_fallback", 0.3), user("喂喂", "nlu_fallback", 0.2),
        {"event": "resume", "timestamp": next(_clock)},
    )
    assert found == {}


def test_clarified_and_given_up_are_told_apart():
    found = candidates(
        user("机子歇菜了", "nlu_fallback", 0.3), action("action_clarify"),
        {"event": "slot", "name": "clarify_attempts", "value": 1.0}, bot("您是想问…"),
        user("我想问个事", "nlu_fallback", 0.2), action("action_clarify"),
        {"event": "slot", "name": "clarify_attempts", "value": 0.0}, bot("抱歉，我还是没理解"),
    )
    assert found == {"机子歇菜了": ("clarified", None), "我想问个事": ("gave_up", None)}


def test_unresolved_after_a_sure_answer_is_not_enough_and_after_an_unsure_one_wrong():
    assert candidates(user("花呗还不上了", "repayment_failure", 0.97), *answer(), user("/deny", "deny", 1.0)) == {
        "花呗还不上了": ("not_enough", "unresolved")}
    assert candidates(user("钱怎么还没回来", "repayment_failure", 0.62), *answer(), user("/deny", "deny", 1.0)) == {
        "钱怎么还没回来": ("wrong_answer", "unresolved")}


def test_a_clicked_topic_whose_answer_was_not_enough_goes_to_the_knowledge_editor():
    found = metrics.review_candidates({"c1": [user("/duplicate_charge", "duplicate_charge", 1.0), *answer(),
                                              user("/deny", "deny", 1.0)]}, DAY, 0.5)
    assert [(c.turn.text, c.reason, c.signal) for c in found] == [("/duplicate_charge", "not_enough", "unresolved")]
    row = inbox.group(found)[0].as_dict()
    assert row["to_knowledge"] is True and row["text"] == inbox.CLICKED and row["intent"] == "duplicate_charge"
    assert row["reason_text"] == "答对了但不够（随后用户点了“没解决”）"


def test_not_enough_rows_are_one_per_topic():
    found = metrics.review_candidates({
        "c1": [user("花呗还不上了", "repayment_failure", 0.97), *answer(), user("/deny", "deny", 1.0)],
        "c2": [user("借呗还款老失败", "repayment_failure", 0.93), *answer(), user("/deny", "deny", 1.0)],
        "c3": [user("/repayment_failure", "repayment_failure", 1.0), *answer(), user("/deny", "deny", 1.0)],
    }, DAY, 0.5)
    rows = [item.as_dict() for item in inbox.group(found)]
    assert len(rows) == 1 and rows[0]["count"] == 3 and set(rows[0]["examples"]) == {"花呗还不上了", "借呗还款老失败"}


def test_a_person_asked_for_right_after_a_reply():
    # a confident answer of the right topic: not enough
    assert candidates(user("屏幕摔碎了", "after_sales_repair", 0.95), *answer(), user("转人工", "ask_hotline")) == {
        "屏幕摔碎了": ("not_enough", "asked_person")}
    # a small-talk reply to a problem: wrong, however sure the NLU was
    found = candidates(user("我那个东西还是不行啊", "deny", 0.98), action("utter_anything_else"),
                       bot("好的。还有其他可以帮您的吗？"), user("给我人工客服电话", "ask_hotline"))
    assert found == {"我那个东西还是不行啊": ("wrong_answer", "asked_person")}


def test_a_rephrasing_or_a_correction_right_away_marks_a_confident_wrong_answer():
    found = candidates(user("花呗被重复扣款了两次", "duplicate_charge", 0.96), *answer("重复扣款"),
                       user("/affirm", "affirm", 1.0), action("utter_glad"), bot("太好了"),
                       user("怎么退回来", "return_exchange", 0.91), *answer("退换货规则"),
                       user("不是退货，是扣了两次的钱怎么退", "duplicate_charge", 0.88), *answer("重复扣款"))
    assert found == {"怎么退回来": ("wrong_answer", "rephrased")}
    found = candidates(user("借呗额度怎么没了", "quota_frozen", 0.9), *answer(),
                       user("借呗的额度突然没了怎么回事", "quota_frozen", 0.9), *answer())
    assert found == {"借呗额度怎么没了": ("wrong_answer", "rephrased")}


def test_a_new_question_or_thanks_is_no_signal():
    assert candidates(user("还款失败了", "repayment_failure", 0.95), *answer(),
                      user("谢谢", "thanks", 0.99), action("utter_thanks"), bot("不客气"),
                      user("提现也失败了怎么办", "withdrawal_failure", 0.9), *answer()) == {}


def test_a_complaint_after_an_answer_and_a_late_message_is_no_rephrasing():
    assert candidates(user("借呗的钱提不出来", "withdrawal_failure", 0.9), *answer(),
                      user("我要投诉你们", "complaint", 0.97)) == {"借呗的钱提不出来": ("not_enough", "complaint")}
    late = user("借呗额度突然没了怎么回事", "quota_frozen", 0.9)
    late["timestamp"] += 3600
    assert candidates(user("借呗额度怎么没了", "quota_frozen", 0.9), *answer(), late, *answer()) == {}


def test_low_confidence_and_declined_are_kept():
    assert candidates(user("这个咋整", "login_failure", 0.41), *answer(),
                      user("怎么申请信用卡", "out_of_scope", 0.9), action("utter_out_of_scope"), bot("帮不上")) == {
        "这个咋整": ("low_confidence", None), "怎么申请信用卡": ("declined", None)}


def test_a_follow_up_answer_counts_as_an_answer_and_its_feedback_as_feedback():
    """「费用是？」 after a repair answer is answered by action_follow_up with 解决了/没解决: an answer, and its 没解决
    is the answer's feedback. The same action's hotline card after 「转人工」 is no answer."""
    feedback_buttons = [{"title": "解决了", "payload": "/affirm"}, {"title": "没解决，找人工", "payload": "/deny"}]
    events = [user("手机屏幕摔碎了", "after_sales_repair", 0.97), *answer(),
              user("费用是？", "nlu_fallback", 0.4), action("action_follow_up"),
              {**bot("维修收不收费…"), "data": {"buttons": feedback_buttons}}, action("action_listen"),
              user("/deny", "deny", 1.0), action("action_handoff"), bot("热线"), action("action_listen"),
              user("转人工", "nlu_fallback", 0.4), action("action_follow_up"), bot("小米售后官方客服热线"),
              action("action_listen")]
    figures = metrics.summary({"c1": events}, DAY, load_knowledge())
    assert (figures["answers"], figures["unresolved"]) == (2, 1)
