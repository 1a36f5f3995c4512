"""Request limits for the public channels: message rates per conversation and per client address,
the size and shape of a request, and which client address to believe behind a proxy.

Settings (environment, read once when the channels start):

| variable | default | meaning |
|---|---|---|
| RATE_LIMIT_CONVERSATION | 20/60 | messages a conversation may send per 60 s (a burst of 20, then one per 3 s) |
| RATE_LIMIT_ADDRESS | 120/60 | messages one client address may send per 60 s, all its conversations together |
| TRUSTED_PROXIES | 127.0.0.1,::1 | proxies (addresses or networks) whose X-Real-IP / X-Forwarded-For are believed |
| MAX_REQUEST_BYTES | 65536 | largest REST body or socket.io packet accepted |

Each limit is a token bucket: N messages at once, refilled evenly over the period. "0" turns a limit off.
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, List, Mapping, Optional, Tuple, Union

MAX_NESTING = 20
# Buckets kept in memory per limit; the least recently used go first (a bucket left alone refills anyway).
MAX_TRACKED_KEYS = 100_000

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


def parse_rate(setting: str) -> Optional[Tuple[int, float]]:
    """"20/60" → (20 messages, 60 seconds); "0" or "" → None (no limit)."""
    setting = (setting or "").strip()
    if setting in ("", "0"):
        return None
    count, _, seconds = setting.partition("/")
    rate = int(count), float(seconds or 60)
    if rate[0] <= 0 or rate[1] <= 0:
        raise ValueError(f"a rate limit is MESSAGES/SECONDS, e.g. 20/60, not {setting!r}")
    return rate


class TokenBuckets:
    """One token bucket per key: `capacity` messages at once, refilled at capacity/period per second."""

    def __init__(self, capacity: int, period: float, clock=time.monotonic):
        self.capacity, self.refill_per_second, self.clock = capacity, capacity / period, clock
        self._buckets: OrderedDict[str, List[float]] = OrderedDict()  # key → [tokens, last update]

    def _tokens(self, key: str) -> List[float]:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = [float(self.capacity), now]
            while len(self._buckets) > MAX_TRACKED_KEYS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket[0] = min(self.capacity, bucket[0] + (now - bucket[1]) * self.refill_per_second)
            bucket[1] = now
        return bucket

    def has_token(self, key: str) -> bool:
        return self._tokens(key)[0] >= 1

    def take(self, key: str) -> None:
        self._tokens(key)[0] -= 1


@dataclass
class RateLimits:
    per_conversation: Optional[TokenBuckets]
    per_address: Optional[TokenBuckets]
    # Conversations told "您发送得太快了" since their last accepted message: told once, not per message.
    _told: OrderedDict[str, None] = field(default_factory=OrderedDict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> RateLimits:
        def buckets(name: str, default: str) -> Optional[TokenBuckets]:
            rate = parse_rate(env.get(name, default))
            return TokenBuckets(*rate) if rate else None

        return cls(buckets("RATE_LIMIT_CONVERSATION", "20/60"), buckets("RATE_LIMIT_ADDRESS", "120/60"))

    def allow(self, conversation: str, address: str) -> bool:
        """Takes one message from both buckets, or from neither when either is empty."""
        limits = [(self.per_conversation, conversation), (self.per_address, address)]
        limits = [(buckets, key) for buckets, key in limits if buckets is not None]
        if not all(buckets.has_token(key) for buckets, key in limits):
            return False
        for buckets, key in limits:
            buckets.take(key)
        self._told.pop(conversation, None)
        return True

    def should_tell(self, conversation: str) -> bool:
        """True the first time a conversation is refused since its last accepted message."""
        if conversation in self._told:
            return False
        self._told[conversation] = None
        while len(self._told) > MAX_TRACKED_KEYS:
            self._told.popitem(last=False)
        return True


def parse_networks(setting: str) -> List[Network]:
    return [ipaddress.ip_network(part.strip(), strict=False) for part in setting.split(",") if part.strip()]


def trusted_proxies_from_env(env: Mapping[str, str] = os.environ) -> List[Network]:
    return parse_networks(env.get("TRUSTED_PROXIES", "127.0.0.1,::1"))


def _is_in(address: str, networks: List[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(peer: str, headers: Mapping[str, str], trusted: List[Network]) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the proxy's
    X-Real-IP, or the last address in X-Forwarded-For that is not itself a trusted proxy
    (earlier entries are whatever the client claimed)."""
    if not _is_in(peer, trusted):
        return peer
    real_ip = (headers.get("x-real-ip") or "").strip()
    if real_ip:
        return real_ip
    forwarded = [part.strip() for part in (headers.get("x-forwarded-for") or "").split(",") if part.strip()]
    for address in reversed(forwarded):
        if not _is_in(address, trusted):
            return address
    return forwarded[0] if forwarded else peer


def max_request_bytes(env: Mapping[str, str] = os.environ) -> int:
    return int(env.get("MAX_REQUEST_BYTES") or 65536)


def too_deep(value: Any, limit: int = MAX_NESTING) -> bool:
    """True when lists and objects nest more than about `limit` levels deep in value."""
    level = [value]
    for _ in range(limit + 1):
        level = [child for item in level if isinstance(item, (dict, list))
                 for child in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return False
    return True
