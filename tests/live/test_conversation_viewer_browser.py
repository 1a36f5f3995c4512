"""The console's conversation viewer (会话) after a live chat, in a real browser: the conversation as the customer
saw it, in time order, with the agent's messages and notices, what the customer wrote to the agent marked so,
and the list's filters finding it by service and handoff."""

from __future__ import annotations

from playwright.sync_api import expect

from devtools.browser import PageProblems, console_page, log_in
from devtools.live_chat_clients import OPS_TOKEN
from tests.e2e.test_webchat import BOT, Chat, assert_page_clean
from tests.live.test_live_chat_browser import ASK_PERSON


def test_the_viewer_shows_a_live_chat_with_the_agents_messages(browser, ops, console):
    token = ops.new_agent("小钱", ["alipay"])
    customer_problems, operator_problems = PageProblems(), PageProblems()
    customer = console_page(browser, customer_problems)
    operator = console_page(browser, operator_problems)
    try:
        chat = Chat(customer).open(console.url)
        chat.wait_for_greeting()
        chat.say(ASK_PERSON)
        chat.reply("95188")
        customer.get_by_role("button", name="在线人工").click()
        expect(customer.locator(BOT).filter(has_text="排队").last).to_contain_text("第 1 位")
        conversation = ops.ok("GET", "agent/queue", token)["items"][0]["conversation"]
        ops.ok("POST", "agent/take", token, {"conversation": conversation})
        messages = f"agent/conversations/{conversation}/messages"
        ops.ok("POST", messages, token, {"text": "您好，我是小钱，请问是哪一笔转账？"})
        expect(customer.locator(BOT).filter(has_text="客服小钱：您好")).to_have_count(1)
        chat.say("昨天下午转出的那笔")
        ops.wait_for_message(token, conversation, "昨天下午", "customer")
        ops.ok("POST", messages, token, {"text": "查到了，两小时内到账。"})
        expect(customer.locator(BOT).filter(has_text="两小时内到账")).to_have_count(1)
        ops.ok("POST", f"agent/conversations/{conversation}/end", token)

        log_in(operator, console.url, OPS_TOKEN)
        operator.click(".tab[data-tab=conversations]")
        operator.check("#conv-handoff")
        operator.locator("#conv-service").select_option("alipay")
        operator.click("#conv-filter button[type=submit]")
        listed = operator.locator("#conversation-list li", has_text=ASK_PERSON)
        expect(listed).to_contain_text("在线人工")  # titled by what the customer wrote, not the page's /greet
        listed.first.click()
        transcript = operator.locator("#transcript")
        agent = transcript.locator(".turn.agent")
        expect(agent).to_have_count(2)
        expect(agent.first).to_contain_text("客服小钱：您好，我是小钱，请问是哪一笔转账？")
        expect(agent.last).to_contain_text("查到了，两小时内到账。")
        to_agent = transcript.locator(".turn.user", has_text="昨天下午转出的那笔")
        expect(to_agent).to_contain_text("写给人工客服")
        expect(transcript.locator(".turn.notice", has_text="客服小钱已接入")).to_have_count(1)
        expect(transcript).not_to_contain_text("/greet")
        expect(transcript).not_to_contain_text("/live_chat_")
        # in time order: the agent's first message before the customer's reply to it, before the agent's answer
        texts = transcript.locator(".turn").all_inner_texts()
        first, reply, answer = (next(i for i, t in enumerate(texts) if fragment in t)
                                for fragment in ("请问是哪一笔转账", "昨天下午转出的那笔", "两小时内到账"))
        assert first < reply < answer
    finally:
        customer.context.close()
        operator.context.close()
    assert_page_clean(customer_problems)
    assert_page_clean(operator_problems)
