"""The console's retrain and hot-swap under `make cluster` (PostgreSQL, two replicas): every turn acknowledged
before, during and after it is stored. Issue 25 found the SQLite store of `make run` losing such turns
(tests/durability); PostgreSQL has no such files, and this proves it on the real servers."""

from __future__ import annotations

import time
from collections import Counter
from typing import List, Tuple

from devtools.live_chat_clients import OPS_TOKEN, Ops
from tests.cluster.conftest import new_sender, say, user_turns

TURNS = ("余额宝提现一直失败怎么办", "还是不行")
RETRAIN_TIMEOUT_S = 900


def test_a_console_retrain_under_traffic_keeps_every_turn_on_both_replicas(cluster):
    ops = Ops(cluster.url)
    acknowledged: List[Tuple[str, str]] = []

    def conversation() -> str:
        sender = new_sender()
        for text in TURNS:
            say(cluster, sender, text)  # through nginx: either replica
            acknowledged.append((sender, text))
        return sender

    conversation()
    status, answer = ops.call("POST", "retrain", OPS_TOKEN, {})
    assert status == 202, answer
    deadline = time.monotonic() + RETRAIN_TIMEOUT_S
    while (answer := ops.ok("GET", "retrain", OPS_TOKEN))["state"] == "running":  # customers go on meanwhile
        assert time.monotonic() < deadline, "the retrain did not finish"
        conversation()
        time.sleep(1)
    assert answer["state"] == "succeeded", answer
    assert [server["ok"] for server in answer["servers"]] == [True, True]  # both replicas swapped
    last = [conversation() for _ in range(3)][-1]
    assert last in {row["id"] for row in ops.ok("GET", "conversations", OPS_TOKEN)["conversations"]}

    for replica in (0, 1):  # what PostgreSQL holds, read through each replica
        stored = Counter((sender, text) for sender in {sender for sender, _ in acknowledged}
                         for text, _ in user_turns(cluster.stored_events(sender, replica=replica)))
        assert stored == Counter(acknowledged), f"replica {replica}: {Counter(acknowledged) - stored} lost"
