"""Presence, the sweep's notices and 留言 tickets in the live-chat store (common/live_chat.py, common/tickets.py)
on a real SQLite file, with a clock passed in where the store takes one."""

from __future__ import annotations

import time

import sqlalchemy as sa

from common import live_chat, tickets
from common.live_chat import LiveChats, LiveLimits
from common.tickets import Tickets

LIMITS = LiveLimits(agent_away_s=45, agent_return_s=120, queue_limit_s=300, silence_s=300)


def new_store(tmp_path) -> LiveChats:
    return LiveChats(sa.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}"), LIMITS)


def seen(store: LiveChats, agent_id: int, ago_s: float) -> None:
    with store.engine.begin() as connection:
        connection.execute(live_chat.agents_table.update().where(live_chat.agents_table.c.id == agent_id)
                           .values(seen_at=time.time() - ago_s))


def test_limits_come_from_the_environment_with_defaults():
    assert LiveLimits.from_env({}) == LiveLimits()
    assert LiveLimits.from_env({"LIVE_QUEUE_LIMIT_S": "12", "LIVE_AGENT_RETURN_S": "7"}).queue_limit_s == 12.0


def test_an_agent_away_comes_back_offline_and_is_not_counted_online(tmp_path):
    store = new_store(tmp_path)
    agent_id, token = store.create_agent("小王", ["alipay"])
    store.set_online(agent_id, True)
    assert store.online_services() == {"alipay"}
    seen(store, agent_id, 50)  # the tab was closed
    assert store.online_services() == set()
    assert store.agent_by_token(token).online is False  # logging in again: offline until they choose
    assert store.online_services() == set()


def test_an_agent_who_does_not_come_back_loses_the_chat_to_the_head_of_the_queue(tmp_path):
    store = new_store(tmp_path)
    agent_id, token = store.create_agent("小王", ["alipay"])
    store.set_online(agent_id, True)
    agent = store.agent_by_token(token)
    first = store.join_queue("c1", "alipay", None, None)
    second = store.join_queue("c2", "alipay", None, None)
    store.take(first, agent)
    assert store.active_chats(agent)[0].id == first.id  # a reload gets it back
    seen(store, agent_id, 30)  # a reload takes seconds: nothing happens
    assert store.sweep() == []
    other_id, _ = store.create_agent("小李", ["alipay"])
    store.set_online(other_id, True)
    seen(store, agent_id, 130)
    claimed = store.sweep()
    assert [(chat.id, notice) for chat, notice in claimed] == [(first.id, live_chat.REQUEUED)]
    assert store.sweep() == []  # claimed once
    assert store.position(store.chat(first.id)) == 1 and store.position(second) == 2
    assert store.active_chats(agent) == []


def test_queued_customers_are_told_once_when_the_last_agent_goes_offline(tmp_path):
    store = new_store(tmp_path)
    agent_id, _ = store.create_agent("小王", ["alipay"])
    store.set_online(agent_id, True)
    chat = store.join_queue("c1", "alipay", None, None)
    assert store.sweep() == []
    store.set_online(agent_id, False)
    assert [(c.id, notice) for c, notice in store.sweep()] == [(chat.id, live_chat.NOBODY_LEFT)]
    assert store.sweep() == []


def test_a_long_wait_and_a_silent_agent_are_told_once_each(tmp_path):
    store = new_store(tmp_path)
    agent_id, token = store.create_agent("小王", ["alipay"])
    store.set_online(agent_id, True)
    waiting = store.join_queue("c1", "alipay", None, None)
    now = time.time()

    def sweep_at(moment: float):
        seen(store, agent_id, time.time() - moment)  # the agent's console is calling all along
        return [(chat.id, notice) for chat, notice in store.sweep(moment)]

    assert sweep_at(now + 299) == []
    assert sweep_at(now + 301) == [(waiting.id, live_chat.WAITED)]
    assert sweep_at(now + 400) == []
    store.take(waiting, store.agent_by_token(token))
    store.add_message(waiting, live_chat.AGENT, "您好")
    later = time.time()
    assert sweep_at(later + 100) == []
    assert sweep_at(later + 301) == [(waiting.id, live_chat.SILENT)]  # nothing said for the limit
    assert sweep_at(later + 302) == []


def test_older_tables_get_the_new_columns(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE live_chats (id INTEGER PRIMARY KEY, conversation VARCHAR(255) "
                                   "NOT NULL, service VARCHAR(64) NOT NULL, topic VARCHAR(64), product VARCHAR(64), "
                                   "state VARCHAR(16) NOT NULL, agent_id INTEGER, queued_at FLOAT NOT NULL, "
                                   "taken_at FLOAT, closed_at FLOAT, delivered INTEGER NOT NULL, "
                                   "rating VARCHAR(16), rating_reason VARCHAR(64))"))
    store = LiveChats(engine, LIMITS)
    assert store.join_queue("c1", "alipay", None, None).notice is None


def test_a_ticket_from_draft_to_reply_and_close_masked_and_counted(tmp_path):
    store = new_store(tmp_path)
    desk = Tickets(store.engine)
    draft = desk.start("c1", "alipay")
    assert desk.draft("c1").status == tickets.WRITING and desk.listed() == []  # drafts are the customer's
    assert desk.write(draft, "身份证110101199003078888，余额宝转不出")
    assert desk.draft("c1").status == tickets.PHONE
    assert desk.submit(desk.draft("c1"), "13812345678")
    assert desk.draft("c1") is None
    [ticket] = desk.listed(["alipay"])
    assert ticket.status == tickets.OPEN and ticket.phone == "138****5678"
    assert "110101199003078888" not in ticket.text and "余额宝转不出" in ticket.text
    with store.engine.connect() as connection:  # masked at rest
        assert "13812345678" not in str(connection.execute(sa.select(tickets.tickets_table)).fetchall())
    assert desk.listed(["xiaomi_after_sales"]) == []
    figures = desk.summary(0, time.time() + 1, now=ticket.at + 60)
    assert figures == {"tickets_open": 1, "tickets_oldest_open_s": 60.0, "tickets_reply_p50_s": None}
    assert desk.reply(ticket, "已为您处理", "小王")
    [replied] = desk.undelivered_replies(["c1"])
    assert replied.reply == "已为您处理" and replied.replied_by == "小王"
    desk.mark_reply_delivered(replied)
    assert desk.undelivered_replies(["c1"]) == []
    figures = desk.summary(0, time.time() + 1)
    assert figures["tickets_open"] == 0 and figures["tickets_reply_p50_s"] is not None
    assert desk.close(desk.ticket(ticket.id)) and not desk.close(desk.ticket(ticket.id))
    assert not desk.reply(desk.ticket(ticket.id), "再说一句", "小王")  # closed


def test_a_cancelled_draft_is_gone(tmp_path):
    desk = Tickets(new_store(tmp_path).engine)
    desk.start("c1", "alipay")
    assert desk.cancel("c1") and desk.draft("c1") is None and not desk.cancel("c1")


def test_the_supervisor_sees_each_agents_chats_and_each_queue(tmp_path):
    store = new_store(tmp_path)
    agent = store.agent_by_token(store.create_agent("小王", ["alipay"])[1])
    taken = store.join_queue("c1", "alipay", None, None)
    store.join_queue("c2", "alipay", None, None)
    store.join_queue("c3", "tianxing_loan", None, None)
    store.take(taken, agent)
    assert store.load() == ({agent.id: 1}, {"alipay": 1, "tianxing_loan": 1})


def test_quick_replies_start_with_the_defaults_once_and_are_kept_per_service(tmp_path):
    from common.quick_replies import DEFAULTS, QuickReplies

    store = new_store(tmp_path)
    replies = QuickReplies(store.engine)
    assert [r.title for r in QuickReplies(store.engine).listed()] == [title for title, _ in DEFAULTS]
    own = replies.add("alipay", "花呗", "花呗账单每月9日出")
    assert "花呗" in [r.title for r in replies.listed(["alipay"])]
    assert "花呗" not in [r.title for r in replies.listed(["xiaomi_after_sales"])]
    assert replies.edit(own, None, "花呗", "改") and replies.listed(["xiaomi_after_sales"])[-1].text == "改"
    assert replies.delete(own) and not replies.delete(own)
