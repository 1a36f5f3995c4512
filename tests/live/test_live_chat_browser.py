"""Two real browsers: a customer on the chat page and an agent in the console's workspace. Nobody online
gives the hotline only; then 「在线人工」, the queue position, the takeover with the transcript, messages
both ways (the agent's shown as text), the bot silent meanwhile, end and rating, and the bot back."""

from __future__ import annotations

from playwright.sync_api import expect

from devtools.browser import PageProblems, console_page, log_in, screenshot
from rasa_server.live_channel import WORD_JOINER
from tests.e2e.test_webchat import BOT, INPUT, REPLY_BUTTON, Chat, assert_page_clean

ASK_PERSON = "支付宝的人工客服怎么找"
XSS = '<img src=x onerror="window.__xss=1">'


def test_customer_and_agent_chat_in_two_browsers(browser, ops, console):
    token = ops.new_agent("小王", ["alipay"], online=False)
    agent_problems, customer_problems = PageProblems(), PageProblems()
    agent = console_page(browser, agent_problems)
    customer = console_page(browser, customer_problems)
    try:
        log_in(agent, console.url, token)
        expect(agent.locator("#tab-workspace")).to_be_visible()
        expect(agent.locator("#agent-name")).to_have_text("客服小王")
        expect(agent.locator(".tab[data-tab=dashboard]")).to_be_hidden()  # an agent's token is not the operator's
        expect(agent.locator("#agent-state")).to_have_text("离线")

        # Nobody online: the hotline card as before, no 「在线人工」.
        chat = Chat(customer).open(console.url)
        chat.wait_for_greeting()
        chat.say(ASK_PERSON)
        chat.reply("95188")
        expect(customer.locator(REPLY_BUTTON, has_text="在线人工")).to_have_count(0)

        agent.click("#agent-online")
        expect(agent.locator("#agent-state")).to_have_text("在线")
        chat.say(ASK_PERSON)
        chat.reply("95188")
        customer.get_by_role("button", name="在线人工").click()
        expect(customer.locator(BOT).filter(has_text="排队").last).to_contain_text("第 1 位")

        # The agent sees the customer in the queue and takes them, with the bot's transcript.
        row = agent.locator("#queue-table tbody tr")
        expect(row).to_have_count(1)
        expect(row.locator(".position")).to_have_text("第 1 位")
        row.get_by_role("button", name="接入").click()
        expect(agent.locator("#chat-log .turn.history.customer").first).to_have_text(f"客户{ASK_PERSON}")
        expect(agent.locator("#chat-log")).to_contain_text("95188")
        expect(customer.locator(BOT).filter(has_text="客服小王已接入")).to_have_count(1)

        # Customer -> agent, with the bot silent: the only reply to come is the agent's.
        bots_before = customer.locator(BOT).count()
        chat.say("余额宝转出三天了还没到账")
        expect(agent.locator("#chat-log .turn.customer").last).to_contain_text("还没到账")
        typed = f"{XSS} **请**告诉我[转出](http://x.example)的时间和金额"
        agent.fill("#reply-text", typed)
        agent.click("#send-reply")
        reply = customer.locator(BOT).filter(has_text="的时间和金额")
        expect(reply.locator("strong, a, img")).to_have_count(0)  # as typed, not as markup
        shown = reply.inner_text().replace(WORD_JOINER, "")  # the invisible mark that keeps a URL from linking
        assert shown == f"客服小王：{typed}"
        expect(customer.locator(BOT)).to_have_count(bots_before + 1)
        expect(customer.locator("#rw-messages img")).to_have_count(0)
        assert customer.evaluate("typeof window.__xss") == "undefined"

        # A quick reply from knowledge/ fills the box; the agent sends it.
        agent.select_option("#quick-replies", label="提现失败")
        expect(agent.locator("#reply-text")).not_to_have_value("")
        agent.click("#send-reply")
        expect(customer.locator(BOT)).to_have_count(bots_before + 2)
        expect(customer.locator(BOT).last).to_contain_text("客服小王：")
        screenshot(agent, "live-01-agent-workspace")
        screenshot(customer, "live-02-customer-with-agent")

        # End: rating buttons, then the bot answers again.
        agent.click("#end-chat")
        expect(agent.locator("#chat-info")).to_contain_text("会话已结束")
        customer.get_by_role("button", name="满意", exact=True).click()
        chat.reply("感谢您的评价")
        chat.say("余额宝提现失败怎么办")
        chat.reply("提现")
        expect(customer.locator(INPUT)).to_be_enabled()
        screenshot(customer, "live-03-customer-after-rating")
        assert_page_clean(customer_problems)
        assert_page_clean(agent_problems)
    finally:
        agent.context.close()
        customer.context.close()


def test_the_agent_sees_the_customer_typing_until_they_send_or_stop(browser, ops, console):
    token = ops.new_agent("小唐", ["xiaomi_after_sales"], online=False)
    agent_problems, customer_problems = PageProblems(), PageProblems()
    agent = console_page(browser, agent_problems)
    customer = console_page(browser, customer_problems)
    typing = agent.locator("#customer-typing")
    try:
        log_in(agent, console.url, token)
        agent.click("#agent-online")
        expect(agent.locator("#agent-state")).to_have_text("在线")

        chat = Chat(customer).open(console.url)
        chat.wait_for_greeting()
        chat.say("小米售后的人工客服怎么联系")
        chat.reply("400-100-5678")
        customer.get_by_role("button", name="在线人工").click()
        agent.locator("#queue-table tbody tr").get_by_role("button", name="接入").click()
        expect(customer.locator("#status")).to_have_text("人工客服 小唐")
        expect(typing).to_be_hidden()

        # The customer types without sending: the agent sees it, and no longer a few seconds after they stop.
        customer.locator(INPUT).press_sequentially("手机进水了", delay=100)
        expect(typing).to_be_visible()
        expect(typing).to_have_text("客户正在输入…")
        screenshot(agent, "live-07-agent-sees-customer-typing")
        expect(typing).to_be_hidden(timeout=15_000)

        # They type on and send: the message replaces the hint.
        customer.locator(INPUT).press_sequentially("还能修吗", delay=100)
        expect(typing).to_be_visible()
        customer.locator(INPUT).press("Enter")
        expect(agent.locator("#chat-log .turn.customer").last).to_contain_text("手机进水了还能修吗")
        expect(typing).to_be_hidden()

        agent.click("#handback")
        expect(customer.locator("#status")).to_have_text("智能客服在线")
        assert_page_clean(customer_problems)
        assert_page_clean(agent_problems)
    finally:
        agent.context.close()
        customer.context.close()
