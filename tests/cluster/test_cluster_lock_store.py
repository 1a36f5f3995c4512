"""The Redis conversation lock (rasa_server/lock_store.py) against a real redis-server: two lock stores
stand for two replicas."""

from __future__ import annotations

import asyncio
import subprocess
import time
from typing import Iterator, List

import pytest

from devtools.servers import free_port
from rasa_server.lock_store import RedisTurnLockStore


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    port = free_port()
    log = open(tmp_path_factory.mktemp("redis") / "redis.log", "ab")  # noqa: SIM115
    server = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                               "--appendonly", "no"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout != b"PONG\n":
            assert time.monotonic() < deadline and server.poll() is None, "redis-server did not start"
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/1"
    finally:
        server.terminate()
        server.wait()
        log.close()


def test_two_replicas_never_hold_one_conversation_at_once(redis_url):
    async def run() -> List[int]:
        replicas = [RedisTurnLockStore(url=redis_url), RedisTurnLockStore(url=redis_url)]
        holders, most_at_once = 0, []

        async def turn(i: int) -> None:
            nonlocal holders
            async with replicas[i % 2].lock("flooded"):
                holders += 1
                most_at_once.append(holders)
                await asyncio.sleep(0.005)
                holders -= 1

        await asyncio.gather(*(turn(i) for i in range(60)))
        return most_at_once

    most_at_once = asyncio.run(run())
    assert len(most_at_once) == 60
    assert max(most_at_once) == 1


def test_turns_are_served_in_the_order_they_asked(redis_url):
    async def run() -> List[int]:
        replicas = [RedisTurnLockStore(url=redis_url), RedisTurnLockStore(url=redis_url)]
        served: List[int] = []

        async def turn(i: int) -> None:
            async with replicas[i % 2].lock("ordered"):
                served.append(i)
                await asyncio.sleep(0.02)

        for replica in replicas:  # connected, scripts loaded
            async with replica.lock("warm-up"):
                pass
        tasks = []
        for i in range(10):
            tasks.append(asyncio.create_task(turn(i)))
            await asyncio.sleep(0.01)  # each asks after the one before
        await asyncio.gather(*tasks)
        return served

    assert asyncio.run(run()) == list(range(10))


def test_a_waiting_turn_starts_within_milliseconds_of_the_release(redis_url):
    async def run() -> float:
        store = RedisTurnLockStore(url=redis_url)
        released_at = 0.0

        async def first() -> None:
            nonlocal released_at
            async with store.lock("quick"):
                await asyncio.sleep(0.2)
            released_at = time.monotonic()

        async def second() -> float:
            await asyncio.sleep(0.05)
            async with store.lock("quick"):
                return time.monotonic() - released_at

        _, waited_after_release = await asyncio.gather(first(), second())
        return waited_after_release

    assert asyncio.run(run()) < 0.2  # Rasa's RedisLockStore polls once a second


def test_the_lock_of_a_dead_holder_expires_and_others_go_on(redis_url):
    async def run() -> float:
        dead = RedisTurnLockStore(url=redis_url, lease_seconds=0.5)
        alive = RedisTurnLockStore(url=redis_url, lease_seconds=0.5)
        # A holder that vanishes without releasing: it joins the queue and never renews its lease.
        await dead._join_or_check(keys=dead._keys("orphaned"), args=["dead-replica", dead.lease_ms])
        start = time.monotonic()
        async with alive.lock("orphaned"):
            return time.monotonic() - start

    assert 0.3 < asyncio.run(run()) < 3


def test_only_the_holder_releases_its_lock(redis_url):
    async def run() -> List[str]:
        store = RedisTurnLockStore(url=redis_url)
        events: List[str] = []

        async def holder() -> None:
            async with store.lock("mine"):
                events.append("holder in")
                await store._leave(store._keys("mine"), "someone-else")  # another turn's token
                await asyncio.sleep(0.2)
                events.append("holder out")

        async def other() -> None:
            await asyncio.sleep(0.05)
            async with store.lock("mine"):
                events.append("other in")

        await asyncio.gather(holder(), other())
        return events

    assert asyncio.run(run()) == ["holder in", "holder out", "other in"]
