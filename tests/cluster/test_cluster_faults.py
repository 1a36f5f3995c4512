"""Faults under load, through nginx: a Rasa replica SIGKILLed, an action server killed, PostgreSQL
stopped and started again. Every conversation goes on; nothing stored is lost or duplicated; nobody
gets silence or a 500."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import List, Tuple

from devtools.servers import pid_listening_on
from rasa_server.channels import outage_reply
from tests.cluster.conftest import new_sender, reply_text, say, user_turns

# Each conversation's script: context (the product) must carry from one turn to the next.
SCRIPT: List[Tuple[str, str]] = [
    ("我的小米贷款还款失败了", ""),
    ("那客服电话是多少", "400-100-3399"),
    ("手机屏幕摔碎了怎么修", ""),
    ("转人工", "400-100-5678"),
    ("花呗还不上了", ""),
    ("客服电话多少", "95188"),
]


@dataclass
class Tally:
    retried: int = 0
    failed_once: List[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def talk_with_retries(cluster, sender: str, tally: Tally, pause: float = 0.0) -> List[str]:
    """Runs SCRIPT; a turn whose request fails is sent again with the same message id (up to 3 tries)."""
    answers = []
    for text, _ in SCRIPT:
        message_id = uuid.uuid4().hex
        for _attempt in range(3):
            status, replies = cluster.say(sender, text, metadata={"message_id": message_id}, timeout=60)
            if status == 200 and replies:
                answers.append(reply_text(replies))
                break
            with tally.lock:
                tally.retried += 1
                tally.failed_once.append(f"{sender} {text}: {status}")
            time.sleep(1)
        else:
            raise AssertionError(f"{sender}: {text!r} failed three times")
        time.sleep(pause)
    return answers


def check_stored_once_each_in_order(cluster, sender: str) -> None:
    stored = [text for text, _ in user_turns(cluster.stored_events(sender, replica=1))]
    assert stored == [text for text, _ in SCRIPT], f"{sender}: stored {stored}"


def test_a_replica_killed_under_load_loses_and_duplicates_no_turn(cluster):
    senders = [new_sender() for _ in range(8)]
    tally = Tally()
    with ThreadPoolExecutor(max_workers=len(senders)) as pool:
        futures = [pool.submit(talk_with_retries, cluster, sender, tally, 0.3) for sender in senders]
        time.sleep(3)  # conversations in full flow on both replicas
        killed = cluster.kill_replica(0)
        answers = [future.result() for future in futures]

    for sender, conversation in zip(senders, answers, strict=True):
        for (text, expected), answer in zip(SCRIPT, conversation, strict=True):
            assert expected in answer, f"{sender}: {text!r} -> {answer!r}"
            assert outage_reply() not in answer
        check_stored_once_each_in_order(cluster, sender)
    print(f"\nreplica 0 (pid {killed}) SIGKILLed: {len(senders) * len(SCRIPT)} turns, "
          f"{tally.retried} retried, 0 lost, 0 duplicated: {tally.failed_once}")
    # make cluster starts the killed replica again.
    cluster.wait_replica_up(0, timeout=300)
    assert cluster.rasa_pid(0) != killed


def test_an_action_server_killed_leaves_the_answers_to_the_other_one(cluster):
    pid = pid_listening_on(cluster.action_port(0))
    os.kill(pid, signal.SIGKILL)
    for replica in range(cluster.replicas):
        sender = new_sender()
        say(cluster, sender, "我的小米贷款还款失败了", replica=replica)
        assert "400-100-3399" in say(cluster, sender, "那客服电话是多少", replica=replica)


def test_postgresql_down_and_back_under_load_apologies_then_answers_without_restarting_rasa(cluster):
    replicas_before = [cluster.rasa_pid(i) for i in range(cluster.replicas)]
    stop = threading.Event()
    results: List[Tuple[float, int, str]] = []

    def keep_talking() -> None:
        sender = new_sender()
        while not stop.is_set():
            for text, _ in SCRIPT:
                sent = time.monotonic()
                status, replies = cluster.say(sender, text, timeout=60)
                results.append((sent, status, reply_text(replies) if status == 200 else str(replies)))

    threads = [threading.Thread(target=keep_talking) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    cluster.postgres("stop")
    down_from = time.monotonic()
    time.sleep(6)
    down_until = time.monotonic()
    cluster.postgres("start")
    time.sleep(3)
    stop.set()
    for thread in threads:
        thread.join()

    assert all(status == 200 and text for _, status, text in results), \
        [result for result in results if result[1] != 200 or not result[2]]
    # Sent well inside the gap (a message is answered within a second or two here):
    during_gap = [text for sent, _, text in results if down_from + 0.5 < sent < down_until - 2.5]
    assert during_gap and all(outage_reply() in text for text in during_gap)
    print(f"\nPostgreSQL stopped for 6 s under load: {len(results)} messages, {len(during_gap)} sent during the gap, "
          f"{sum(outage_reply() in text for _, _, text in results)} answered with the apology, none with an error")
    # The replicas recover by themselves: the same processes answer with context again.
    for replica in range(cluster.replicas):
        sender = new_sender()
        deadline = time.monotonic() + 30
        while outage_reply() in say(cluster, sender, "我的小米贷款还款失败了", replica=replica):
            assert time.monotonic() < deadline, f"replica {replica} did not recover"
            time.sleep(1)
        assert "400-100-3399" in say(cluster, sender, "那客服电话是多少", replica=replica)
    assert [cluster.rasa_pid(i) for i in range(cluster.replicas)] == replicas_before
