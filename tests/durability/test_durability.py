"""Every acknowledged turn survives the faults of a working day under `make run` (issue 25), and the console and
在线人工 keep working after each. The count is always read from the database with every process stopped."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

from devtools.live_chat_clients import OPS_TOKEN
from devtools.servers import ROOT

RETRAIN_TIMEOUT_S = 900


def retrain(stack) -> None:
    """「重新训练并上线」 in the console: validate, train, hot-swap into the running Rasa server."""
    status, answer = stack.ops.call("POST", "retrain", OPS_TOKEN, {})
    assert status == 202, answer
    deadline = time.monotonic() + RETRAIN_TIMEOUT_S
    while (answer := stack.ops.ok("GET", "retrain", OPS_TOKEN))["state"] == "running":
        assert time.monotonic() < deadline, "the retrain did not finish"
        time.sleep(2)
    assert answer["state"] == "succeeded", answer


def test_console_retrains_and_hot_swaps_keep_every_turn(stack):
    """The sequence that lost 6 of 12 messages: a conversation, a retrain, another, the console reading it, two more
    with the action server writing live-chat rows between them; then a second retrain in a row."""
    stack.talk(1)
    retrain(stack)
    after_swap = stack.talk(1)
    stack.console_lists(after_swap[-1])
    stack.talk(2)
    stack.live_chat_works()
    stack.healthy()

    retrain(stack)
    stack.console_lists(stack.talk(2)[-1])
    stack.live_chat_works()
    stack.healthy()
    stack.assert_every_acknowledged_turn_stored()


def test_the_rasa_server_killed_between_messages_and_restarted(stack):
    sender = stack.talk(1)[0]
    stack.assistant.rasa_server.send_signal(signal.SIGKILL)
    stack.assistant.rasa_server.wait()
    stack.assistant.start_rasa_server()
    assert "提现" in stack.say(sender, "余额宝提现还是失败")  # the same conversation goes on
    stack.console_lists(stack.talk(2)[-1])
    stack.live_chat_works()
    stack.healthy()
    stack.assert_every_acknowledged_turn_stored()


def test_the_page_server_restarted(stack):
    stack.talk(1)
    stack.console.stop()
    stack.talk(1)  # customers on the REST channel do not need the page server
    stack.console.start()
    stack.console_lists(stack.talk(1)[-1])
    stack.live_chat_works()
    stack.healthy()
    stack.assert_every_acknowledged_turn_stored()


def test_purge_and_an_erasure_request_during_traffic(stack):
    old = _an_old_conversation(stack)
    to_erase = stack.talk(1)[0]
    erased_turns = [turn for turn in stack.acknowledged if turn[0] == to_erase]

    traffic_errors = []

    def customers_keep_talking() -> None:
        try:
            stack.talk(6)
        except AssertionError as error:
            traffic_errors.append(error)

    traffic = threading.Thread(target=customers_keep_talking)
    traffic.start()
    purge = subprocess.run([sys.executable, "-m", "common.erasure", "purge"], cwd=ROOT, env=stack.assistant.env(),
                           capture_output=True, text=True, timeout=120)  # what `make purge` runs
    request = urllib.request.Request(
        f"{stack.assistant.url}/webhooks/privacy/conversations/{to_erase}?token={stack.assistant.auth_token}",
        method="DELETE")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read())["deleted_events"] > 0
    traffic.join(timeout=300)
    assert not traffic_errors and not traffic.is_alive()
    assert purge.returncode == 0 and "deleted" in purge.stdout, purge.stderr

    for turn in erased_turns:  # erased on request: no longer expected, and gone
        stack.acknowledged.remove(turn)
    stack.console_lists(stack.talk(1)[-1])
    stack.live_chat_works()
    stack.healthy()
    stack.assert_every_acknowledged_turn_stored()
    stored = stack.stored_user_turns()
    assert not [turn for turn in stored if turn[0] in (old, to_erase)]


def _an_old_conversation(stack) -> str:
    """A conversation of 200 days ago (past RETENTION_DAYS' 180) for the purge to delete, written through SQLite."""
    sender = f"old-{uuid.uuid4().hex[:8]}"
    at = time.time() - 200 * 86400
    event = {"event": "user", "timestamp": at, "text": "去年的问题", "parse_data": {}}
    with sqlite3.connect(stack.assistant.tracker_db, timeout=10) as connection:
        connection.execute("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'user', ?, ?)",
                           (sender, at, json.dumps(event, ensure_ascii=False)))
    return sender
