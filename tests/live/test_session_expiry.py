"""The session expiry and live chat, on the real servers with the expiry cut to seconds (SESSION_EXPIRATION_MINUTES,
read when the model loads: rasa_server/rasa_internals.py).

Rasa starts a new session when the customer's latest message is older than the expiry, and a new session clears
the pause of a live chat: the bot would answer the customer writing to the agent. These tests let the time really
pass. Shifting the stored events back in the database does not make Rasa see an old conversation: it reads the time
of the last UserUttered from the event's own data (the `timestamp` column only finds the latest session), and once
a conversation has had two turns the tracker store hands back the tracker it keeps in memory, which an UPDATE of
old rows does not invalidate (rasa_server/tracker_store.py checks the last row id and the count of events).
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any, Dict, Iterator

import pytest

from devtools.live_chat_clients import OPS_TOKEN, Customer, Ops, buttons
from devtools.servers import NO_RATE_LIMITS, Assistant, PageServer, free_port
from tests.conftest import page_assistant

EXPIRY_MINUTES = 0.1
SILENCE_S = EXPIRY_MINUTES * 60 + 2  # the customer says nothing for longer than the session expiry
ASK_ALIPAY_PERSON = "支付宝的人工客服电话是多少"


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[tuple]:
    workdir = tmp_path_factory.mktemp("expiry")
    web_port = free_port()
    env = {**NO_RATE_LIMITS, "SESSION_EXPIRATION_MINUTES": str(EXPIRY_MINUTES)}
    with page_assistant(workdir / "assistant", web_port, extra_env=env) as assistant:
        with PageServer(workdir, assistant.rasa_port, "console", port=web_port,
                        extra_env=assistant.console_env(OPS_TOKEN, workdir / "var")) as console:
            yield assistant, console


@pytest.fixture
def customer(servers) -> Iterator[Customer]:
    opened = Customer(servers[0].url)
    yield opened
    opened.close()


def full_tracker(assistant: Assistant, conversation: str) -> Dict[str, Any]:
    """Every session's events, and whether the bot is paused now (Rasa's HTTP API)."""
    url = f"{assistant.url}/conversations/{conversation}/tracker?include_events=ALL&token={assistant.auth_token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def user_texts(tracker: Dict[str, Any]) -> list:
    return [event.get("text") for event in tracker["events"] if event["event"] == "user"]


def sessions_started(tracker: Dict[str, Any]) -> int:
    return sum(1 for event in tracker["events"] if event["event"] == "session_started")


def test_a_live_chat_is_not_cut_by_the_session_expiry(servers, customer):
    assistant, console = servers
    ops = Ops(console.url)
    agent = ops.new_agent("小彭", ["alipay"])
    conversation = customer.conversation
    try:
        card = customer.wait_for("官方客服热线", customer.say(ASK_ALIPAY_PERSON))
        customer.wait_for("排队", customer.say(buttons(card)["在线人工"]))
        ops.ok("POST", "agent/take", agent, {"conversation": conversation})
        customer.wait_for("已接入")

        for question, answer in (("还在吗？余额宝转出三天了还没到账", "在的，请告诉我转出的金额"),
                                 ("转出了五千块", "好的，我查一下这笔转出")):
            time.sleep(SILENCE_S)  # the customer is silent past the session expiry (the agent is there)
            before = customer.say(question)
            ops.wait_for_message(agent, conversation, question, "customer")
            ops.ok("POST", f"agent/conversations/{conversation}/messages", agent, {"text": answer})
            customer.wait_for(answer, before)
            # The bot stayed paused: the only reply the customer got is the agent's.
            assert customer.texts(before) == [f"客服小彭：{answer}"]

        tracker = full_tracker(assistant, conversation)
        assert tracker["paused"]
        assert sessions_started(tracker) == 1
        assert user_texts(tracker)[-2:] == ["还在吗？余额宝转出三天了还没到账", "转出了五千块"]  # nothing lost

        ops.ok("POST", f"agent/conversations/{conversation}/end", agent)
        customer.wait_for("评价")
        before = customer.say("余额宝提现失败怎么办")
        customer.wait_for("提现", before)  # the bot answers again once the chat is over
    finally:
        ops.call("POST", "agent/status", agent, {"online": False})


def test_outside_a_live_chat_an_expired_session_starts_a_new_one(servers, customer):
    assistant = servers[0]
    customer.wait_for("提现", customer.say("余额宝提现失败怎么办"))
    assert sessions_started(full_tracker(assistant, customer.conversation)) == 1
    time.sleep(SILENCE_S)
    customer.wait_for("额度", customer.say("借呗额度被冻结了"))
    tracker = full_tracker(assistant, customer.conversation)
    assert sessions_started(tracker) == 2
    assert user_texts(tracker) == ["余额宝提现失败怎么办", "借呗额度被冻结了"]


def test_a_message_being_left_is_not_cut_by_the_session_expiry(servers, customer):
    """留言 pauses the bot too: a customer who takes longer than the expiry to write the problem gets the next step
    of the 留言, not a bot's answer."""
    card = customer.wait_for("官方客服热线", customer.say(ASK_ALIPAY_PERSON))  # nobody online: 留言 on the card
    customer.wait_for("写下您遇到的问题", customer.say(buttons(card)["留言"]))
    time.sleep(SILENCE_S)
    before = customer.say("花呗还款后额度一直没恢复")
    asked = customer.wait_for("回电", before)
    assert customer.texts(before) == [asked["text"]]
    customer.wait_for("编号", customer.say(buttons(asked)["跳过"]))
    assert not full_tracker(servers[0], customer.conversation)["paused"]  # the bot is back after the 留言
