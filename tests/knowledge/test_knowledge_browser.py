"""Two real browsers: an operator in the console's 知识库 tab and a customer on the chat page. The operator's
answer with an unofficial number is refused in the page; an answer is edited with its preview as the chat
page shows it, tried in 试聊 while the customer still gets the published text, published (the customer gets
the new text), and rolled back (the old text again)."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from devtools.browser import PageProblems, log_in, screenshot, watch
from tests.e2e.test_webchat import LATEST_REPLIES, REPLY_BUTTON, Chat, assert_page_clean
from tests.knowledge.conftest import TOKEN, topic

NEW_ANSWER = "账户被锁了别着急：\n\n1. 先**修改密码**；\n2. 再联系官方客服 95188 核实身份。\n\n解锁后记得开启双重验证。"
LOOK_UP_S = 4  # longer than the action server's look-up interval for new versions (3 s)


def new_page(browser, problems: PageProblems) -> Page:
    page = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN").new_page()
    watch(page, problems)
    page.on("dialog", lambda dialog: dialog.accept())  # 「回滚」 asks to confirm
    return page


def customer_asks_account_locked(chat: Chat, customer: Page) -> str:
    """The customer types the question; the text of the answer (its bubbles together)."""
    chat.say("账户被锁了")
    chat.reply("以上方法解决您的问题了吗")
    return "\n".join(customer.locator(LATEST_REPLIES).all_inner_texts())


def test_operator_edits_tries_publishes_and_rolls_back_while_a_customer_chats(browser, console):
    published = topic(console, "account_locked")["answer"]
    operator_problems, customer_problems = PageProblems(), PageProblems()
    operator = new_page(browser, operator_problems)
    customer = new_page(browser, customer_problems)
    try:
        log_in(operator, console.url, TOKEN)
        operator.click(".tab[data-tab=knowledge]")
        row = operator.locator("#kb-topics tr.kb-topic", has_text="账户被锁")
        expect(row).to_contain_text("已发布")
        row.click()
        expect(operator.locator("#kb-answer")).to_have_value(published)
        expect(operator.locator("#kb-phrasing-count")).to_contain_text("共")
        # As on the chat page: "1. …" lines right under a sentence stay lines of its paragraph.
        expect(operator.locator("#kb-preview p")).to_have_count(1)
        expect(operator.locator("#kb-preview ol")).to_have_count(0)

        # The number guard, in the page: refused, the number named, nothing saved.
        operator.fill("#kb-answer", "账户被锁请直接打 13912345678 找我们。")
        operator.click("#kb-save")
        expect(operator.locator("#kb-error")).to_contain_text("13912345678")
        expect(row).to_contain_text("已发布")
        assert topic(console, "account_locked")["answer"] == published

        # The edit, previewed as the chat page renders it.
        operator.fill("#kb-answer", NEW_ANSWER)
        preview = operator.locator("#kb-preview")
        expect(preview.locator(".kb-bubble")).to_have_count(3)
        expect(preview.locator("ol strong")).to_have_text("修改密码")
        expect(preview.locator("ol > li")).to_have_count(2)
        expect(preview).not_to_contain_text("**")
        operator.click("#kb-save")
        expect(row).to_contain_text("已更新未发布")
        expect(operator.locator("#kb-error")).to_have_text("")

        # 试聊 answers with the draft ...
        operator.click("#kb-try")
        expect(operator.locator("#kb-trial-log .turn.bot").last).to_contain_text("账户被锁了别着急")
        expect(operator.locator("#kb-trial-log .turn.bot strong").last).to_have_text("修改密码")
        screenshot(operator, "ops-knowledge")

        # ... while the customer on the chat page still gets the published answer.
        chat = Chat(customer).open(console.url)
        chat.wait_for_greeting()
        time.sleep(LOOK_UP_S)
        answer = customer_asks_account_locked(chat, customer)
        assert published.splitlines()[0] in answer and "别着急" not in answer

        # Publish: the customer gets the new text, rendered (bold, list).
        operator.fill("#kb-note", "账户被锁的答复更短")
        operator.click("#kb-publish")
        expect(operator.locator("#kb-status")).to_contain_text("已发布版本")
        expect(row).to_contain_text("已发布")
        expect(row).to_contain_text("管理员")
        time.sleep(LOOK_UP_S)
        answer = customer_asks_account_locked(chat, customer)
        assert "账户被锁了别着急" in answer
        # the chat page shows each blank-line-separated part as a bubble of its own, as the preview did
        expect(customer.locator(LATEST_REPLIES)).to_have_count(4)
        expect(customer.locator(LATEST_REPLIES).locator("ol li")).to_have_count(2)
        expect(customer.locator(LATEST_REPLIES).locator("ol strong")).to_have_text("修改密码")

        # History and rollback.
        operator.click("#kb-show-history")
        newest = operator.locator("#kb-history-table tr.kb-version").first
        expect(newest).to_contain_text("账户被锁的答复更短")
        expect(newest).to_contain_text("管理员")
        expect(newest.locator("ins")).to_contain_text("别着急")
        previous = operator.locator("#kb-history-table tr.kb-version").nth(1)
        previous.get_by_role("button", name="回滚到此版本").click()
        expect(operator.locator("#kb-status")).to_contain_text("已回滚")
        expect(operator.locator("#kb-history-table tr.kb-version").first).to_contain_text("回滚到版本")
        time.sleep(LOOK_UP_S)
        customer.locator(REPLY_BUTTON, has_text="解决了").last.click()  # the customer goes on chatting
        answer = customer_asks_account_locked(chat, customer)
        assert published.splitlines()[0] in answer and "别着急" not in answer
        expect(operator.locator("#kb-answer")).to_have_value(published)
    finally:
        operator.context.close()
        customer.context.close()
    assert_page_clean(operator_problems)
    assert_page_clean(customer_problems)
