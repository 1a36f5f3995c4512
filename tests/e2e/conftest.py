"""Browser tests of the 「在线客服」 page: Debian's chromium driven by Playwright, against the real page
server (`python -m web.server`), Rasa server and action server, each on a free port.

Screenshots go to results/screenshots/ (git-ignored).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from devtools.browser import CHROMIUM, CHROMIUM_FLAGS, PageProblems, watch
from devtools.servers import ROOT, Assistant, PageServer, free_port
from tests.conftest import page_assistant

WIDGET_JS = ROOT / "node_modules" / "rasa-webchat" / "lib" / "index.js"
REPLY_TIMEOUT_MS = 30_000

expect.set_options(timeout=REPLY_TIMEOUT_MS)


@pytest.fixture(scope="session")
def e2e_workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def web_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def assistant(e2e_workdir, web_port) -> Iterator[Assistant]:
    with page_assistant(e2e_workdir / "assistant", web_port) as server:
        yield server


@pytest.fixture(scope="session")
def page_server(assistant, e2e_workdir, web_port) -> Iterator[PageServer]:
    if not WIDGET_JS.exists():
        pytest.fail(f"{WIDGET_JS} is missing: run `npm ci` (make test does)")
    with PageServer(e2e_workdir, assistant.rasa_port, "web-server", port=web_port) as server:
        yield server


@pytest.fixture(scope="session")
def dead_page_server(e2e_workdir) -> Iterator[PageServer]:
    """The page, pointed at a Rasa port where nothing listens."""
    with PageServer(e2e_workdir, free_port(), "web-server-dead") as server:
        yield server


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright) -> Iterator[Browser]:
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        pytest.fail(f"{CHROMIUM} not found: run `make browser-deps` (make test does)")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def context(browser) -> Iterator[BrowserContext]:
    """A fresh browser profile: empty localStorage, so a new chat session."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def page(context, problems) -> Page:
    page = context.new_page()
    watch(page, problems)
    return page
