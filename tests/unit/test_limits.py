"""rasa_server.limits: token buckets, and which client address to believe."""

from __future__ import annotations

import pytest

from rasa_server.limits import RateLimits, TokenBuckets, client_address, parse_networks, parse_rate, too_deep

TRUSTED = parse_networks("127.0.0.1,::1,10.0.0.0/8")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rates_are_messages_per_seconds_and_zero_is_off():
    assert parse_rate("20/60") == (20, 60.0)
    assert parse_rate("0") is None and parse_rate("") is None
    with pytest.raises(ValueError):
        parse_rate("-1/60")


def test_a_bucket_allows_a_burst_then_refills_evenly():
    clock = Clock()
    limits = RateLimits(TokenBuckets(3, 30, clock), None)
    assert [limits.allow("c", "a") for _ in range(4)] == [True, True, True, False]
    clock.now = 9.9
    assert not limits.allow("c", "a")
    clock.now = 10.0  # one message back every 10 s
    assert limits.allow("c", "a") and not limits.allow("c", "a")
    assert limits.allow("other", "a")


def test_a_refusal_takes_nothing_and_is_told_once():
    clock = Clock()
    limits = RateLimits(TokenBuckets(5, 60, clock), TokenBuckets(1, 60, clock))
    assert limits.allow("c1", "a") and not limits.allow("c2", "a")
    assert limits.should_tell("c2") and not limits.should_tell("c2")
    assert limits.allow("c2", "b")  # c2's own bucket was not touched by the refusal
    assert limits.should_tell("c2")  # told again after an accepted message


def test_forwarded_addresses_are_believed_from_trusted_proxies_only():
    forwarded = {"x-forwarded-for": "1.2.3.4, 203.0.113.9, 10.1.1.1"}
    assert client_address("198.51.100.7", forwarded, TRUSTED) == "198.51.100.7"
    # From the proxy: the last address not itself a proxy (what the client wrote first is not trusted).
    assert client_address("127.0.0.1", forwarded, TRUSTED) == "203.0.113.9"
    assert client_address("127.0.0.1", {"x-real-ip": "203.0.113.5", **forwarded}, TRUSTED) == "203.0.113.5"
    assert client_address("127.0.0.1", {}, TRUSTED) == "127.0.0.1"
    assert client_address("127.0.0.1", forwarded, []) == "127.0.0.1"


def test_nesting_depth():
    assert not too_deep({"sender": "u", "message": "x", "metadata": {"a": [1, {"b": 2}]}})
    deep = []
    for _ in range(30):
        deep = [deep]
    assert too_deep({"metadata": deep})
