"""Makes docs/ops.png: the operator console's dashboard after the tests' known mix of conversations.

Starts the real assistant and page server on free ports (own tracker database and console state in a
temporary folder), sends devtools/conversation_mix.py over REST, logs in with Debian's chromium and takes the picture:
    PYTHONPATH=. .venv/bin/python scripts/ops_screenshot.py [docs/ops.png]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect

from devtools import conversation_mix as mix
from devtools.browser import chromium
from devtools.servers import ROOT, Assistant, PageServer

TOKEN = "screenshot"
VIEW = {"width": 1280, "height": 1560}


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        assistant = Assistant(workdir=Path(workdir))
        console = None
        try:
            assistant.start()
            mix.send(assistant.url)
            console = PageServer(Path(workdir), assistant.rasa_port, "console",
                                 extra_env=assistant.console_env(TOKEN, Path(workdir) / "var")).start()
            with chromium() as browser:
                page = browser.new_page(viewport=VIEW, locale="zh-CN")
                page.goto(f"{console.url}/ops/")
                page.fill("#token", TOKEN)
                page.click("#login-form button[type=submit]")
                expect(page.locator("#kpi-conversations .value")).to_have_text(str(mix.EXPECTED["conversations"]))
                page.wait_for_timeout(1500)  # chart animations
                page.screenshot(path=str(out))
        finally:
            if console is not None:
                console.stop()
            assistant.stop()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "ops.png")
