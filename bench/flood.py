"""One client floods the REST webhook while people chat: are the people still answered, and how fast?

`normal` conversations, each from its own loopback address (127.0.1.N) like separate customers, talk
at a person's pace: send, wait for the answer, think `think` seconds, send the next turn of one of
bench.conversations. Meanwhile, with `flood=True`, one client (127.0.0.77, one conversation) sends
`flood_rate` messages a second without waiting for answers. Runs `seconds` seconds and reports the
normal conversations' latencies and errors, and what the flooding client got back (HTTP statuses).
Used by `make bench` (bench/run.py, with and without the flood) and tests/conversation/test_limits.py.
"""

from __future__ import annotations

import asyncio
import collections
import time
import uuid
from typing import Any, Dict, List

import aiohttp

from bench.conversations import REPEATED_CONVERSATIONS
from bench.loadgen import check_loopback, percentile

FLOOD_ADDRESS = "127.0.0.77"


def normal_address(index: int) -> str:
    return f"127.0.1.{index + 1}"


async def _normal_conversation(webhook: str, index: int, deadline: float, think: float,
                               latencies: List[float], errors: List[str]) -> None:
    connector = aiohttp.TCPConnector(local_addr=(normal_address(index), 0))
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        turn_number = 0
        while time.monotonic() < deadline:
            conversation = REPEATED_CONVERSATIONS[(index + turn_number) % len(REPEATED_CONVERSATIONS)]
            sender = f"flood-normal-{index}-{uuid.uuid4().hex[:8]}"
            for turn in conversation:
                if time.monotonic() >= deadline:
                    return
                start = time.monotonic()
                try:
                    async with session.post(webhook, json={"sender": sender, "message": turn.text}) as response:
                        body = await response.json(content_type=None)
                        if response.status != 200 or not isinstance(body, list) or not body:
                            errors.append(f"HTTP {response.status}: {str(body)[:100]}")
                        else:
                            latencies.append((time.monotonic() - start) * 1000)
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                    errors.append(f"{type(exc).__name__}: {exc}"[:120])
                await asyncio.sleep(think)
            turn_number += 1


async def _flood(webhook: str, rate: float, deadline: float, statuses: collections.Counter,
                 took: List[float]) -> None:
    connector = aiohttp.TCPConnector(local_addr=(FLOOD_ADDRESS, 0), limit=0)
    timeout = aiohttp.ClientTimeout(total=60)
    sender = f"flood-{uuid.uuid4().hex[:8]}"

    async def one(session: aiohttp.ClientSession, n: int) -> None:
        try:
            async with session.post(webhook, json={"sender": sender, "message": f"还款失败了{n}"}) as response:
                await response.read()
                statuses[str(response.status)] += 1
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            statuses[type(exc).__name__] += 1

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        tasks, n, start = [], 0, time.monotonic()
        while time.monotonic() < deadline:
            tasks.append(asyncio.create_task(one(session, n)))
            n += 1
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        await asyncio.gather(*tasks)
        took.append(time.monotonic() - start)  # until the last answer: requests may go out late on a busy machine


async def flood_scenario(url: str, normal: int = 16, seconds: float = 10.0, flood: bool = True,
                         flood_rate: float = 50.0, think: float = 0.5) -> Dict[str, Any]:
    check_loopback(url)
    webhook = url.rstrip("/") + "/webhooks/rest/webhook"
    latencies: List[float] = []
    errors: List[str] = []
    statuses: collections.Counter = collections.Counter()
    flood_took: List[float] = []
    deadline = time.monotonic() + seconds
    jobs = [_normal_conversation(webhook, i, deadline, think, latencies, errors) for i in range(normal)]
    if flood:
        jobs.append(_flood(webhook, flood_rate, deadline, statuses, flood_took))
    await asyncio.gather(*jobs)
    return {
        "flood": flood,
        "normal_conversations": normal,
        "normal_messages": len(latencies) + len(errors),
        "normal_errors": len(errors),
        "normal_error_examples": sorted(set(errors))[:5],
        "normal_p50_ms": round(percentile(latencies, 50), 1),
        "normal_p99_ms": round(percentile(latencies, 99), 1),
        "flood_sent": sum(statuses.values()),
        "flood_seconds": round(flood_took[0], 2) if flood_took else 0.0,
        "flood_statuses": dict(statuses),
    }
