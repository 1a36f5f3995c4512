"""The knowledge editor under `make cluster`: customers keep asking both replicas (whose actions nginx spreads
over both action servers) while an operator publishes a new answer through the page server; within 10 s
every replica and action server answers with it, no restart, every message answered once and without error;
a rollback is served the same way."""

from __future__ import annotations

import threading
import time
import uuid
from typing import List, Tuple

from devtools.cluster import Cluster
from devtools.live_chat_clients import OPS_TOKEN, Ops
from tests.cluster.conftest import reply_text

QUESTION = "/withdrawal_failure"
NEW = "集群新版：提现失败先核对银行卡，再看当天额度。"
WITHIN_S = 10
IN_A_ROW = 6  # answers in a row with the new text, from each replica: both action servers have it


class Load(threading.Thread):
    """A customer asking one replica again and again: (replica, status, reply texts, sent at)."""

    def __init__(self, cluster: Cluster, replica: int, results: List[Tuple[int, int, List[str], float]]):
        super().__init__(daemon=True)
        self.cluster, self.replica, self.results = cluster, replica, results
        self.running = True

    def run(self) -> None:
        sender = f"cluster-knowledge-{uuid.uuid4().hex[:10]}"
        while self.running:
            sent = time.monotonic()
            status, replies = self.cluster.say(sender, QUESTION, replica=self.replica)
            texts = [reply.get("text") or "" for reply in replies] if status == 200 else [str(replies)]
            self.results.append((self.replica, status, texts, sent))


def seconds_until_everyone_answers(cluster: Cluster, expected: str, since: float) -> float:
    """Seconds from `since` until IN_A_ROW new customers in a row on every replica got `expected`."""
    for replica in range(cluster.replicas):
        streak = 0
        while streak < IN_A_ROW:
            assert time.monotonic() - since < 60, f"replica {replica} still not answering {expected!r}"
            streak = streak + 1 if expected in reply_text(cluster.say(f"probe-{uuid.uuid4().hex[:10]}", QUESTION,
                                                                      replica=replica)[1]) else 0
    return time.monotonic() - since


def test_a_publish_and_a_rollback_reach_every_replica_within_10_s_under_load(cluster):
    ops = Ops(cluster.url)
    before = next(t for t in ops.ok("GET", "knowledge", OPS_TOKEN)["topics"] if t["intent"] == "withdrawal_failure")
    results: List[Tuple[int, int, List[str], float]] = []
    load = [Load(cluster, replica, results) for replica in range(cluster.replicas) for _ in range(2)]
    for thread in load:
        thread.start()
    try:
        ops.ok("PUT", "knowledge/topics/withdrawal_failure", OPS_TOKEN, {"answer": NEW})
        time.sleep(4)
        assert not any(NEW in "".join(texts) for _, _, texts, _ in results), "a draft reached a customer"
        published_at = time.monotonic()
        version = ops.ok("POST", "knowledge/publish", OPS_TOKEN, {"note": "集群发布测试"})["version"]
        assert seconds_until_everyone_answers(cluster, NEW, published_at) < WITHIN_S

        rolled_at = time.monotonic()
        ops.ok("POST", "knowledge/rollback", OPS_TOKEN, {"version": version - 1})
        assert seconds_until_everyone_answers(cluster, before["answer"].splitlines()[0], rolled_at) < WITHIN_S
    finally:
        for thread in load:
            thread.running = False
        for thread in load:
            thread.join(60)
    assert len(results) > 20
    for replica, status, texts, _ in results:  # each message answered once, old or new text, no error
        answers = [text for text in texts if text]
        assert status == 200 and len(answers) == 1, (replica, status, texts)
        assert NEW in answers[0] or before["answer"].splitlines()[0] in answers[0], answers
    assert {replica for replica, *_ in results} == set(range(cluster.replicas))
