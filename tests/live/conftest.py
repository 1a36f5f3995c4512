"""Live chat (在线人工) tests: one real assistant (action server + Rasa server, own SQLite tracker store) and
the real page server with the console and the agents' API, reading and writing the same database, as
`make run` starts them. Customers are socket.io clients (devtools/live_chat_clients.py) or Chromium on the chat page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from devtools.browser import chromium
from devtools.live_chat_clients import OPS_TOKEN, Ops
from devtools.servers import NO_RATE_LIMITS, Assistant, PageServer, free_port
from tests.conftest import page_assistant


@pytest.fixture(scope="session")
def live_workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("live")


@pytest.fixture(scope="session")
def web_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def assistant(live_workdir, web_port) -> Iterator[Assistant]:
    with page_assistant(live_workdir / "assistant", web_port, extra_env=dict(NO_RATE_LIMITS)) as server:
        yield server


@pytest.fixture(scope="session")
def console(assistant, live_workdir, web_port) -> Iterator[PageServer]:
    env = assistant.console_env(OPS_TOKEN, live_workdir / "var")
    with PageServer(live_workdir, assistant.rasa_port, "console", port=web_port, extra_env=env) as server:
        yield server


@pytest.fixture
def ops(console) -> Iterator[Ops]:
    """The API; the agents a test created go offline after it, so the next test starts with nobody online."""
    client = Ops(console.url)
    yield client
    for token in client.agent_tokens:
        client.call("POST", "agent/status", token, {"online": False})


@pytest.fixture(scope="session")
def browser():
    with chromium() as launched:
        yield launched
