"""The chat page in headless Chromium through nginx: the replica holding its socket dies between two
questions, the page reconnects by itself to another replica, and the second answer still knows the
product of the first."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from typing import Iterator, List

import pytest
from playwright.sync_api import Browser, Page, expect

from devtools.browser import PageProblems, chromium, screenshot, watch
from devtools.cluster import Cluster
from tests.e2e.test_webchat import Chat, assert_page_clean


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


def replica_holding(cluster: Cluster, socket_ids: List[str]) -> int:
    """The replica that knows the page's socket.io session (the others answer "Invalid session")."""
    holders = []
    for replica in range(cluster.replicas):
        url = f"{cluster.replica_url(replica)}/socket.io/?EIO=4&transport=polling&sid={socket_ids[-1]}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                body = response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            body = error.read().decode(errors="replace")
        except TimeoutError:  # a long poll held open: this replica has the session
            body = ""
        except urllib.error.URLError as error:
            if not isinstance(error.reason, TimeoutError):
                continue  # refused: the replica is down
            body = ""
        if "Invalid session" not in body:
            holders.append(replica)
    assert len(holders) == 1, f"socket {socket_ids[-1]} on replicas {holders}"
    return holders[0]


def test_page_reconnects_to_another_replica_and_keeps_the_conversation(cluster, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page: Page = context.new_page()
    problems = PageProblems()
    watch(page, problems)
    socket_ids: List[str] = []
    page.on("websocket", lambda ws: socket_ids.extend(re.findall(r"[?&]sid=([^&]+)", ws.url)))
    try:
        chat = Chat(page).open(f"http://localhost:{cluster.web_port}/")
        chat.wait_for_greeting()
        chat.say("我的小米贷款还款失败了")
        chat.expect_reply("还款")
        assert socket_ids, "the page did not upgrade to a websocket"

        holder = replica_holding(cluster, socket_ids)
        sockets_before = len(socket_ids)
        killed = cluster.kill_replica(holder)
        deadline = time.monotonic() + 60
        while len(socket_ids) == sockets_before:  # the page opens a new socket by itself
            assert time.monotonic() < deadline, "the page did not reconnect"
            page.wait_for_timeout(200)
        assert replica_holding(cluster, socket_ids) != holder
        expect(page.locator("#status")).to_have_attribute("data-state", "online", timeout=60_000)

        chat.say("那客服电话是多少")
        chat.expect_reply("400-100-3399")
        screenshot(page, "cluster-reconnected")
        assert cluster.rasa_pid(holder) != killed
        errors = [error for error in problems.errors if "websocket" not in error.lower()]
        assert_page_clean(PageProblems(errors=errors, csp_violations=problems.csp_violations,
                                       foreign_requests=problems.foreign_requests))
    finally:
        context.close()
    cluster.wait_replica_up(holder, timeout=300)
