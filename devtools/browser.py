"""Set-up and checks shared by the browser tests (and scripts/webchat_screenshot.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List

from playwright.sync_api import Browser, Page, sync_playwright

from devtools.servers import ROOT

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "results" / "screenshots"
# The widget's stylesheet @imports Google Fonts; the page's CSP blocks that on purpose.
EXPECTED_BLOCKED = re.compile(r"^https://fonts\.googleapis\.com/")


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's chromium, headless, driven by Playwright (the browser tests that need no shared session)."""
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        raise RuntimeError(f"{CHROMIUM} not found: run `make browser-deps` (make test does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageProblems:
    """What went wrong in the page, other than the Google Fonts import the CSP blocks on purpose."""

    errors: List[str] = field(default_factory=list)
    csp_violations: List[str] = field(default_factory=list)
    foreign_requests: List[str] = field(default_factory=list)


def watch(page: Page, problems: PageProblems) -> None:
    page.on("pageerror", lambda error: problems.errors.append(str(error)))

    def on_console(message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            if "fonts.googleapis.com" not in message.text:
                problems.csp_violations.append(message.text)

    def on_request(request) -> None:
        host = re.sub(r"^[a-z]+://([^/:]+).*$", r"\1", request.url)
        if request.url.startswith(("http", "ws")) and host not in ("127.0.0.1", "localhost"):
            if not EXPECTED_BLOCKED.match(request.url):
                problems.foreign_requests.append(request.url)

    page.on("console", on_console)
    page.on("request", on_request)


def console_page(browser: Browser, problems: PageProblems) -> Page:
    """A desktop-sized page in a context of its own (its own cookies and session), watched for problems."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    watch(page, problems)
    return page


class SocketMessages:
    """The socket.io messages a page receives over its websocket, decoded (to act the moment one arrives,
    before the page has shown it)."""

    def __init__(self, page: Page):
        self.page = page
        self.received: List[str] = []
        page.on("websocket", lambda socket: socket.on("framereceived", self._on_frame))

    def _on_frame(self, payload) -> None:
        packet = re.match(r"^\d+(.*)$", payload if isinstance(payload, str) else "", re.S)
        if packet and packet.group(1):
            try:
                self.received.append(json.dumps(json.loads(packet.group(1)), ensure_ascii=False))
            except ValueError:
                pass

    def wait_for(self, fragment: str, timeout_s: float = 15.0) -> None:
        """Returns as soon as a received message contains fragment (polling every 10 ms)."""
        deadline = time.monotonic() + timeout_s
        while not any(fragment in message for message in self.received):
            if time.monotonic() > deadline:
                raise AssertionError(f"no socket message with {fragment!r} in {timeout_s} s")
            self.page.wait_for_timeout(10)


def log_in(page: Page, url: str, token: str) -> None:
    """Opens the console at url and logs in with the token (an operator's or an agent's)."""
    page.goto(f"{url}/ops/")
    page.fill("#token", token)
    page.click("#login-form button[type=submit]")


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
