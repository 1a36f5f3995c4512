"""A person using the 「在线客服」 page in Chromium: greeting, Chinese questions, hotline links,
quick replies, reload, HTML in messages, a pinyin input method, a phone screen, a dead server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Locator, Page, Route, expect

from devtools.browser import PageProblems, SocketMessages, screenshot, watch

# Bot messages, not the widget's typing indicator (which is a .rw-response too).
BOT = "#rw-messages .rw-message:not(.rw-typing-indication) .rw-response"
USER = "#rw-messages .rw-client"
# Bot messages since the user's last message (a reply can come as several bubbles).
LATEST_REPLIES = (
    "xpath=//div[@id='rw-messages']/div[contains(@class, 'rw-from-client')][last()]"
    "/following-sibling::div//div[contains(@class, 'rw-response')]"
    "[not(ancestor::div[contains(@class, 'rw-typing-indication')])]"
)
INPUT = ".rw-new-message"
REPLY_BUTTON = "#rw-messages .rw-reply"
GREETING = "您好！我是在线客服小助手"
UNREACHABLE = "无法连接客服服务器，请稍后再试"
CJK_FONTS = ("PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC")


class Chat:
    def __init__(self, page: Page):
        self.page = page

    def open(self, url: str) -> Chat:
        self.page.goto(url)
        expect(self.page.locator("#status")).to_have_attribute("data-state", "online")
        return self

    def wait_for_greeting(self) -> None:
        expect(self.page.locator(BOT).first).to_contain_text(GREETING)
        expect(self.page.locator(REPLY_BUTTON)).to_have_count(4)

    def say(self, text: str) -> None:
        users_before = self.page.locator(USER).count()
        box = self.page.locator(INPUT)
        box.fill(text)
        box.press("Enter")
        expect(self.page.locator(USER)).to_have_count(users_before + 1)
        expect(self.page.locator(USER).last).to_have_text(text)

    def reply(self, fragment: str) -> Locator:
        """Waits for the bubble answering the user's last message that contains fragment."""
        bubble = self.page.locator(LATEST_REPLIES).filter(has_text=fragment)
        expect(bubble).to_have_count(1)
        return bubble

    def expect_reply(self, *fragments: str) -> None:
        for fragment in fragments:
            self.reply(fragment)


def assert_page_clean(problems: PageProblems) -> None:
    assert not problems.errors, f"JavaScript errors: {problems.errors}"
    assert not problems.csp_violations, f"CSP violations: {problems.csp_violations}"
    assert not problems.foreign_requests, f"requests off this machine: {problems.foreign_requests}"


def test_page_opens_with_chinese_greeting_and_quick_replies(page: Page, page_server, problems):
    chat = Chat(page).open(page_server.url)
    expect(page).to_have_title("在线客服")
    expect(page.locator("h1")).to_have_text("在线客服")
    chat.wait_for_greeting()
    expect(page.locator(REPLY_BUTTON)).to_have_text(["还款失败了", "账户被锁了", "手机坏了要维修", "转人工客服"])
    expect(page.locator("#connection-notice")).to_be_hidden()
    expect(page.locator(INPUT)).to_have_attribute("placeholder", "请输入您的问题，按回车发送")

    font_family = page.locator(BOT).first.evaluate("el => getComputedStyle(el).fontFamily")
    assert "Inter" not in font_family and any(font in font_family for font in CJK_FONTS), font_family
    # The machine's CJK font is really used (Chinese rendered as characters, not boxes).
    assert page.evaluate("document.fonts.check('16px \"Noto Sans CJK SC\"', '您好')")
    screenshot(page, "01-greeting")
    assert_page_clean(problems)


def test_conversation_with_hotline_link_survives_reload(page: Page, page_server, problems):
    chat = Chat(page).open(page_server.url)
    chat.wait_for_greeting()

    chat.say("我的小米贷款还款失败了")
    answer = chat.reply("余额不足")
    expect(answer).to_contain_text("单笔/单日限额")
    chat.expect_reply("以上方法解决您的问题了吗")  # the follow-up question comes as its own bubble
    # Short markdown renders: **余额不足** is bold, not asterisks.
    expect(answer.locator("strong", has_text="余额不足")).to_have_count(1)
    assert "**" not in answer.inner_text()

    # Reload: the history is still on screen and the server still knows the conversation (the
    # product, 小米贷款 = 天星金融, carries over: a new session would ask which service is meant).
    page.reload()
    expect(page.locator("#status")).to_have_attribute("data-state", "online")
    expect(page.locator(USER)).to_have_text(["我的小米贷款还款失败了"])
    expect(page.locator(BOT).filter(has_text="余额不足")).to_have_count(1)
    chat.expect_reply("以上方法解决您的问题了吗")
    expect(page.locator(BOT).filter(has_text=GREETING)).to_have_count(1)  # no second greeting

    chat.say("那客服电话是多少")
    link = chat.reply("天星金融").locator('a[href="tel:4001003399"]')
    expect(link).to_have_count(1)
    expect(link).to_have_text("400-100-3399")
    expect(link).not_to_have_attribute("target", "_blank")  # dials in place, no empty tab

    chat.say("谢谢")
    chat.expect_reply("不客气")
    screenshot(page, "02-conversation-after-reload")

    page.reload()
    expect(page.locator("#status")).to_have_attribute("data-state", "online")
    expect(page.locator(USER)).to_have_text(["我的小米贷款还款失败了", "那客服电话是多少", "谢谢"])
    expect(page.locator('#rw-messages a[href="tel:4001003399"]')).to_have_count(1)
    assert_page_clean(problems)


def test_an_answer_on_its_way_during_a_reload_is_shown_after_it(page: Page, page_server, problems):
    """The widget stores a bot message only after its short display delay: a customer who reloads (or whose
    phone drops the page) the moment the answer arrives still finds it, once, after the reload."""
    arriving = SocketMessages(page)
    chat = Chat(page).open(page_server.url)
    chat.wait_for_greeting()

    chat.say("花呗还款失败怎么办")
    arriving.wait_for("以上方法解决您的问题了吗")  # the answer's last bubble reached the page, not yet shown
    page.reload()
    expect(page.locator("#status")).to_have_attribute("data-state", "online")
    expect(page.locator(USER)).to_have_text(["花呗还款失败怎么办"])
    expect(page.locator(BOT).filter(has_text="余额不足")).to_have_count(1)
    expect(page.locator(BOT).filter(has_text="以上方法解决您的问题了吗")).to_have_count(1)

    page.reload()  # confirmed by the page this time: not sent a second time
    expect(page.locator("#status")).to_have_attribute("data-state", "online")
    expect(page.locator(BOT).filter(has_text="余额不足")).to_have_count(1)
    page.wait_for_timeout(1500)
    expect(page.locator(BOT).filter(has_text="以上方法解决您的问题了吗")).to_have_count(1)
    assert_page_clean(problems)


def test_quick_reply_buttons_send_their_payload(page: Page, page_server, problems):
    chat = Chat(page).open(page_server.url)
    chat.wait_for_greeting()

    page.get_by_role("button", name="还款失败了").click()
    expect(page.locator(USER).last).to_have_text("还款失败了")  # the title is shown, not "/repayment_failure"
    chat.expect_reply("余额不足", "以上方法解决您的问题了吗")
    expect(page.locator(REPLY_BUTTON, has_text="解决了")).to_be_visible()
    screenshot(page, "03-quick-reply")

    # A clarification's buttons carry entities: /ask_hotline{"product": "tianxing_loan"}.
    chat.say("客服电话是多少")
    chat.expect_reply("请问您要联系哪一项服务")
    page.get_by_role("button", name="贷款", exact=True).press("Enter")  # quick replies work from a keyboard too
    expect(chat.reply("400-100-3399").locator('a[href="tel:4001003399"]')).to_have_count(1)
    assert_page_clean(problems)


@pytest.mark.parametrize(
    "message", ['<img src=x onerror="window.__xss=1">', "<script>window.__xss=1</script>"], ids=["img", "script"]
)
def test_html_typed_by_the_user_is_shown_as_text(page: Page, page_server, problems, message):
    chat = Chat(page).open(page_server.url)
    chat.wait_for_greeting()
    bot_before = page.locator(BOT).count()
    chat.say(message)  # asserts the bubble's text is exactly what was typed
    expect(page.locator(BOT)).to_have_count(bot_before + 1)  # and the assistant answered
    expect(page.locator("#rw-messages img, #rw-messages script")).to_have_count(0)
    assert page.evaluate("typeof window.__xss") == "undefined"

    page.reload()  # from the widget's stored history too
    expect(page.locator(USER).last).to_have_text(message)
    expect(page.locator("#rw-messages img, #rw-messages script")).to_have_count(0)
    assert page.evaluate("typeof window.__xss") == "undefined"
    screenshot(page, f"04-html-as-text-{'img' if '<img' in message else 'script'}")
    assert_page_clean(problems)


def type_pinyin_and_press_enter(page: Page) -> None:
    """What a pinyin IME does in Chromium: compose "nihao", Enter while composing, commit 你好.

    Uses Chromium's own IME path (DevTools Input.imeSetComposition), so the page gets real
    compositionstart/update events and a keydown Enter with isComposing = true."""
    page.locator(INPUT).click()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.imeSetComposition", {"text": "ni", "selectionStart": 2, "selectionEnd": 2})
    cdp.send("Input.imeSetComposition", {"text": "nihao", "selectionStart": 5, "selectionEnd": 5})
    enter = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13}
    cdp.send("Input.dispatchKeyEvent", {"type": "rawKeyDown", **enter})
    cdp.send("Input.dispatchKeyEvent", {"type": "keyUp", **enter})
    cdp.send("Input.insertText", {"text": "你好"})  # the candidate is confirmed
    cdp.detach()


def test_pinyin_enter_does_not_send_a_half_typed_message(page: Page, page_server, problems):
    chat = Chat(page).open(page_server.url)
    chat.wait_for_greeting()
    type_pinyin_and_press_enter(page)

    page.wait_for_timeout(1500)  # give a wrongly sent "nihao" time to show up
    expect(page.locator(USER)).to_have_count(0)
    expect(page.locator(INPUT)).to_have_value("你好")

    page.locator(INPUT).press("Enter")  # Enter after the composition sends the confirmed text
    expect(page.locator(USER)).to_have_text(["你好"])
    chat.expect_reply(GREETING)
    screenshot(page, "05-pinyin-enter")
    assert_page_clean(problems)


def test_pinyin_check_catches_a_page_without_the_guard(page: Page, page_server):
    """The check above is only worth something if it fails without the page's guard: serve
    app.js with the guard left out and see the widget send the half-typed pinyin."""

    def without_guard(route: Route) -> None:
        response = route.fetch()
        body = response.text()
        assert "installImeGuard();\n" in body
        route.fulfill(response=response, body=body.replace("installImeGuard();\n", ""))

    page.route("**/static/app.js", without_guard)
    Chat(page).open(page_server.url).wait_for_greeting()
    type_pinyin_and_press_enter(page)
    expect(page.locator(USER).first).to_have_text("nihao")


def test_phone_screen_375px(browser, page_server):
    context = browser.new_context(viewport={"width": 375, "height": 667}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True, locale="zh-CN")
    try:
        page = context.new_page()
        problems = PageProblems()
        watch(page, problems)
        chat = Chat(page).open(page_server.url)
        chat.wait_for_greeting()
        page.locator(REPLY_BUTTON, has_text="手机坏了要维修").tap()
        chat.expect_reply("保修期")

        # Nothing wider than the screen, the input bar at the bottom, all quick replies on screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        box = page.locator(INPUT).bounding_box()
        assert box is not None and box["y"] + box["height"] <= 667 and box["x"] >= 0
        assert box["width"] >= 250, box
        for button in page.locator(REPLY_BUTTON).all():
            rect = button.bounding_box()
            assert rect is not None and rect["x"] >= 0 and rect["x"] + rect["width"] <= 375, rect
            assert rect["height"] >= 30, rect  # big enough to tap
        font_size = page.locator(INPUT).evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
        assert font_size >= 16  # iOS Safari zooms into smaller inputs
        screenshot(page, "06-phone-375")
        assert_page_clean(problems)
    finally:
        context.close()


def test_unreachable_server_is_announced_in_chinese(page: Page, dead_page_server, problems):
    page.goto(dead_page_server.url)
    notice = page.locator("#connection-notice")
    expect(notice).to_be_visible(timeout=12_000)
    expect(notice).to_have_text(UNREACHABLE)
    expect(page.locator("#status")).to_have_attribute("data-state", "offline")
    expect(page.locator("#chat-placeholder")).to_contain_text("自动重新连接")
    screenshot(page, "07-server-unreachable")
    assert not problems.errors and not problems.foreign_requests


def test_http_headers_and_socket_origin(page_server, assistant):
    with urllib.request.urlopen(f"{page_server.url}/") as response:
        headers = response.headers
        assert response.headers.get_content_charset() == "utf-8"
    csp = headers["Content-Security-Policy"]
    rasa = f"http://127.0.0.1:{assistant.rasa_port}"
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert f"connect-src 'self' {rasa} ws://127.0.0.1:{assistant.rasa_port}" in csp
    assert "*" not in csp and "unsafe-eval" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"

    with urllib.request.urlopen(f"{page_server.url}/config.js") as response:
        config = json.loads(response.read().decode().split("=", 1)[1].strip().rstrip(";"))
    assert config["socketUrl"] == rasa

    with urllib.request.urlopen(f"{page_server.url}/vendor/rasa-webchat.js") as response:
        assert response.headers["Content-Type"].startswith("text/javascript")
        assert len(response.read()) > 500_000

    # Rasa's socket.io accepts the page's origin and no other.
    polling = f"{rasa}/socket.io/?EIO=4&transport=polling"
    request = urllib.request.Request(polling, headers={"Origin": page_server.url})
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
        # Exactly one: a second one (e.g. from Rasa's --cors on top of the channel) makes browsers refuse.
        assert response.headers.get_all("Access-Control-Allow-Origin") == [page_server.url]
    request = urllib.request.Request(polling, headers={"Origin": "http://evil.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 400


def test_deleting_the_history_empties_the_page_and_the_server(page: Page, page_server, assistant, problems):
    from tests.conversation.conftest import raw_rows

    chat = Chat(page).open(page_server.url)
    chat.wait_for_greeting()
    chat.say("银行卡6222021234560202被重复扣款了")
    chat.expect_reply("以上方法解决您的问题了吗")
    stored = "JSON.parse(localStorage.getItem('chat_session') || '{}')"
    old_session = page.evaluate(f"{stored}.session_id")
    assert raw_rows(assistant, old_session)

    chat.say("删除我的聊天记录")
    chat.expect_reply("确认要删除")
    page.get_by_role("button", name="确认删除").click()
    chat.expect_reply("已删除")

    # The page reloads by itself into a new, empty conversation and says why.
    expect(page.locator(".cleared-note")).to_have_text(" · 聊天记录已删除")
    chat.wait_for_greeting()
    expect(page.locator(USER)).to_have_count(0)
    new_session = page.evaluate(f"{stored}.session_id")
    assert new_session and new_session != old_session
    assert "重复扣款" not in json.dumps(page.evaluate(stored), ensure_ascii=False)
    assert raw_rows(assistant, old_session) == []
    assert_page_clean(problems)
