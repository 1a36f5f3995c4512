"""The operator console's tests: one real assistant (action server + Rasa server, own SQLite tracker
store) that receives the known mix (devtools/conversation_mix.py), and the real page server with the console,
reading that store and allowed to retrain into temporary copies of the data and the model.

Order matters inside this folder: test_api.py reads the live counts before test_browser.py labels,
retrains and talks to the new model. test_counting.py reads a copy of the database taken right
after the mix, so it does not depend on the order.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Dict, Iterator

import pytest

from devtools import conversation_mix as mix
from devtools.browser import chromium
from devtools.servers import ROOT, Assistant, PageServer

TOKEN = "ops-test-token-0123"


@pytest.fixture(scope="session")
def ops_workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ops")


@pytest.fixture(scope="session")
def assistant(ops_workdir) -> Iterator[Assistant]:
    source = ROOT / "models" / "cs-assistant.tar.gz"
    if not source.exists():
        pytest.fail("no trained model: run `make train` (make test does)")
    # The console replaces the served model after a retrain: give it a copy, not the repository's.
    model = ops_workdir / "models" / "cs-assistant.tar.gz"
    model.parent.mkdir()
    shutil.copy2(source, model)
    with Assistant(workdir=ops_workdir / "assistant", model=model) as server:
        yield server


@pytest.fixture(scope="session")
def senders(assistant, ops_workdir) -> Dict[str, str]:
    """The mix, sent once: conversation name -> sender id. The database is copied right after it."""
    sent = mix.send(assistant.url)
    with sqlite3.connect(assistant.tracker_db) as source, sqlite3.connect(ops_workdir / "after-mix.db") as target:
        source.backup(target)  # SQLite's online backup
    return sent


@pytest.fixture(scope="session")
def mix_database(senders, ops_workdir) -> Path:
    """The tracker database as the mix left it, whatever later tests add to the live one."""
    return ops_workdir / "after-mix.db"


@pytest.fixture(scope="session")
def training_data(ops_workdir) -> Path:
    """A copy of data/: labels and retraining must not touch the repository's training data."""
    copy = ops_workdir / "data"
    shutil.copytree(ROOT / "data", copy)
    return copy


@pytest.fixture(scope="session")
def console(assistant, senders, ops_workdir, training_data) -> Iterator[PageServer]:
    env = {**assistant.console_env(TOKEN, ops_workdir / "var"), "OPS_TRAINING_DATA": str(training_data)}
    with PageServer(ops_workdir, assistant.rasa_port, "console", extra_env=env) as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    try:
        yield context.new_page()
    finally:
        context.close()
