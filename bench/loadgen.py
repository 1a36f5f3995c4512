"""Closed-loop load generator for the REST webhook (loopback only, bounded in time and count).

`concurrency` simulated users each run whole conversations from bench.conversations, one message
at a time: send, wait for the answer, send the next. Every conversation gets a fresh sender id.
The load is the varied one (customers' questions, none sent twice; what `make bench` reports) or, with
`load="repeated"`, the twelve conversations of 49 texts that the serving cache answers after their first time.
The run stops by itself after `duration` seconds or `max_messages` messages, whichever is first;
a request in flight at the deadline is waited for (at most `request_timeout` seconds).
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Tuple
from urllib.parse import urlsplit

import aiohttp

from bench.conversations import REPEATED_CONVERSATIONS, Turn, varied_conversations

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def check_loopback(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"the load generator only targets this machine, not {host!r}")


@dataclass
class Sample:
    started: float  # seconds since the level started
    latency: float  # seconds
    ok: bool  # HTTP 200 with a JSON list
    replies: int
    expected_ok: Optional[bool]  # None when the turn has no expectation
    error: str = ""
    sender: str = ""  # set by run_level, to check what the tracker store kept (bench/cluster.py)


@dataclass
class LevelResult:
    label: str
    concurrency: int
    duration: float
    messages: int
    errors: int
    lost_replies: int
    unexpected_answers: int
    checked_answers: int
    throughput: float  # messages/s over the wall time of the level
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    error_examples: List[str] = field(default_factory=list)

    def as_dict(self) -> Dict:
        return asdict(self)


def percentile(values: List[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an unsorted list; nan for an empty list."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(round(q / 100 * len(ordered) + 0.5))))
    return ordered[rank - 1]


async def send(
    session: aiohttp.ClientSession, url: str, sender: str, turn: Turn, started_at: float
) -> Sample:
    start = time.monotonic()
    try:
        async with session.post(url, json={"sender": sender, "message": turn.text}) as response:
            body = await response.json(content_type=None)
            latency = time.monotonic() - start
            if response.status != 200 or not isinstance(body, list):
                return Sample(start - started_at, latency, False, 0, None, f"HTTP {response.status}: {str(body)[:120]}")
            texts = " ".join(str(m.get("text", "")) for m in body if isinstance(m, dict))
            expected_ok = None if turn.expect is None else turn.expect in texts
            return Sample(start - started_at, latency, True, len(body), expected_ok)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:160]
        return Sample(start - started_at, time.monotonic() - start, False, 0, None, error)


async def run_level(
    url: str,
    concurrency: int,
    duration: float,
    label: str = "",
    max_messages: int = 100_000,
    request_timeout: float = 60.0,
    sender_prefix: str = "bench",
    sender_pool: Optional[List[str]] = None,
    samples: Optional[List[Sample]] = None,
    load: str = "varied",
    seed: Optional[int] = None,
) -> LevelResult:
    """Drives url with `concurrency` closed-loop conversations for `duration` seconds.

    The varied load's conversations come in the same order for the same seed (by default the concurrency), so
    two systems measured at one level get the same messages; a warm-up takes another seed, so that the level
    after it does not find its texts in the server's cache.

    With `sender_pool`, conversations continue stored ones (returning users) instead of
    starting fresh sender ids; each pool entry is used by one conversation at most.
    With `samples`, every request's sample is appended to that list too.
    """
    check_loopback(url)
    webhook = url.rstrip("/") + "/webhooks/rest/webhook"
    samples = [] if samples is None else samples
    started_at = time.monotonic()
    deadline = started_at + duration
    counter = itertools.count()
    pool = iter(sender_pool) if sender_pool is not None else None
    if load not in ("varied", "repeated"):
        raise ValueError(f"load is 'varied' or 'repeated', not {load!r}")
    varied = varied_conversations(concurrency if seed is None else seed) if load == "varied" else None

    async def user(index: int, session: aiohttp.ClientSession) -> None:
        for n in itertools.count():
            if varied is not None:
                conversation = next(varied)
            else:
                conversation = REPEATED_CONVERSATIONS[(index + n * 7) % len(REPEATED_CONVERSATIONS)]
            sender = f"{sender_prefix}-{label}-c{concurrency}-u{index}-{n}" if pool is None else next(pool, None)
            if sender is None:
                return
            for turn in conversation:
                if time.monotonic() >= deadline or next(counter) >= max_messages:
                    return
                sample = await send(session, webhook, sender, turn, started_at)
                sample.sender = sender
                samples.append(sample)

    timeout = aiohttp.ClientTimeout(total=request_timeout)
    connector = aiohttp.TCPConnector(limit=concurrency + 4)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        await asyncio.gather(*(user(i, session) for i in range(concurrency)))
    wall = time.monotonic() - started_at
    return summarize(label, concurrency, wall, samples)


def summarize(label: str, concurrency: int, wall: float, samples: List[Sample]) -> LevelResult:
    latencies_ms = [s.latency * 1000 for s in samples if s.ok]
    checked = [s for s in samples if s.expected_ok is not None]
    errors = [s for s in samples if not s.ok]
    return LevelResult(
        label=label,
        concurrency=concurrency,
        duration=round(wall, 2),
        messages=len(samples),
        errors=len(errors),
        lost_replies=sum(1 for s in samples if s.ok and s.replies == 0),
        unexpected_answers=sum(1 for s in checked if not s.expected_ok),
        checked_answers=len(checked),
        throughput=round(sum(1 for s in samples if s.ok) / wall, 2) if wall > 0 else 0.0,
        p50_ms=round(percentile(latencies_ms, 50), 1),
        p95_ms=round(percentile(latencies_ms, 95), 1),
        p99_ms=round(percentile(latencies_ms, 99), 1),
        max_ms=round(max(latencies_ms), 1) if latencies_ms else float("nan"),
        mean_ms=round(statistics.fmean(latencies_ms), 1) if latencies_ms else float("nan"),
        error_examples=sorted({s.error for s in errors})[:5],
    )


async def long_conversation(
    url: str, turns: int, texts: List[str], sender: str, same_text_at: Tuple[int, ...] = ()
) -> List[float]:
    """One conversation of `turns` messages, one at a time; returns each turn's latency in ms.

    Turn i (from 1) sends texts[(i - 1) % len(texts)], except the turns in same_text_at: texts[0]."""
    check_loopback(url)
    webhook = url.rstrip("/") + "/webhooks/rest/webhook"
    latencies: List[float] = []
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for i in range(turns):
            text = texts[0] if i + 1 in same_text_at else texts[i % len(texts)]
            sample = await send(session, webhook, sender, Turn(text), time.monotonic())
            if not sample.ok or sample.replies == 0:
                raise RuntimeError(f"turn {i + 1} of the long conversation failed: {sample.error or 'no reply'}")
            latencies.append(sample.latency * 1000)
    return latencies


async def ask(url: str, sender: str, texts: List[str]) -> List[List[Dict]]:
    """Sends texts in one conversation; returns the list of bot messages for each."""
    check_loopback(url)
    webhook = url.rstrip("/") + "/webhooks/rest/webhook"
    answers = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        for text in texts:
            async with session.post(webhook, json={"sender": sender, "message": text}) as response:
                response.raise_for_status()
                answers.append(await response.json(content_type=None))
    return answers
