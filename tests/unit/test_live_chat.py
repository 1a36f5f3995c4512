"""The live-chat store (common/live_chat.py) on a real SQLite file, and the channel's payload parsing."""

from __future__ import annotations

import sqlalchemy as sa

from common import live_chat
from common.live_chat import LiveChats, create_tables, join_payload
from rasa_server.live_channel import as_plain_text, parse_control, rating_buttons


def new_store(tmp_path) -> LiveChats:
    return LiveChats(sa.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}"))


def test_agents_are_found_by_their_token_and_online_only_when_they_say_so(tmp_path):
    store = new_store(tmp_path)
    agent_id, token = store.create_agent("小王", ["alipay", "tianxing_loan"])
    assert store.agent_by_token(token).name == "小王"
    assert store.agent_by_token("wrong") is None and store.agent_by_token("") is None
    assert store.online_services() == set()
    store.set_online(agent_id, True)
    assert store.online_services() == {"alipay", "tianxing_loan"}
    with store.engine.connect() as connection:  # only the token's hash is stored
        assert token not in str(connection.execute(sa.select(live_chat.agents_table)).fetchall())


def test_queue_positions_move_as_chats_are_taken_or_left(tmp_path):
    store = new_store(tmp_path)
    agent = store.agent_by_token(store.create_agent("小王", ["alipay"])[1])
    first = store.join_queue("c1", "alipay", "withdrawal_failure", "alipay")
    second = store.join_queue("c2", "alipay", None, None)
    other = store.join_queue("c3", "xiaomi_after_sales", None, None)
    assert store.join_queue("c1", "alipay", None, None).id == first.id  # joining twice keeps the place
    assert [store.position(chat) for chat in (first, second, other)] == [1, 2, 1]
    assert [(chat.conversation, position) for chat, position in store.queue(["alipay"])] == [("c1", 1), ("c2", 2)]
    assert store.take(first, agent)
    assert not store.take(first, agent)  # already taken
    assert store.position(first) == 0 and store.position(second) == 1
    assert store.leave_queue("c2").id == second.id
    assert store.leave_queue("c2") is None
    assert store.queue(["alipay"]) == []


def test_messages_are_masked_numbered_and_delivered_once(tmp_path):
    store = new_store(tmp_path)
    agent = store.agent_by_token(store.create_agent("小王", ["alipay"])[1])
    chat = store.join_queue("c1", "alipay", None, None)
    store.take(chat, agent)
    said = store.add_message(chat, live_chat.CUSTOMER, "我的手机是13812345678")
    assert said.text == "我的手机是138****5678"
    first = store.add_message(chat, live_chat.AGENT, "好的")
    second = store.add_message(chat, live_chat.AGENT, "请稍等")
    assert [m.text for _, m in store.undelivered(["c1"])] == ["好的", "请稍等"]  # not the customer's own
    store.mark_delivered(chat.id, first.n)
    assert [m.n for _, m in store.undelivered(["c1"])] == [second.n]
    store.mark_delivered(chat.id, first.n)  # never goes back
    assert [m.n for _, m in store.undelivered(["c1"])] == [second.n]
    assert [m.text for m in store.messages("c1", after=said.n)] == ["好的", "请稍等"]


def test_the_customer_typing_shows_only_in_a_chat_with_an_agent_until_their_message_comes(tmp_path):
    store = new_store(tmp_path)
    agent = store.agent_by_token(store.create_agent("小王", ["alipay"])[1])
    chat = store.join_queue("c1", "alipay", None, None)
    assert not store.customer_typing("c1")  # queued: nobody to show it to
    assert not store.customer_typing("nobody")
    store.take(chat, agent)
    assert store.customer_typing("c1")
    typing = store.chat(chat.id)
    assert typing.customer_is_typing()
    assert not typing.customer_is_typing(now=typing.customer_typing_at + live_chat.TYPING_S + 1)  # stopped typing
    store.add_message(typing, live_chat.CUSTOMER, "在吗")
    assert not store.chat(chat.id).customer_is_typing()  # what they typed has come
    store.customer_typing("c1")
    store.close(typing, live_chat.ENDED)
    assert not store.chat(chat.id).customer_is_typing()
    assert not store.customer_typing("c1")


def test_summary_counts_chats_waits_abandons_and_ratings(tmp_path):
    store = new_store(tmp_path)
    agent = store.agent_by_token(store.create_agent("小王", ["alipay"])[1])
    rated = store.join_queue("c1", "alipay", None, None)
    store.join_queue("c2", "alipay", None, None)
    store.take(rated, agent)
    assert store.close(store.open_chat("c1"), live_chat.ENDED)
    assert store.rate(rated.id, "c1", rating="unsatisfied")
    assert store.rate(rated.id, "c1", reason="等待太久")
    assert not store.rate(rated.id, "someone-else", rating="satisfied")
    store.leave_queue("c2")
    figures = store.summary(0, 4e9)
    assert figures["live_chats"] == 1 and figures["live_abandoned"] == 1
    assert figures["live_wait_p50_s"] is not None and figures["live_wait_p90_s"] >= figures["live_wait_p50_s"]
    assert figures["ratings"] == {"satisfied": 0, "neutral": 0, "unsatisfied": 1}
    assert figures["live_by_agent"]["小王"]["ratings"]["unsatisfied"] == 1
    assert store.summary(0, 1)["live_wait_p50_s"] is None


def test_button_payloads_are_parsed_and_agent_text_is_escaped():
    assert parse_control(join_payload("alipay")) == ("join", {"service": "alipay"})
    assert parse_control("/live_chat_leave") == ("leave", {})
    assert parse_control(rating_buttons(3)[0]["payload"]) == ("rate", {"chat": 3, "rating": "satisfied"})
    assert parse_control("/live_chat_join{broken") is None
    assert parse_control("转人工") is None
    assert as_plain_text("<b>x</b> **y** [a](b)") == r"<b\>x</b\> \*\*y\*\* \[a\]\(b\)"
    assert as_plain_text("看 https://x.example") == "看 https\u2060://x\\.example"  # no bare link either


def test_erasing_a_conversation_and_the_retention_purge_delete_its_live_messages(tmp_path):
    from common.erasure import erase_conversation, purge_expired

    store = new_store(tmp_path)
    kept = store.join_queue("keep", "alipay", None, None)
    erased = store.join_queue("erase", "alipay", None, None)
    store.add_message(kept, live_chat.CUSTOMER, "留着")
    store.add_message(erased, live_chat.CUSTOMER, "删掉")
    with store.engine.begin() as connection:  # erase_conversation expects Rasa's table too
        connection.execute(sa.text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, timestamp REAL)"))
    erase_conversation(store.engine, "erase")
    assert store.messages("erase") == [] and [m.text for m in store.messages("keep")] == ["留着"]
    assert store.chat(erased.id) is not None  # no text in it: stays for the figures
    purge_expired(store.engine, days=1, now=store.messages("keep")[0].at + 2 * 86400)
    assert store.messages("keep") == []


def test_the_agent_sees_the_bots_transcript_as_the_customer_saw_it():
    from ops.live_api import bot_transcript

    events = [
        {"event": "user", "text": "/greet"},
        {"event": "bot", "text": "您好", "data": {"buttons": [{"title": "转人工客服", "payload": "/ask_hotline"}]}},
        {"event": "user", "text": "/ask_hotline"},
        {"event": "user", "text": "我的手机13812345678"},
        {"event": "bot", "text": "支付宝官方客服热线：[95188](tel:95188)，**人工**"},
        {"event": "pause"},
        {"event": "bot", "text": "正在排队"},
        {"event": "user", "text": "排队时说的话"},  # the agent gets it as a live message
    ]
    assert bot_transcript(events) == [
        {"from": "bot", "text": "您好"}, {"from": "customer", "text": "转人工客服"},
        {"from": "customer", "text": "我的手机138****5678"}, {"from": "bot", "text": "支付宝官方客服热线：95188，人工"}]


def _create_tables_in(path: str) -> bool:
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        create_tables(engine)
        return True
    finally:
        engine.dispose()


def test_servers_starting_together_on_a_new_database_all_get_the_tables(tmp_path):
    # The Rasa, action and page servers create the live-chat tables at start; on a new database they race.
    import multiprocessing

    for round_ in range(5):
        path = str(tmp_path / f"new-{round_}.db")
        with multiprocessing.get_context("fork").Pool(6) as pool:
            assert pool.map(_create_tables_in, [path] * 6) == [True] * 6
