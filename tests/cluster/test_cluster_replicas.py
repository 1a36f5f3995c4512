"""Two replicas behind nginx share every conversation: context, one turn at a time, one token."""

from __future__ import annotations

import asyncio
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import List

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered

from devtools.cluster import request_json
from devtools.servers import ROOT
from rasa_server.tracker_store import TunedSQLTrackerStore
from tests.cluster.conftest import new_sender, reply_text, say, user_turns


def test_every_replica_answers_the_api_with_the_one_token_and_only_with_it(cluster):
    for replica in range(cluster.replicas):
        status, _ = request_json(f"{cluster.replica_url(replica)}/status?token={cluster.auth_token}")
        assert status == 200
        status, _ = request_json(f"{cluster.replica_url(replica)}/status")
        assert status == 401
    # nginx publishes the chat, not Rasa's HTTP API.
    status, _ = request_json(f"{cluster.url}/status?token={cluster.auth_token}")
    assert status == 404


def test_page_and_rest_webhook_both_work_at_the_nginx_address_alone(cluster):
    with urllib.request.urlopen(f"{cluster.url}/", timeout=10) as response:
        page = response.read().decode()
        policy = response.headers["Content-Security-Policy"]
        cookie = response.headers["Set-Cookie"]
    assert "在线客服" in page
    assert f"ws://127.0.0.1:{cluster.web_port}" in policy  # socket.io on the page's own origin
    assert cookie.startswith("cs_route=")  # what keeps a browser's socket.io requests on one replica
    with urllib.request.urlopen(f"{cluster.url}/config.js", timeout=10) as response:
        assert f'"socketUrl": "http://127.0.0.1:{cluster.web_port}"' in response.read().decode()
    assert "400-100-3399" in say(cluster, new_sender(), "天星金融的客服电话是多少")


def test_context_carries_over_whichever_replica_takes_the_next_turn(cluster):
    sender = new_sender()
    say(cluster, sender, "我的小米贷款还款失败了", replica=0)
    assert "400-100-3399" in say(cluster, sender, "那客服电话是多少", replica=1)
    say(cluster, sender, "手机屏幕摔碎了怎么修", replica=1)
    assert "400-100-5678" in say(cluster, sender, "转人工", replica=0)
    say(cluster, sender, "花呗还不上了", replica=0)
    assert "95188" in say(cluster, sender, "客服电话多少", replica=1)


def test_one_conversation_flooded_from_both_replicas_is_stored_one_whole_turn_at_a_time(cluster):
    sender = new_sender()
    questions = ["我的小米贷款还款失败了", "账户被锁了怎么办", "被重复扣款了", "手机屏幕摔碎了怎么修"]
    messages = [f"{questions[i % len(questions)]}（第{i + 1}次）" for i in range(24)]

    def send(i: int):
        return cluster.say(sender, messages[i], replica=i % 2, timeout=120)

    with ThreadPoolExecutor(max_workers=len(messages)) as pool:
        results = list(pool.map(send, range(len(messages))))
    assert [status for status, _ in results] == [200] * len(messages)

    events = cluster.stored_events(sender)
    turns = user_turns(events)
    # Every message stored exactly once, each followed by its own whole answer before the next one began:
    assert sorted(text for text, _ in turns) == sorted(messages)
    answered = {text: "\n".join(bot) for text, bot in turns}
    for message, (_, replies) in zip(messages, results, strict=True):
        assert answered[message] == reply_text(replies), message
    user_positions = [i for i, event in enumerate(events) if event["event"] == "user"]
    for start, end in zip(user_positions, user_positions[1:] + [len(events)], strict=True):
        turn = events[start:end]
        assert turn[-1]["event"] == "action" and turn[-1]["name"] == "action_listen", turn
    timestamps = [event["timestamp"] for event in events]
    assert timestamps == sorted(timestamps)


def test_a_tracker_kept_in_memory_is_never_served_after_another_replica_wrote(cluster):
    """Two tracker stores on the cluster's PostgreSQL, as two replicas: each keeps trackers between turns."""
    domain = Domain.load(str(ROOT / "domain.yml"))
    password = (cluster.state_dir / "postgres-password").read_text().strip()

    def store() -> TunedSQLTrackerStore:
        return TunedSQLTrackerStore(domain=domain, dialect="postgresql", host=f"127.0.0.1:{cluster.pg_port}",
                                    db="rasa", username="rasa", password=password)

    async def talk() -> List[str]:
        first, second = store(), store()
        sender = new_sender()
        tracker = await first.get_or_create_tracker(sender)
        tracker.update(UserUttered("在第一个副本", {"name": "greet", "confidence": 1.0}))
        await first.save(tracker)
        kept_by_first = await first.retrieve(sender)
        assert await first.retrieve(sender) is kept_by_first  # kept between turns

        tracker = await second.retrieve(sender)
        tracker.update(UserUttered("在第二个副本", {"name": "greet", "confidence": 1.0}))
        await second.save(tracker)

        latest = await first.retrieve(sender)
        assert latest is not kept_by_first
        return [event.text for event in latest.events if isinstance(event, UserUttered)]

    assert asyncio.run(talk()) == ["在第一个副本", "在第二个副本"]
