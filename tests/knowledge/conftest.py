"""The knowledge editor's tests: one real assistant (action server + Rasa server, own SQLite tracker store) and
the real page server with the console, on a copy of the training data (publishing new phrasings writes there).
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from devtools.browser import chromium
from devtools.servers import NO_RATE_LIMITS, ROOT, Assistant, PageServer, free_port
from tests.ops.test_api import call as console_call

TOKEN = "knowledge-test-token-0123"


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("knowledge")


@pytest.fixture(scope="session")
def web_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def assistant(workdir, web_port) -> Iterator[Assistant]:
    source = ROOT / "models" / "cs-assistant.tar.gz"
    if not source.exists():
        pytest.fail("no trained model: run `make train` (make test does)")
    # Publishing new phrasings retrains and replaces the served model: give it a copy, not the repository's.
    model = workdir / "models" / "cs-assistant.tar.gz"
    model.parent.mkdir()
    shutil.copy2(source, model)
    # Rasa's socket.io channel accepts the chat page of the console's page server (credentials.yml).
    origins = f"http://127.0.0.1:{web_port},http://localhost:{web_port}"
    with Assistant(workdir=workdir / "assistant", model=model, web_origin=origins,
                   extra_env=dict(NO_RATE_LIMITS)) as server:
        yield server


@pytest.fixture(scope="session")
def training_data(workdir) -> Path:
    copy = workdir / "data"
    shutil.copytree(ROOT / "data", copy)
    return copy


@pytest.fixture(scope="session")
def console(assistant, workdir, training_data, web_port) -> Iterator[PageServer]:
    env = {**assistant.console_env(TOKEN, workdir / "var"), "OPS_TRAINING_DATA": str(training_data)}
    with PageServer(workdir, assistant.rasa_port, "console", port=web_port, extra_env=env) as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    with chromium() as launched:
        yield launched


def call(console, path: str, token: Optional[str] = TOKEN, body: Any = None,
         method: Optional[str] = None) -> Tuple[int, Any]:
    """A console API call: (status, the JSON answer, or the text when it is not JSON)."""
    status, text = console_call(console, path, token=token, body=body, method=method)
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def customer_says(assistant, sender: str, text: str) -> List[Dict[str, Any]]:
    """A customer's message on Rasa's REST channel; the bot's replies."""
    request = urllib.request.Request(f"{assistant.url}/webhooks/rest/webhook",
                                     data=json.dumps({"sender": sender, "message": text}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def topic(console, intent: str) -> Dict[str, Any]:
    status, body = call(console, "knowledge")
    assert status == 200, body
    return next(t for t in body["topics"] if t["intent"] == intent)
