"""Live chat through its HTTP contract (docs/ops.md) with customers on the real socket.io channel:
tokens, the queue and its positions, takeover with the transcript, messages both ways with the bot
paused, end and rating, the bot answering again, leaving the queue, the dashboard's figures, 403, the customer's
typing shown to the agent."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from devtools.live_chat_clients import OPS_TOKEN, Customer, buttons
from rasa_server.live_channel import CUSTOMER_TYPING_EVERY_S

ASK_ALIPAY_PERSON = "支付宝的人工客服电话是多少"
ASK_XIAOMI_PERSON = "小米售后的人工客服怎么联系"
LIVE_BUTTON = "在线人工"


@pytest.fixture
def customers(assistant):
    opened = []

    def open_customer() -> Customer:
        opened.append(Customer(assistant.url))
        return opened[-1]

    yield open_customer
    for customer in opened:
        customer.close()


def tracker_events(assistant, conversation: str):
    url = f"{assistant.url}/conversations/{conversation}/tracker?token={assistant.auth_token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())["events"]


def ask_for_person(customer: Customer, text: str = ASK_ALIPAY_PERSON):
    """The handoff card the customer gets for `text`."""
    before = customer.say(text)
    return customer.wait_for("官方客服热线", before)


@pytest.mark.parametrize("method, path", [
    ("POST", "agents"), ("POST", "agent/status"), ("GET", "agent/queue"), ("POST", "agent/take"),
    ("GET", "agent/conversations/x/messages?after=0"), ("POST", "agent/conversations/x/messages"),
    ("POST", "agent/conversations/x/end"), ("GET", "agent/me"),
])
def test_every_live_chat_call_answers_401_without_the_right_token(ops, method, path):
    body = {} if method == "POST" else None
    assert ops.call(method, path, None, body)[0] == 401
    assert ops.call(method, path, "not-a-token", body)[0] == 401
    if path.startswith("agent/"):  # the operator's token is not an agent's
        assert ops.call(method, path, OPS_TOKEN, body)[0] == 401


def test_an_agent_token_cannot_create_agents_or_read_the_dashboard(ops):
    token = ops.new_agent("小李", ["xiaomi_after_sales"], online=False)
    assert ops.call("POST", "agents", token, {"name": "x", "services": ["alipay"]})[0] == 401
    assert ops.call("GET", "summary", token)[0] == 401
    assert ops.call("POST", "agents", OPS_TOKEN, {"name": "x", "services": ["no_such_service"]})[0] == 400


def test_with_nobody_online_the_handoff_is_the_hotline_card_only(ops, customers):
    ops.new_agent("小赵", ["alipay"], online=False)  # exists, but offline
    card = ask_for_person(customers())
    assert "95188" in card["text"]
    assert LIVE_BUTTON not in buttons(card)


def test_a_live_chat_from_queue_to_rating(ops, customers, assistant):
    wang = ops.new_agent("小刘", ["alipay"])
    foreign = ops.new_agent("小陈", ["xiaomi_after_sales"])
    first, second = customers(), customers()

    # An agent of the service is online: the card offers 「在线人工」 beside the hotline.
    card = ask_for_person(first)
    assert "95188" in card["text"]
    join = buttons(card)[LIVE_BUTTON]
    queued = first.wait_for("排队", first.say(join))
    assert "第 1 位" in queued["text"]
    assert "离开排队" in buttons(queued)
    second.wait_for("第 2 位", second.say(buttons(ask_for_person(second))[LIVE_BUTTON]))

    # The queue of the agent's services, with positions; another service's agent sees none of it.
    items = ops.ok("GET", "agent/queue", wang)["items"]
    mine = {item["conversation"]: item for item in items}
    assert mine[first.conversation]["position"] == 1 and mine[second.conversation]["position"] == 2
    assert mine[first.conversation]["service"] == "alipay" and mine[first.conversation]["waiting_s"] >= 0
    assert first.conversation not in {item["conversation"] for item in ops.ok("GET", "agent/queue", foreign)["items"]}
    assert ops.call("POST", "agent/take", foreign, {"conversation": first.conversation})[0] == 403
    assert ops.call("GET", f"agent/conversations/{first.conversation}/messages?after=0", foreign)[0] == 403

    # While queued, the bot is paused: Rasa's ConversationPaused is in the tracker.
    assert "pause" in [event["event"] for event in tracker_events(assistant, first.conversation)]

    # Takeover: the bot's transcript comes with it; the customer is told; the next one moves up.
    taken = ops.ok("POST", "agent/take", wang, {"conversation": first.conversation})
    assert taken["conversation"] == first.conversation
    assert {"from": "customer", "text": ASK_ALIPAY_PERSON} in taken["transcript"]
    assert any(row["from"] == "bot" and "95188" in row["text"] for row in taken["transcript"])
    first.wait_for("客服小刘已接入")
    second.wait_for("第 1 位")
    assert ops.call("POST", "agent/take", wang, {"conversation": first.conversation})[0] == 409

    # Customer -> agent, masked; the bot stays silent: the next thing the customer gets is the agent's reply.
    before = first.say("我的手机号是13812345678，余额宝的钱转不出来")
    said = ops.wait_for_message(wang, first.conversation, "余额宝的钱转不出来", "customer")
    assert "138****5678" in said["text"] and "13812345678" not in said["text"]
    ops.ok("POST", f"agent/conversations/{first.conversation}/messages", wang, {"text": "您好，我来帮您查一下"})
    reply = first.wait_for("您好，我来帮您查一下", before)
    assert reply["text"].startswith("客服小刘：")
    assert first.texts(before) == [reply["text"]]
    after_n = said["n"]
    newer = ops.ok("GET", f"agent/conversations/{first.conversation}/messages?after={after_n}", wang)["items"]
    assert [(m["from"], m["text"]) for m in newer] == [("agent", "您好，我来帮您查一下")]

    # End: rating buttons; the tracker is resumed; 不满意 asks for an optional reason.
    before = len(first.received)
    ops.ok("POST", f"agent/conversations/{first.conversation}/end", wang)
    ended = first.wait_for("请为本次服务评价", before)
    rating = buttons(ended)
    assert list(rating) == ["满意", "一般", "不满意"]
    assert "resume" in [event["event"] for event in tracker_events(assistant, first.conversation)]
    reasons = first.wait_for("原因", first.say(rating["不满意"]))
    first.wait_for("感谢您的评价", first.say(buttons(reasons)["等待太久"]))

    # The bot answers again.
    before = first.say("余额宝提现一直失败怎么办")
    first.wait_for("提现", before)

    # The second customer leaves the queue: the bot is back for them too.
    left = second.wait_for("离开排队", second.say(buttons(second.wait_for("第 1 位"))["离开排队"]))
    assert "智能客服继续为您服务" in left["text"]
    assert second.conversation not in {item["conversation"] for item in ops.ok("GET", "agent/queue", wang)["items"]}

    summary = ops.ok("GET", "summary", OPS_TOKEN)
    assert summary["live_chats"] >= 1 and summary["live_abandoned"] >= 1
    assert summary["ratings"]["unsatisfied"] >= 1
    assert summary["live_wait_p50_s"] is not None and summary["live_wait_p90_s"] >= summary["live_wait_p50_s"]
    assert summary["live_by_agent"]["小刘"]["ratings"]["unsatisfied"] == 1
    assert summary["live_by_service"]["alipay"]["live_chats"] >= 1
    status, csv = ops.call("GET", "export.csv", OPS_TOKEN)
    assert status == 200 and f"live_chat,live_chats,{summary['live_chats']}" in csv.splitlines()


def test_agent_messages_reach_the_customer_as_typed(ops, customers):
    agent = ops.new_agent("小周", ["xiaomi_after_sales"])
    customer = customers()
    card = ask_for_person(customer, ASK_XIAOMI_PERSON)
    customer.wait_for("排队", customer.say(buttons(card)[LIVE_BUTTON]))
    ops.ok("POST", "agent/take", agent, {"conversation": customer.conversation})
    text = "<b>别点</b> **链接** [官网](http://evil.example)"
    ops.ok("POST", f"agent/conversations/{customer.conversation}/messages", agent, {"text": text})
    # Markdown characters arrive escaped: the page's renderer shows them as typed, never as markup.
    shown = customer.wait_for("别点")["text"]
    assert "\\*\\*链接\\*\\*" in shown and "\\[官网\\]\\(" in shown
    ops.ok("POST", f"agent/conversations/{customer.conversation}/handback", agent)
    customer.wait_for("转回智能客服")


def customer_typing(ops, token: str, conversation: str) -> bool:
    return ops.ok("GET", f"agent/conversations/{conversation}/messages?after=0", token)["customer_typing"]


def test_the_agent_sees_the_customer_typing_only_from_their_own_page_during_the_chat(ops, customers):
    agent = ops.new_agent("小秦", ["xiaomi_after_sales"])
    customer, stranger = customers(), customers()
    card = ask_for_person(customer, ASK_XIAOMI_PERSON)
    customer.wait_for("排队", customer.say(buttons(card)[LIVE_BUTTON]))
    customer.type_something()  # while queued: nobody to show it to, not kept
    ops.ok("POST", "agent/take", agent, {"conversation": customer.conversation})
    assert not customer_typing(ops, agent, customer.conversation)
    stranger.type_something()  # another page types: its own conversation, not this one
    assert not customer_typing(ops, agent, customer.conversation)
    time.sleep(CUSTOMER_TYPING_EVERY_S)  # a page's typing is kept at most this often
    customer.type_something()
    assert customer_typing(ops, agent, customer.conversation)
    customer.say("屏幕有一条绿线")
    ops.wait_for_message(agent, customer.conversation, "绿线", "customer")
    assert not customer_typing(ops, agent, customer.conversation)  # what they typed has come
    ops.ok("POST", f"agent/conversations/{customer.conversation}/handback", agent)
