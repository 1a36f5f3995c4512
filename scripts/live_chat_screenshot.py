"""Makes docs/ops-live.png: the console's live-chat workspace during a chat with a customer.

Starts the real assistant and page server on free ports (own tracker database and console state in a
temporary folder), creates an agent, lets a customer on the socket.io channel join the queue, then logs the
agent in with Debian's chromium, takes the customer, replies and takes the picture:
    PYTHONPATH=. .venv/bin/python scripts/live_chat_screenshot.py [docs/ops-live.png]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect

from devtools.browser import chromium
from devtools.live_chat_clients import OPS_TOKEN, Customer, Ops, buttons
from devtools.servers import ROOT, Assistant, PageServer

VIEW = {"width": 1280, "height": 820}


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        assistant = Assistant(workdir=Path(workdir))
        console = None
        try:
            assistant.start()
            console = PageServer(Path(workdir), assistant.rasa_port, "console",
                                 extra_env=assistant.console_env(OPS_TOKEN, Path(workdir) / "var")).start()
            ops = Ops(console.url)
            token = ops.new_agent("小王", ["alipay"])
            customer = Customer(assistant.url)
            customer.wait_for("提现", customer.say("余额宝的钱提现到银行卡三天了还没到"))
            card = customer.wait_for("95188", customer.say("转人工"))
            customer.wait_for("排队", customer.say(buttons(card)["在线人工"]))
            customer.say("我的手机号是13812345678，提现了5000元")
            with chromium() as browser:
                page = browser.new_page(viewport=VIEW, locale="zh-CN")
                page.goto(f"{console.url}/ops/")
                page.fill("#token", token)
                page.click("#login-form button[type=submit]")
                page.locator("#queue-table tbody tr").get_by_role("button", name="接入").click()
                expect(page.locator("#chat-log .turn.customer").last).to_contain_text("提现了5000元")
                page.fill("#reply-text", "您好，我来帮您查一下这笔提现，请问是哪天操作的？")
                page.click("#send-reply")
                expect(page.locator("#chat-log .turn.agent")).to_have_count(1)
                customer.wait_for("请问是哪天操作的")
                page.select_option("#quick-replies", label="提现失败")
                page.screenshot(path=str(out))
            customer.close()
        finally:
            if console is not None:
                console.stop()
            assistant.stop()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "ops-live.png")
