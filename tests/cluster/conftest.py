"""The real `make cluster` (2 Rasa replicas, 2 action servers, PostgreSQL, Redis, nginx), started once
for the cluster tests on free ports with its own state directory, and stopped with SIGTERM at the end."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from devtools.cluster import Cluster
from devtools.live_chat_clients import OPS_TOKEN
from devtools.servers import NO_RATE_LIMITS, ROOT, pid_listening_on
from tests.conftest import assert_only_official_numbers


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    if not (ROOT / "models" / "cs-assistant.tar.gz").exists():
        pytest.fail("no trained model: run `make train` (make test does)")
    # Not under pytest's temporary directory: another pytest session of the same user may prune that
    # while the cluster's PostgreSQL still runs in it. Kept (logs, database) when something fails.
    workdir = Path(tempfile.mkdtemp(prefix="cs-cluster-test-"))
    # The console's retrain (test_cluster_retrain.py) replaces the served model and may write training data:
    # copies, not the repository's.
    model = workdir / "models" / "cs-assistant.tar.gz"
    model.parent.mkdir()
    shutil.copy2(ROOT / "models" / "cs-assistant.tar.gz", model)
    shutil.copytree(ROOT / "data", workdir / "data")
    cluster = Cluster(workdir=workdir, extra_env={**NO_RATE_LIMITS, "OPS_TOKEN": OPS_TOKEN, "MODEL": str(model),
                                                  "OPS_TRAINING_DATA": str(workdir / "data")})
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
    # Ctrl-C / SIGTERM stops everything `make cluster` started.
    still_listening = [port for port in cluster.ports() if pid_listening_on(port) is not None]
    assert not still_listening, f"still listening after make cluster stopped: {still_listening}"
    shutil.rmtree(cluster.workdir)


def new_sender() -> str:
    return f"cluster-{uuid.uuid4().hex[:12]}"


def reply_text(replies: Any) -> str:
    return "\n".join(reply.get("text", "") for reply in replies)


def say(cluster: Cluster, sender: str, text: str, **where: Any) -> str:
    """One turn that must succeed; returns the reply text (checked for invented numbers)."""
    status, replies = cluster.say(sender, text, **where)
    assert status == 200, f"{status}: {replies}"
    assert replies, f"no reply to {text!r}"
    answer = reply_text(replies)
    assert_only_official_numbers(answer)
    return answer


def user_turns(events: List[Dict[str, Any]]) -> List[Tuple[str, List[str]]]:
    """(user text, bot texts that followed it) for every stored user message, in stored order."""
    turns: List[Tuple[str, List[str]]] = []
    for event in events:
        if event["event"] == "user":
            turns.append((event.get("text") or "", []))
        elif event["event"] == "bot" and turns:
            turns[-1][1].append(event.get("text") or "")
    return turns
