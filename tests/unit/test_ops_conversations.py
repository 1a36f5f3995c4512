"""The conversation viewer (ops/conversations.py) and the dashboard's counting of the page's own greeting: a
conversation as the customer saw it, the agent's messages of a live chat included, and the list's filters."""

from __future__ import annotations

from datetime import date

from common.knowledge import load_knowledge
from common.live_chat import AGENT, BOT, CUSTOMER, Chat, Message
from ops import conversations, metrics

KNOWLEDGE = load_knowledge()
DAY = metrics.Period(date(2026, 11, 2), date(2026, 11, 2))
T = DAY.start + 3600

GREETING_BUTTONS = [{"title": "还款失败了", "payload": "/repayment_failure"},
                    {"title": "转人工客服", "payload": "/ask_hotline"}]
EVENTS = [
    {"event": "user", "timestamp": T, "text": "/greet", "parse_data": {"intent": {"name": "greet", "confidence": 1.0}}},
    {"event": "action", "name": "utter_greet", "timestamp": T + 1},
    {"event": "bot", "timestamp": T + 1, "text": "您好！", "data": {"buttons": GREETING_BUTTONS}},
    {"event": "user", "timestamp": T + 10, "text": "/repayment_failure",
     "parse_data": {"intent": {"name": "repayment_failure", "confidence": 1.0}}},
    {"event": "action", "name": "action_answer_problem", "timestamp": T + 11},
    {"event": "bot", "timestamp": T + 11, "text": "还款没成功：\n\n1. 余额**不足**",
     "data": {"buttons": [{"title": "解决了", "payload": "/affirm"}, {"title": "没解决，找人工", "payload": "/deny"}]}},
    {"event": "user", "timestamp": T + 20, "text": "/deny",
     "parse_data": {"intent": {"name": "deny", "confidence": 1.0}}},
    {"event": "action", "name": "action_handoff", "timestamp": T + 21},
    {"event": "bot", "timestamp": T + 21, "text": "支付宝官方客服热线：95188", "metadata": {"handoff": "alipay"}},
    {"event": "pause", "timestamp": T + 30},
    {"event": "user", "timestamp": T + 40, "text": "有人吗？等很久了",
     "parse_data": {"intent": {"name": "nlu_fallback", "confidence": 0.3}}},
    {"event": "resume", "timestamp": T + 80},
]
LIVE = [Message(1, 7, "c1", BOT, "taken", "客服小王已接入，正在为您服务。", T + 35),
        Message(2, 7, "c1", CUSTOMER, "text", "有人吗？等很久了", T + 40),
        Message(3, 7, "c1", AGENT, "text", "您好，我是小王，请问扣了多少钱？", T + 50)]
CHAT = Chat(7, "c1", "alipay", "repayment_failure", "alipay", "ended", 3, T + 30, T + 35, T + 80, 3, "satisfied", None)


def test_a_transcript_is_what_the_customer_saw_with_the_agents_messages():
    rows = conversations.transcript(EVENTS, LIVE, {7: "小王"}, KNOWLEDGE)
    assert [(row["from"], row["text"]) for row in rows] == [
        ("bot", "您好！"),  # the page's own /greet is not shown
        ("user", "还款失败了"),  # a click as the button's title
        ("bot", "还款没成功：\n\n1. 余额**不足**"),  # markdown as stored: the page renders it
        ("user", "没解决，找人工"),
        ("bot", "支付宝官方客服热线：95188"),
        ("notice", "客服小王已接入，正在为您服务。"),
        ("user", "有人吗？等很久了"),  # once, from the tracker
        ("agent", "您好，我是小王，请问扣了多少钱？"),
    ]
    assert rows[1]["clicked"] and rows[1]["intent"] == "repayment_failure"
    assert rows[6]["to_person"] and not rows[3]["to_person"]
    assert rows[7]["name"] == "小王"


def test_the_list_titles_a_conversation_by_what_the_customer_did_and_filters_it():
    turns = metrics.turns_of("c1", EVENTS)
    row = conversations.list_row("c1", turns, CHAT, KNOWLEDGE)
    assert row["first_message"] == "（点选）还款失败" and row["messages"] == 3
    assert row["services"] == ["alipay"] and row["handed_off"] and row["rating"] == "satisfied"
    assert "repayment_failure" in row["topics"]
    assert conversations.matches(row, conversations.Filters(text="等很久", service="alipay", topic="repayment_failure",
                                                            handed_off=True, rated=True))
    for filters in (conversations.Filters(text="退货"), conversations.Filters(service="tianxing_loan"),
                    conversations.Filters(topic="login_failure")):
        assert not conversations.matches(row, filters)
    only_opened = metrics.turns_of("c2", EVENTS[:3])
    assert conversations.list_row("c2", only_opened, None, KNOWLEDGE) is None


def test_the_pages_own_greeting_is_not_a_user_message():
    opened = {"c1": EVENTS, "c2": EVENTS[:3]}
    figures = metrics.summary(opened, DAY, KNOWLEDGE)
    assert figures["conversations"] == 1  # c2 only opened the page
    assert figures["user_messages"] == 3 and "greet" not in figures["intents"]
    assert figures["intent_titles"]["repayment_failure"] == "还款失败"


def test_the_message_to_the_agent_is_no_review_candidate():
    assert metrics.review_candidates({"c1": EVENTS}, DAY, 0.5)[0].turn.text == "/repayment_failure"
    assert all(c.turn.text != "有人吗？等很久了" for c in metrics.review_candidates({"c1": EVENTS}, DAY, 0.5))
