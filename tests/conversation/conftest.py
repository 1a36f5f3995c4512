"""Conversation tests against the real Rasa server and action server, over the REST webhook."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, List

import pytest
import sqlalchemy as sa

from common.conversation import ANSWER_TOPIC_KEY
from common.tracker_db import engine_from_env
from devtools.servers import NO_RATE_LIMITS, Assistant
from tests.conftest import ROOT, assert_only_official_numbers


@pytest.fixture(scope="session")
def assistant(tmp_path_factory):
    model = ROOT / "models" / "cs-assistant.tar.gz"
    if not model.exists():
        pytest.fail("no trained model: run `make train` (make test does)")
    # The suite talks from one address, faster than any person (one test sends 42 messages in a row):
    # no rate limits here. test_limits.py checks them with their defaults, on a server of its own.
    server = Assistant(workdir=tmp_path_factory.mktemp("assistant"), model=model, extra_env=dict(NO_RATE_LIMITS))
    try:
        server.start()
        yield server
    finally:
        server.stop()


def post_json(url: str, payload: Dict[str, Any], timeout: float = 30) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def raw_rows(server: Assistant, sender: str) -> List[str]:
    """Every stored event of a conversation, straight from the tracker database the server uses
    (SQLite by default; PostgreSQL when the server is configured for it)."""
    engine = engine_from_env(server.env())
    try:
        with engine.connect() as connection:
            return [data for (data,) in connection.execute(
                sa.text("SELECT data FROM events WHERE sender_id = :sender ORDER BY id"), {"sender": sender})]
    finally:
        engine.dispose()


class Conversation:
    """One user talking to the assistant; every reply is checked for invented numbers."""

    def __init__(self, server: Assistant):
        self.server = server
        self.sender = f"test-{uuid.uuid4().hex[:12]}"

    def say(self, text: str) -> List[Dict[str, Any]]:
        status, replies = post_json(
            f"{self.server.url}/webhooks/rest/webhook", {"sender": self.sender, "message": text}
        )
        assert status == 200, f"{status}: {replies}"
        assert replies, f"no reply to {text!r}"
        for reply in replies:
            assert_only_official_numbers(reply.get("text", ""))
        return replies

    def raw_rows(self) -> List[str]:
        """The conversation's rows as the database holds them (the data column, read with SQL)."""
        return raw_rows(self.server, self.sender)

    def text(self, message: str) -> str:
        return "\n".join(reply.get("text", "") for reply in self.say(message))

    def latest_intent(self) -> str:
        """The intent the assistant understood in the user's latest message."""
        said = [event for event in self.stored_events() if event["event"] == "user"]
        return said[-1]["parse_data"]["intent"]["name"]

    def answered_topics(self) -> List[str]:
        """The topics the assistant's replies to the latest message answered (a 猜你想问 answer's too: its message
        is read as nlu_fallback, its answer is about the topic)."""
        events = self.stored_events()
        latest = max(i for i, event in enumerate(events) if event["event"] == "user")
        return [event["metadata"][ANSWER_TOPIC_KEY] for event in events[latest:]
                if event["event"] == "bot" and (event.get("metadata") or {}).get(ANSWER_TOPIC_KEY)]

    def stored_events(self) -> List[Dict[str, Any]]:
        """The conversation's events as the tracker store holds them (HTTP API, with the token)."""
        url = f"{self.server.url}/conversations/{self.sender}/tracker?token={self.server.auth_token}"
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.loads(response.read())["events"]


@pytest.fixture
def conversation(assistant) -> Conversation:
    return Conversation(assistant)
