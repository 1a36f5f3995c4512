"""Agents managed by the operator (issue 28): list, create, edit, disable, re-key, unique names, the most chats
at once; through the HTTP contract and in the console's 座席 form (Chromium), on the real page server."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from devtools.browser import PageProblems, console_page, log_in, screenshot, watch
from devtools.live_chat_clients import OPS_TOKEN, Customer, buttons
from tests.e2e.test_webchat import assert_page_clean


def unique(name: str) -> str:
    """The session's database is shared by the live tests: names stay unique across them."""
    return f"{name}{uuid.uuid4().hex[:4]}"


def test_the_operator_manages_agents_and_their_tokens(ops):
    assert ops.call("GET", "agents", None)[0] == 401
    agent_token = ops.new_agent(unique("小钱"), ["alipay"], online=False)
    assert ops.call("GET", "agents", agent_token)[0] == 401  # an agent's token is not the operator's

    name = unique("小林")
    created = ops.ok("POST", "agents", OPS_TOKEN, {"name": name, "services": ["alipay"], "max_chats": 2})
    token = created["token"]
    assert ops.call("POST", "agents", OPS_TOKEN, {"name": name, "services": ["tianxing_loan"]})[0] == 409
    assert ops.call("POST", "agents", OPS_TOKEN, {"name": "x", "services": ["alipay"], "max_chats": 0})[0] == 400
    listed = {agent["name"]: agent for agent in ops.ok("GET", "agents", OPS_TOKEN)["items"]}
    assert listed[name] == {"id": created["id"], "name": name, "services": ["alipay"], "max_chats": 2,
                            "disabled": False, "online": False, "chats": 0}
    assert "token" not in str(listed) and token not in str(listed)

    # Edit: services and the most chats at once; a name another agent has is refused.
    other = unique("小韩")
    ops.ok("POST", "agents", OPS_TOKEN, {"name": other, "services": ["alipay"]})
    assert ops.call("POST", f"agents/{created['id']}", OPS_TOKEN, {"name": other})[0] == 409
    ops.ok("POST", f"agents/{created['id']}", OPS_TOKEN, {"services": ["alipay", "tianxing_loan"], "max_chats": 4})
    me = ops.ok("GET", "agent/me", token)
    assert [s["key"] for s in me["services"]] == ["alipay", "tianxing_loan"] and me["max_chats"] == 4
    assert ops.call("POST", "agents/999999", OPS_TOKEN, {"max_chats": 2})[0] == 404

    # Disable: the token stops working and the agent is offline; enable: it works again.
    ops.ok("POST", "agent/status", token, {"online": True})
    ops.ok("POST", f"agents/{created['id']}", OPS_TOKEN, {"disabled": True})
    assert ops.call("GET", "agent/me", token)[0] == 401
    ops.ok("POST", f"agents/{created['id']}", OPS_TOKEN, {"disabled": False})
    assert ops.ok("GET", "agent/me", token)["online"] is False

    # Re-key: a new token; the old one stops working.
    new_token = ops.ok("POST", f"agents/{created['id']}/token", OPS_TOKEN)["token"]
    assert ops.call("GET", "agent/me", token)[0] == 401
    assert ops.ok("GET", "agent/me", new_token)["name"] == name


def test_the_operator_keeps_the_agents_quick_replies_per_service(ops):
    assert ops.call("GET", "quick_replies", None)[0] == 401
    alipay = ops.new_agent(unique("小潘"), ["alipay"], online=False)
    xiaomi = ops.new_agent(unique("小葛"), ["xiaomi_after_sales"], online=False)
    assert ops.call("GET", "quick_replies", alipay)[0] == 401  # the operator's
    titles = [reply["title"] for reply in ops.ok("GET", "quick_replies", OPS_TOKEN)["items"]]
    assert {"问候", "请稍等", "结束语"} <= set(titles)  # a new table starts with these
    title = unique("余额宝")
    text = "余额宝转出一般2小时内到账"
    added = ops.ok("POST", "quick_replies", OPS_TOKEN, {"service": "alipay", "title": title, "text": text})
    assert ops.call("POST", "quick_replies", OPS_TOKEN, {"service": "nope", "title": "x", "text": "y"})[0] == 400

    def managed(token):
        return {reply["title"]: reply["text"] for reply in ops.ok("GET", "agent/quick_replies", token)["managed"]}

    assert managed(alipay)[title] == text and "请稍等" in managed(alipay)
    assert title not in managed(xiaomi) and "请稍等" in managed(xiaomi)
    ops.ok("POST", f"quick_replies/{added['id']}", OPS_TOKEN, {"service": None, "title": title, "text": "改过的"})
    assert managed(xiaomi)[title] == "改过的"
    ops.ok("POST", f"quick_replies/{added['id']}/delete", OPS_TOKEN)
    assert title not in managed(alipay)
    assert ops.call("POST", f"quick_replies/{added['id']}/delete", OPS_TOKEN)[0] == 404


def test_an_agent_takes_no_more_chats_than_allowed(ops, assistant):
    name = unique("小杨")
    created = ops.ok("POST", "agents", OPS_TOKEN, {"name": name, "services": ["tianxing_loan"], "max_chats": 1})
    token = created["token"]
    ops.agent_tokens.append(token)
    ops.ok("POST", "agent/status", token, {"online": True})
    first, second = Customer(assistant.url), Customer(assistant.url)
    try:
        for customer in (first, second):
            card = customer.wait_for("官方客服热线", customer.say("天星金融的人工客服电话"))
            customer.wait_for("排队", customer.say(buttons(card)["在线人工"]))
        ops.ok("POST", "agent/take", token, {"conversation": first.conversation})
        status, answer = ops.call("POST", "agent/take", token, {"conversation": second.conversation})
        assert status == 409 and "1" in answer["error"]
        ops.ok("POST", f"agents/{created['id']}", OPS_TOKEN, {"max_chats": 2})
        queued = {s["key"]: s["queued"] for s in ops.ok("GET", "agents", OPS_TOKEN)["services"]}
        assert queued["tianxing_loan"] >= 1  # the supervisor's view: the queue, and each agent's chats
        ops.ok("POST", "agent/take", token, {"conversation": second.conversation})
        assert len(ops.ok("GET", "agent/chats", token)["items"]) == 2
        listed = {agent["name"]: agent for agent in ops.ok("GET", "agents", OPS_TOKEN)["items"]}
        assert listed[name]["chats"] == 2 and listed[name]["online"] is True
        for customer in (first, second):
            ops.ok("POST", f"agent/conversations/{customer.conversation}/handback", token)
    finally:
        first.close()
        second.close()


def test_agents_in_the_console_form(browser, console, ops):
    problems = PageProblems()
    page = console_page(browser, problems)
    name = unique("小曹")
    try:
        log_in(page, console.url, OPS_TOKEN)
        page.click(".tab[data-tab=agents]")
        page.fill("#agent-form-name", name)
        page.check("#agent-form-services input[value=alipay]")
        page.fill("#agent-form-max", "2")
        page.click("#agent-form button[type=submit]")
        expect(page.locator("#agent-token-box")).to_be_visible()
        token = page.locator("#agent-token").inner_text()
        row = page.locator("#agents-table tbody tr").filter(has=page.locator("td.name", has_text=name))
        expect(row).to_have_count(1)
        expect(row.locator("td").nth(2)).to_have_text("2")
        expect(row.locator(".chats-cell")).to_have_text("0 / 2")
        expect(page.locator("#queue-lengths")).to_contain_text("支付宝")
        assert ops.ok("GET", "agent/me", token)["name"] == name

        # The same name again is refused, in Chinese.
        page.click("#agent-form-new")
        page.fill("#agent-form-name", name)
        page.check("#agent-form-services input[value=alipay]")
        page.click("#agent-form button[type=submit]")
        expect(page.locator("#agent-form-status")).to_contain_text("同名")

        # Edit, disable, re-key.
        row.get_by_role("button", name="编辑").click()
        expect(page.locator("#agent-form-name")).to_have_value(name)
        page.fill("#agent-form-max", "3")
        page.click("#agent-form button[type=submit]")
        expect(row.locator("td").nth(2)).to_have_text("3")
        row.get_by_role("button", name="停用").click()
        expect(row.locator(".state-cell")).to_have_text("已停用")
        assert ops.call("GET", "agent/me", token)[0] == 401
        row.get_by_role("button", name="启用").click()
        expect(row.locator(".state-cell")).to_have_text("离线")
        row.get_by_role("button", name="重置令牌").click()
        expect(page.locator("#agent-token")).not_to_have_text(token)
        new_token = page.locator("#agent-token").inner_text()
        assert ops.call("GET", "agent/me", token)[0] == 401
        assert ops.ok("GET", "agent/me", new_token)["name"] == name

        # A 常用语 for 支付宝 reaches this agent's quick replies.
        phrase = unique("花呗")
        page.select_option("#phrase-service", "alipay")
        page.fill("#phrase-title", phrase)
        page.fill("#phrase-text", "花呗账单每月9日出")
        page.click("#phrase-form button[type=submit]")
        expect(page.locator("#phrases-table tbody tr .title").filter(has_text=phrase)).to_have_count(1)
        managed = ops.ok("GET", "agent/quick_replies", new_token)["managed"]
        assert {"title": phrase, "text": "花呗账单每月9日出"} in managed
        screenshot(page, "live-07-agents-form")
        assert_page_clean(problems)
    finally:
        page.context.close()


def test_the_administrator_keeps_operator_accounts_in_the_console(browser, console, ops):
    """运营账号 in 座席: created with a token shown once, disabled (the token stops at once) and re-keyed; after
    logging out (a fresh page), the operator's own token does not see the card."""
    problems = PageProblems()
    page = console_page(browser, problems)
    name = unique("运营")
    try:
        log_in(page, console.url, OPS_TOKEN)
        page.click(".tab[data-tab=agents]")
        page.fill("#operator-form-name", name)
        page.click("#operator-form button[type=submit]")
        expect(page.locator("#operator-token-box")).to_be_visible()
        token = page.locator("#operator-token").inner_text()
        assert ops.ok("GET", "me", token) == {"name": name, "admin": False}

        row = page.locator("#operators-table tbody tr").filter(has=page.locator("td.name", has_text=name))
        row.get_by_role("button", name="停用").click()
        expect(row.locator(".state-cell")).to_have_text("已停用")
        assert ops.call("GET", "me", token)[0] == 401
        row.get_by_role("button", name="启用").click()
        expect(row.locator(".state-cell")).to_have_text("可用")
        row.get_by_role("button", name="重置令牌").click()
        expect(page.locator("#operator-form-status")).to_contain_text("已重置令牌")
        expect(page.locator("#operator-token-box")).to_be_visible()
        assert ops.call("GET", "me", token)[0] == 401
        new_token = page.locator("#operator-token").inner_text()
        assert_page_clean(problems)

        with page.expect_navigation():  # logging out reloads the console
            page.click("#logout")
        expect(page.locator("#login")).to_be_visible()
        page.fill("#token", new_token)
        page.click("#login-form button[type=submit]")
        expect(page.locator("#console")).to_be_visible(timeout=30000)  # logged in as the operator
        page.click(".tab[data-tab=agents]")
        expect(page.locator("#operators-card")).to_be_hidden()
    finally:
        page.context.close()


def join_queue(assistant, text: str = "天星金融的人工客服电话") -> Customer:
    customer = Customer(assistant.url)
    card = customer.wait_for("官方客服热线", customer.say(text))
    customer.wait_for("排队", customer.say(buttons(card)["在线人工"]))
    return customer


def test_two_chats_at_once_in_the_workspace_beside_a_ticket(browser, console, ops, assistant):
    name = "小陶"  # the only agent of this name in the session: its screenshot is the README's
    created = ops.ok("POST", "agents", OPS_TOKEN, {"name": name, "services": ["tianxing_loan"], "max_chats": 2})
    token = created["token"]
    ops.agent_tokens.append(token)
    writer = Customer(assistant.url)  # nobody online yet: a 留言
    customers = [writer]
    problems = PageProblems()
    # Tall enough for the README's picture of it to show the reply buttons.
    page = browser.new_context(viewport={"width": 1280, "height": 960}, locale="zh-CN").new_page()
    watch(page, problems)
    try:
        card = writer.wait_for("官方客服热线", writer.say("天星金融的人工客服电话"))
        writer.wait_for("写下您遇到的问题", writer.say(buttons(card)["留言"]))
        writer.wait_for("回电", writer.say("随星借的额度突然没了"))
        writer.wait_for("编号", writer.say(buttons(writer.received[-1])["跳过"]))

        log_in(page, console.url, token)
        expect(page.locator("#ticket-table tbody tr .text").filter(has_text="随星借的额度突然没了")).to_have_count(1)
        page.click("#agent-online")
        expect(page.locator("#agent-state")).to_have_text("在线")
        first, second = join_queue(assistant), join_queue(assistant)
        customers += [first, second]
        for customer in (first, second):
            page.locator(f"#queue-table tbody tr[data-conversation='{customer.conversation}']").get_by_role(
                "button", name="接入").click()
            customer.wait_for(f"客服{name}已接入")
        expect(page.locator("#chat-tabs .chat-tab")).to_have_count(2)
        third = join_queue(assistant)
        customers.append(third)
        row = page.locator(f"#queue-table tbody tr[data-conversation='{third.conversation}']")
        expect(row.get_by_role("button", name="接入")).to_be_disabled()  # two at once is this agent's most
        expect(page).to_have_title(re.compile(r"^\(\d+\) 客户排队中"))  # the new-customer alert in the title

        # The first customer writes while the second chat is shown: its tab says so; the agent answers both.
        first.say("我的额度为什么没了")
        expect(page.locator("#chat-tabs .chat-tab").first).to_contain_text("1条新消息")
        shown = "#chat-log .chat-thread:not([hidden])"
        page.fill("#reply-text", "您好，请问是哪天发现的？")
        page.click("#send-reply")
        second.wait_for("请问是哪天发现的")
        page.locator("#chat-tabs .chat-tab").first.click()
        expect(page.locator(f"{shown} .turn.customer").last).to_contain_text("我的额度为什么没了")
        page.fill("#reply-text", "我来帮您查一下额度")
        page.click("#send-reply")
        first.wait_for("我来帮您查一下额度")
        assert not [text for text in second.texts() if "我来帮您查一下额度" in text]
        second.type_something()  # the other chat's customer types: its tab says so
        expect(page.locator("#chat-tabs .chat-tab").nth(1)).to_contain_text("正在输入")
        expect(page.locator("#customer-typing")).to_be_hidden()  # the chat shown is not the one typing
        screenshot(page, "live-08-workspace-two-chats-and-a-ticket")

        page.click("#end-chat")
        first.wait_for("请为本次服务评价")
        expect(row.get_by_role("button", name="接入")).to_be_enabled()  # room for one more
        page.locator("#chat-tabs .chat-tab").nth(1).click()
        page.click("#handback")
        second.wait_for("转回智能客服")
        third.say(buttons(third.received[-1])["离开排队"])
        assert_page_clean(problems)
    finally:
        page.context.close()
        for customer in customers:
            customer.close()


def test_transfer_to_a_colleague_in_the_workspace_then_to_another_service(browser, console, ops, assistant):
    first_name, second_name, third_name = unique("小金"), unique("小魏"), unique("小苏")
    first = ops.new_agent(first_name, ["tianxing_loan"], online=False)
    second = ops.new_agent(second_name, ["tianxing_loan"])
    third = ops.new_agent(third_name, ["xiaomi_after_sales"])
    second_id = next(a["id"] for a in ops.ok("GET", "agents", OPS_TOKEN)["items"] if a["name"] == second_name)
    problems = PageProblems()
    page = console_page(browser, problems)
    customer = None
    try:
        log_in(page, console.url, first)
        page.click("#agent-online")
        expect(page.locator("#agent-state")).to_have_text("在线")
        customer = join_queue(assistant)
        page.locator(f"#queue-table tbody tr[data-conversation='{customer.conversation}']").get_by_role(
            "button", name="接入").click()
        customer.wait_for(f"客服{first_name}已接入")
        page.fill("#reply-text", "我先看一下您的借款记录")
        page.click("#send-reply")
        customer.wait_for("我先看一下您的借款记录")

        # To a colleague online: the customer is told; the colleague has the chat with what was said before.
        ops.ok("GET", "agent/me", second)  # the colleague's console is open
        page.locator("#transfer-to").focus()
        page.locator("#transfer-to").blur()
        expect(page.locator(f"#transfer-to option[value='agent:{second_id}']")).to_have_count(1)
        page.select_option("#transfer-to", f"agent:{second_id}")
        page.click("#transfer")
        expect(page.locator("#chat-info")).to_contain_text("已转接")
        expect(page.locator("#send-reply")).to_be_disabled()
        customer.wait_for(f"已为您转接客服{second_name}")
        [chat] = ops.ok("GET", "agent/chats", second)["items"]
        assert chat["conversation"] == customer.conversation
        said = ops.ok("GET", f"agent/conversations/{customer.conversation}/messages?after=0", second)["items"]
        assert {"from": "agent", "agent": first_name, "text": "我先看一下您的借款记录"} in [
            {key: m[key] for key in ("from", "agent", "text")} for m in said]
        ops.ok("POST", f"agent/conversations/{customer.conversation}/messages", second, {"text": "我接着为您处理"})
        reply = customer.wait_for("我接着为您处理")
        assert reply["text"].startswith(f"客服{second_name}：")
        assert ops.call("POST", f"agent/conversations/{customer.conversation}/messages", first, {"text": "x"})[0] == 409

        # To another service: first in its queue; its agent takes the customer.
        conversation = customer.conversation
        ops.ok("POST", f"agent/conversations/{conversation}/transfer", second, {"service": "xiaomi_after_sales"})
        moved = customer.wait_for("已为您转接到售后")
        assert "第 1 位" in moved["text"]
        [queued] = [q for q in ops.ok("GET", "agent/queue", third)["items"] if q["conversation"] == conversation]
        assert queued["position"] == 1
        ops.ok("POST", "agent/take", third, {"conversation": customer.conversation})
        customer.wait_for(f"客服{third_name}已接入")
        ops.ok("POST", f"agent/conversations/{customer.conversation}/handback", third)
        assert_page_clean(problems)
    finally:
        page.context.close()
        if customer is not None:
            customer.close()
