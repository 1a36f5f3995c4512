"""Nobody stranded (issue 28), through the HTTP contract with customers on the real socket.io channel: 留言
when nobody is online (ticket number, masked number, the agent's reply reaching the customer who comes back,
close, the dashboard's figures), queued customers told when the last agent goes offline, a queue timeout, a
silent agent, an agent who does not come back (the chat back at the head of the queue), a chat taken up again
after a reload, the customer closing the page shown to the agent.

Its own assistant and page server, with the live-chat times cut to seconds (LIVE_* settings, docs/ops.md).
"""

from __future__ import annotations

import re
import time
from typing import Iterator

import pytest
from playwright.sync_api import expect

from devtools.browser import PageProblems, SocketMessages, console_page, log_in, screenshot
from devtools.live_chat_clients import OPS_TOKEN, Customer, Heartbeat, Ops, buttons
from devtools.servers import NO_RATE_LIMITS, Assistant, PageServer, free_port
from tests.conftest import page_assistant
from tests.e2e.test_webchat import BOT, INPUT, REPLY_BUTTON, Chat, assert_page_clean

AWAY_S, RETURN_S, QUEUE_LIMIT_S, SILENCE_S = 4, 8, 10, 10
SHORT_LIMITS = {"LIVE_AGENT_AWAY_S": str(AWAY_S), "LIVE_AGENT_RETURN_S": str(RETURN_S),
                "LIVE_QUEUE_LIMIT_S": str(QUEUE_LIMIT_S), "LIVE_SILENCE_S": str(SILENCE_S)}
ASK_ALIPAY_PERSON = "支付宝的人工客服电话是多少"
ASK_XIAOMI_PERSON = "小米售后的人工客服怎么联系"
LIVE_BUTTON, TICKET_BUTTON = "在线人工", "留言"
TICKET_NUMBER = re.compile(r"编号 (\d+)")


@pytest.fixture(scope="module")
def short_assistant(tmp_path_factory) -> Iterator[tuple]:
    workdir = tmp_path_factory.mktemp("stranded")
    web_port = free_port()
    with page_assistant(workdir / "assistant", web_port, extra_env={**NO_RATE_LIMITS, **SHORT_LIMITS}) as server:
        env = {**server.console_env(OPS_TOKEN, workdir / "var"), **SHORT_LIMITS}
        with PageServer(workdir, server.rasa_port, "console", port=web_port, extra_env=env) as console:
            yield server, console


@pytest.fixture
def assistant(short_assistant) -> Assistant:
    return short_assistant[0]


@pytest.fixture
def ops(short_assistant) -> Iterator[Ops]:
    client = Ops(short_assistant[1].url)
    yield client
    for token in client.agent_tokens:
        client.call("POST", "agent/status", token, {"online": False})


@pytest.fixture
def customers(assistant):
    opened = []

    def open_customer(conversation=None) -> Customer:
        opened.append(Customer(assistant.url, conversation))
        return opened[-1]

    yield open_customer
    for customer in opened:
        customer.close()


@pytest.fixture
def heartbeats():
    started = []

    def start(ops: Ops, token: str) -> Heartbeat:
        started.append(Heartbeat(ops, token))
        return started[-1]

    yield start
    for beat in started:
        beat.stop()


def ask_for_person(customer: Customer, text: str = ASK_ALIPAY_PERSON):
    return customer.wait_for("官方客服热线", customer.say(text))


def leave_a_ticket(customer: Customer, payload: str, problem: str, phone: str = "") -> int:
    """Clicks 留言, writes the problem, gives the number (or skips): the ticket number confirmed."""
    asked = customer.wait_for("写下您遇到的问题", customer.say(payload))
    assert "取消留言" in buttons(asked)
    ask_phone = customer.wait_for("回电", customer.say(problem))
    answer = phone or buttons(ask_phone)["跳过"]
    done = customer.wait_for("编号", customer.say(answer))
    return int(TICKET_NUMBER.search(done["text"]).group(1))


def test_a_ticket_when_nobody_is_online_from_the_card_to_the_reply_and_the_figures(ops, customers, heartbeats):
    alipay = ops.new_agent("小孙", ["alipay"], online=False)
    xiaomi = ops.new_agent("小吴", ["xiaomi_after_sales"], online=False)
    customer = customers()
    card = ask_for_person(customer)
    assert LIVE_BUTTON not in buttons(card) and "95188" in card["text"]

    # The customer writes the problem; a message that is no number gets asked again; then the ticket number.
    asked = customer.wait_for("写下您遇到的问题", customer.say(buttons(card)[TICKET_BUTTON]))
    before = customer.say("余额宝转出三天没到账，身份证110101199003078888")
    ask_phone = customer.wait_for("回电", before)
    assert customer.texts(before) == [ask_phone["text"]]  # the bot is silent while the 留言 is written
    customer.wait_for("没有认出电话号码", customer.say("明天下午"))
    done = customer.wait_for("编号", customer.say("我的电话 13812345678"))
    number = int(TICKET_NUMBER.search(done["text"]).group(1))
    assert asked and "智能客服继续为您服务" in done["text"]
    customer.wait_for("提现", customer.say("余额宝提现失败怎么办"))  # the bot is back

    # The agents of the service see it, masked; others do not; the operator sees all; 401 without a token.
    assert ops.call("GET", "tickets", None)[0] == 401 and ops.call("GET", "tickets", "not-a-token")[0] == 401
    [ticket] = [t for t in ops.ok("GET", "tickets", alipay)["items"] if t["id"] == number]
    assert ticket["service"] == "alipay" and ticket["status"] == "open" and ticket["at"] > 0
    assert ticket["phone"] == "138****5678" and "13812345678" not in str(ticket)
    assert "余额宝转出三天没到账" in ticket["text"] and "110101199003078888" not in ticket["text"]
    assert number not in [t["id"] for t in ops.ok("GET", "tickets", xiaomi)["items"]]
    assert number in [t["id"] for t in ops.ok("GET", "tickets", OPS_TOKEN)["items"]]
    assert ops.call("POST", f"tickets/{number}/reply", xiaomi, {"text": "x"})[0] == 403
    assert ops.call("POST", f"tickets/{number}/close", None)[0] == 401
    summary = ops.ok("GET", "summary", OPS_TOKEN)
    assert summary["tickets_open"] >= 1 and summary["tickets_oldest_open_s"] >= 0

    # The customer has left the page; the agent replies; the customer comes back to the same conversation.
    conversation = customer.conversation
    customer.close()
    time.sleep(1.5)
    replied = ops.ok("POST", f"tickets/{number}/reply", alipay, {"text": "已为您查到，<b>明天</b>到账"})
    assert replied["status"] == "replied"
    back = customers(conversation)
    reply = back.wait_for(f"编号 {number}")
    assert reply["text"].startswith("客服小孙回复了您的留言") and "已为您查到" in reply["text"]

    assert ops.ok("POST", f"tickets/{number}/close", alipay)["status"] == "closed"
    assert ops.call("POST", f"tickets/{number}/close", alipay)[0] == 409
    assert ops.call("POST", f"tickets/{number}/reply", alipay, {"text": "再补充一句"})[0] == 409
    summary = ops.ok("GET", "summary", OPS_TOKEN)
    assert summary["tickets_reply_p50_s"] is not None
    assert number not in [t["id"] for t in ops.ok("GET", "tickets", alipay)["items"] if t["status"] == "open"]
    status, csv = ops.call("GET", "export.csv", OPS_TOKEN)
    assert status == 200 and "tickets,tickets_open," in csv


def test_a_ticket_without_a_number_and_a_cancelled_one(ops, customers):
    customer = customers()
    card = ask_for_person(customer, ASK_XIAOMI_PERSON)
    number = leave_a_ticket(customer, buttons(card)[TICKET_BUTTON], "手机屏幕碎了，想问保修")
    [ticket] = [t for t in ops.ok("GET", "tickets", OPS_TOKEN)["items"] if t["id"] == number]
    assert ticket["phone"] is None and ticket["service"] == "xiaomi_after_sales"

    customer.wait_for("没有正在写的留言", customer.say("/live_chat_skip"))  # an old 「跳过」 button
    asked = customer.wait_for("写下您遇到的问题", customer.say(buttons(card)[TICKET_BUTTON]))
    cancelled = customer.wait_for("已取消留言", customer.say(buttons(asked)["取消留言"]))
    assert "智能客服继续为您服务" in cancelled["text"]
    customer.wait_for("提现", customer.say("余额宝提现失败怎么办"))  # the bot answers again


def test_queued_customers_are_told_when_the_last_agent_goes_offline_and_can_leave_a_ticket(ops, customers):
    agent = ops.new_agent("小郑", ["alipay"])
    customer = customers()
    customer.wait_for("第 1 位", customer.say(buttons(ask_for_person(customer))[LIVE_BUTTON]))
    before = len(customer.received)
    ops.ok("POST", "agent/status", agent, {"online": False})
    told = customer.wait_for("在线客服都已下线", before)
    assert "95188" in told["text"] and TICKET_BUTTON in buttons(told)
    assert ops.call("POST", "agent/take", agent, {"conversation": customer.conversation})[0] == 409  # offline
    number = leave_a_ticket(customer, buttons(told)[TICKET_BUTTON], "花呗还款失败")
    assert number in [t["id"] for t in ops.ok("GET", "tickets", OPS_TOKEN)["items"]]
    assert customer.conversation not in [q["conversation"] for q in ops.ok("GET", "agent/queue", agent)["items"]]


def test_a_customer_queued_beyond_the_limit_is_offered_a_ticket(ops, customers, heartbeats):
    agent = ops.new_agent("小冯", ["alipay"])
    heartbeats(ops, agent)  # online all along, but busy: nobody takes the customer
    customer = customers()
    queued = customer.wait_for("第 1 位", customer.say(buttons(ask_for_person(customer))[LIVE_BUTTON]))
    told = customer.wait_for("排队时间较长", customer.received.index(queued) + 1)
    assert {TICKET_BUTTON, "离开排队"} <= set(buttons(told))
    assert [m for m in customer.texts() if "排队时间较长" in m] == [told["text"]]  # told once
    customer.wait_for("您已离开排队", customer.say(buttons(told)["离开排队"]))


def test_an_agent_who_reloads_gets_the_chat_back_and_one_who_does_not_return_loses_it(ops, customers, heartbeats):
    gone = ops.new_agent("小褚", ["alipay"])
    other = ops.new_agent("小卫", ["alipay"])
    heartbeats(ops, other)
    gone_beat = heartbeats(ops, gone)
    customer = customers()
    customer.wait_for("第 1 位", customer.say(buttons(ask_for_person(customer))[LIVE_BUTTON]))
    ops.ok("POST", "agent/take", gone, {"conversation": customer.conversation})
    customer.wait_for("客服小褚已接入")
    ops.ok("POST", f"agent/conversations/{customer.conversation}/messages", gone, {"text": "您好"})

    # A reload: the workspace asks for the agent's chats and gets this one, with the bot's transcript.
    [chat] = ops.ok("GET", "agent/chats", gone)["items"]
    assert chat["conversation"] == customer.conversation
    assert {"from": "customer", "text": ASK_ALIPAY_PERSON} in chat["transcript"]

    # The customer closes the page and comes back: the agent is told both.
    conversation = customer.conversation
    customer.close()
    ops.wait_for_message(gone, conversation, "客户关闭了页面", "note")
    customer = customers(conversation)
    ops.wait_for_message(gone, conversation, "客户回到了页面", "note")

    # The agent's tab is closed for good: the chat goes back to the head of the queue; the customer is told.
    before = len(customer.received)
    gone_beat.stop()
    told = customer.wait_for("重新排队", before)
    assert "第 1 位" in told["text"]
    [queued] = [q for q in ops.ok("GET", "agent/queue", other)["items"] if q["conversation"] == conversation]
    assert queued["position"] == 1
    assert ops.ok("GET", "agent/chats", other)["items"] == []
    ops.ok("POST", "agent/take", other, {"conversation": conversation})
    customer.wait_for("客服小卫已接入", before)


def test_a_silent_agent_gets_the_customer_a_ticket_and_the_hotline(ops, customers, heartbeats):
    agent = ops.new_agent("小蒋", ["alipay"])
    heartbeats(ops, agent)  # the console is open, but the agent says nothing
    customer = customers()
    customer.wait_for("第 1 位", customer.say(buttons(ask_for_person(customer))[LIVE_BUTTON]))
    ops.ok("POST", "agent/take", agent, {"conversation": customer.conversation})
    taken = customer.wait_for("客服小蒋已接入")
    told = customer.wait_for("客服可能暂时走开了", customer.received.index(taken) + 1)
    assert "95188" in told["text"] and TICKET_BUTTON in buttons(told)
    leave_a_ticket(customer, buttons(told)[TICKET_BUTTON], "等了很久没人回复")
    ops.wait_for_message(agent, customer.conversation, "客户改为留言", "note")
    assert ops.ok("GET", f"agent/conversations/{customer.conversation}/messages?after=0", agent)["state"] == "left"


# ---------- in real browsers: a customer on the chat page, an agent and the operator in the console ----------

def test_a_ticket_in_two_browsers_seen_after_a_reload_and_counted(browser, short_assistant, ops):
    console = short_assistant[1]
    token = ops.new_agent("小何", ["alipay"], online=False)
    customer_problems, agent_problems, operator_problems = PageProblems(), PageProblems(), PageProblems()
    customer = console_page(browser, customer_problems)
    customer_socket = SocketMessages(customer)
    agent = console_page(browser, agent_problems)
    operator = console_page(browser, operator_problems)
    try:
        chat = Chat(customer).open(console.url)
        chat.wait_for_greeting()
        chat.say(ASK_ALIPAY_PERSON)
        chat.reply("95188")
        customer.get_by_role("button", name=TICKET_BUTTON, exact=True).click()
        chat.reply("写下您遇到的问题")
        chat.say("花呗账单<b>不对</b>，多扣了钱")
        chat.reply("回电")
        chat.say("13900001111")
        done = chat.reply("编号").inner_text()
        number = TICKET_NUMBER.search(done).group(1)

        log_in(agent, console.url, token)
        expect(agent.locator("#agent-state")).to_have_text("离线")
        row = agent.locator(f"#ticket-table tbody tr[data-ticket='{number}']")
        expect(row.locator(".status")).to_have_text("待回复")
        expect(row.locator(".text")).to_have_text("花呗账单<b>不对</b>，多扣了钱")  # as text, not markup
        row.get_by_role("button", name="查看").click()
        expect(agent.locator("#ticket-phone")).to_have_text("139****1111")
        agent.fill("#ticket-reply", "已核实，多扣的钱3天内退回")
        agent.click("#send-ticket-reply")
        expect(row.locator(".status")).to_have_text("已回复")

        # The customer reloads the page the moment the reply reaches it, before the page has shown it
        # (a reload of the same page, same browser, same conversation): the reply is shown after the reload.
        customer_socket.wait_for(f"回复了您的留言（编号 {number}）")
        customer.reload()
        expect(customer.locator("#status")).to_have_attribute("data-state", "online")
        reply = customer.locator(BOT).filter(has_text=f"回复了您的留言（编号 {number}）")
        expect(reply).to_have_count(1)
        expect(reply).to_contain_text("客服小何回复了您的留言")
        expect(reply).to_contain_text("多扣的钱3天内退回")
        screenshot(customer, "live-04-customer-ticket-reply")
        screenshot(agent, "live-05-agent-tickets")

        agent.click("#close-ticket")
        expect(row.locator(".status")).to_have_text("已关闭")

        log_in(operator, console.url, OPS_TOKEN)
        expect(operator.locator("#kpi-tickets_reply_p50_s .value")).to_contain_text("秒")
        expect(operator.locator("#kpi-tickets_open .label")).to_have_text("待回复留言")
        for problems in (customer_problems, agent_problems, operator_problems):
            assert_page_clean(problems)
    finally:
        for page in (customer, agent, operator):
            page.context.close()


def test_a_person_on_the_chat_page_and_an_agent_who_reloads_mid_chat(browser, short_assistant, ops):
    console = short_assistant[1]
    token = ops.new_agent("小王", ["xiaomi_after_sales"], online=False)
    customer_problems, agent_problems = PageProblems(), PageProblems()
    customer = console_page(browser, customer_problems)
    agent = console_page(browser, agent_problems)
    try:
        log_in(agent, console.url, token)
        expect(agent.locator("#agent-state")).to_have_text("离线")  # offline at login
        agent.click("#agent-online")
        expect(agent.locator("#agent-state")).to_have_text("在线")

        chat = Chat(customer).open(console.url)
        chat.wait_for_greeting()
        expect(customer.locator("#status")).to_have_text("智能客服在线")
        chat.say(ASK_XIAOMI_PERSON)
        chat.reply("400-100-5678")
        customer.get_by_role("button", name=LIVE_BUTTON).click()
        agent.locator("#queue-table tbody tr").get_by_role("button", name="接入").click()
        expect(customer.locator("#status")).to_have_text("人工客服 小王")

        chat.say("手机充不进电")
        expect(agent.locator("#chat-log .turn.customer").last).to_contain_text("充不进电")

        # The agent reloads: the chat is back with the bot's transcript and the live messages; still online.
        agent.reload()
        expect(agent.locator("#agent-state")).to_have_text("在线")
        expect(agent.locator("#chat-log .turn.history.customer").first).to_contain_text(ASK_XIAOMI_PERSON)
        expect(agent.locator("#chat-log .turn.customer").last).to_contain_text("充不进电")
        agent.locator("#reply-text").press_sequentially("请换")
        expect(customer.locator("#status")).to_have_text("人工客服 小王 正在输入…")  # the agent is typing
        agent.fill("#reply-text", "请换一根数据线试试")
        agent.click("#send-reply")
        expect(customer.locator("#status")).to_have_text("人工客服 小王")
        bubble = customer.locator(BOT).filter(has_text="请换一根数据线试试")
        expect(bubble).to_have_class(re.compile(r"\bagent-message\b"))
        expect(customer.locator(BOT).first).not_to_have_class(re.compile(r"\bagent-message\b"))

        # The customer reloads too: the header still shows the person.
        customer.reload()
        expect(customer.locator("#status")).to_have_text("人工客服 小王")
        screenshot(customer, "live-06-customer-with-a-person")

        agent.click("#end-chat")
        expect(customer.locator("#status")).to_have_text("智能客服在线")
        expect(customer.locator(INPUT)).to_be_enabled()
        for problems in (customer_problems, agent_problems):
            assert_page_clean(problems)
    finally:
        customer.context.close()
        agent.context.close()


def test_in_chromium_a_long_wait_then_the_last_agent_offline_and_a_ticket(browser, short_assistant, ops):
    """The customer waits in the queue on the chat page while the only agent, online, takes nobody: after the
    queue limit the page offers 留言; then the agent goes offline: the page says so with the hotline and 留言,
    the agent's 接入 is off; the customer leaves a 留言 from that notice and the agent sees it."""
    console = short_assistant[1]
    # 售后: an earlier test's chat of another service may come back to its queue when that agent's console stops.
    token = ops.new_agent("小叶", ["xiaomi_after_sales"], online=False)
    customer_problems, agent_problems = PageProblems(), PageProblems()
    customer = console_page(browser, customer_problems)
    agent = console_page(browser, agent_problems)
    try:
        log_in(agent, console.url, token)
        agent.click("#agent-online")
        expect(agent.locator("#agent-state")).to_have_text("在线")

        chat = Chat(customer).open(console.url)
        chat.wait_for_greeting()
        chat.say(ASK_XIAOMI_PERSON)
        chat.reply("400-100-5678")
        customer.get_by_role("button", name=LIVE_BUTTON).click()
        expect(customer.locator(BOT).filter(has_text="排队").last).to_contain_text("第 1 位")
        take = agent.locator("#queue-table tbody tr").get_by_role("button", name="接入")
        expect(take).to_be_enabled()

        # Nobody takes them: after the queue limit, 留言 or go on waiting.
        waited = customer.locator(BOT).filter(has_text="排队时间较长")
        expect(waited).to_have_count(1, timeout=(QUEUE_LIMIT_S + 20) * 1000)
        expect(customer.locator(REPLY_BUTTON, has_text=TICKET_BUTTON)).to_have_count(1)
        expect(customer.locator(REPLY_BUTTON, has_text="离开排队").last).to_be_visible()

        # The only agent goes offline: the customer is told, with the hotline and 留言; the agent cannot take them.
        agent.click("#agent-online")
        expect(agent.locator("#agent-state")).to_have_text("离线")
        expect(take).to_be_disabled()
        gone = customer.locator(BOT).filter(has_text="在线客服都已下线")
        expect(gone).to_have_count(1, timeout=20_000)
        expect(gone).to_contain_text("400-100-5678")
        customer.locator(REPLY_BUTTON, has_text=TICKET_BUTTON).last.click()
        chat.reply("写下您遇到的问题")
        chat.say("排队太久了，手机维修要多久")
        chat.reply("回电")
        customer.get_by_role("button", name="跳过", exact=True).click()
        number = TICKET_NUMBER.search(chat.reply("编号").inner_text()).group(1)
        screenshot(customer, "live-09-customer-queue-timeout-then-ticket")

        row = agent.locator(f"#ticket-table tbody tr[data-ticket='{number}']")
        expect(row.locator(".text")).to_have_text("排队太久了，手机维修要多久")
        expect(agent.locator("#queue-table tbody tr")).to_have_count(0)  # the customer left the queue for 留言
        for problems in (customer_problems, agent_problems):
            assert_page_clean(problems)
    finally:
        customer.context.close()
        agent.context.close()
