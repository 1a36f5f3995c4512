"""Makes docs/webchat.png: two phone-sized views of the chat page, side by side.

Starts the real assistant and page server on free ports (own tracker database in a temporary
folder), drives Debian's chromium, and composes the picture with Pillow:
    PYTHONPATH=. .venv/bin/python scripts/webchat_screenshot.py [docs/webchat.png]
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright

from devtools.browser import CHROMIUM, CHROMIUM_FLAGS
from devtools.servers import ROOT, Assistant, PageServer, free_port

PHONE = {"width": 375, "height": 720}
GAP = 24


def phone_shot(page: Page) -> Image.Image:
    return Image.open(io.BytesIO(page.screenshot()))


def main(out: Path) -> None:
    web_port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        assistant = Assistant(workdir=Path(workdir), web_origin=f"http://127.0.0.1:{web_port}")
        web = PageServer(Path(workdir), assistant.rasa_port, "web-server", port=web_port)
        try:
            assistant.start()
            url = web.start().url
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
                context = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True,
                                              has_touch=True, locale="zh-CN")
                page = context.new_page()
                page.goto(url)
                expect(page.locator("#rw-messages .rw-reply")).to_have_count(4, timeout=30_000)
                page.wait_for_timeout(500)
                greeting = phone_shot(page)

                box = page.locator(".rw-new-message")
                for question, answer in [("我的小米贷款还款失败了", "以上方法解决您的问题了吗"),
                                         ("那客服电话是多少", "400-100-3399")]:
                    box.fill(question)
                    box.press("Enter")
                    expect(page.locator("#rw-messages .rw-response").last).to_contain_text(answer, timeout=30_000)
                page.wait_for_timeout(800)
                conversation = phone_shot(page)
                browser.close()
        finally:
            web.stop()
            assistant.stop()

    picture = Image.new("RGB", (2 * PHONE["width"] + 3 * GAP, PHONE["height"] + 2 * GAP), "#e6ebf2")
    picture.paste(greeting, (GAP, GAP))
    picture.paste(conversation, (2 * GAP + PHONE["width"], GAP))
    out.parent.mkdir(parents=True, exist_ok=True)
    picture.save(out, optimize=True)
    print(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "webchat.png")
