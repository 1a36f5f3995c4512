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
from devtools.servers import NO_RATE_LIMITS, ROOT, Assistant, PageServer, free_port


@pytest.fixture(scope="session")
def live_workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("live")


@pytest.fixture(scope="session")
def web_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def assistant(live_workdir, web_port) -> Iterator[Assistant]:
    model = ROOT / "models" / "cs-assistant.tar.gz"
    if not model.exists():
        pytest.fail("no trained model: run `make train` (make test does)")
    origins = f"http://127.0.0.1:{web_port},http://localhost:{web_port}"
    server = Assistant(workdir=live_workdir / "assistant", model=model, web_origin=origins,
                       extra_env=dict(NO_RATE_LIMITS))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def console(assistant, live_workdir, web_port) -> Iterator[PageServer]:
    env = {
        "OPS_TOKEN": OPS_TOKEN,
        "OPS_STATE_DIR": str(live_workdir / "var"),
        "RASA_URLS": assistant.url,
        "RASA_AUTH_TOKEN": assistant.auth_token,
        **{key: assistant.env()[key] for key in ("TRACKER_DB_DIALECT", "TRACKER_DB", "TRACKER_DB_HOST")},
    }
    server = PageServer(live_workdir, assistant.rasa_port, "console", port=web_port, extra_env=env)
    try:
        yield server.start()
    finally:
        server.stop()


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
