"""Set-up and checks shared by the browser tests (and scripts/webchat_screenshot.py)."""

from __future__ import annotations

import os
import re
import shutil
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
