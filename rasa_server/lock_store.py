"""A conversation lock in Redis that really excludes, for several Rasa replicas (or Sanic workers).

Rasa takes a lock per conversation around every turn, so that two messages of one conversation are
never processed at the same time. Rasa 3.6's `RedisLockStore` reads the lock, changes it in Python and
writes it back: two replicas can both take it (RasaHQ/rasa#9213; the fix went to Rasa Pro only). A
waiting turn also polls once a second, which adds whole seconds to a user who sends two messages.

`RedisTurnLockStore` keeps, per conversation, a queue of the turns that want the lock:
- atomic: joining the queue, dropping expired entries and asking "am I first?" is one Lua script;
- in order: a turn's place is a ticket from INCR, so turns are served in the order they asked;
- expiring: every entry has a lease on Redis's own clock (`LOCK_LEASE_SECONDS`, default 10). The holder
  and the waiters renew theirs while they are alive; a replica killed mid-turn blocks its conversation
  for at most one lease;
- released only by its holder: each turn removes only its own random token.
A waiting turn checks again every 20 ms instead of every second.

endpoints-redis-lock.yml configures it: `url` is a redis:// URL (REDIS_URL in `make cluster`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from contextlib import asynccontextmanager
from typing import AsyncIterator, List, Optional

import redis.asyncio as redis
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.02

# KEYS: queue (token by ticket), leases (token by expiry in ms), ticket counter. ARGV: token, lease ms.
# Returns 1 when the token is first in the queue (holds the lock), 0 while it waits.
_JOIN_OR_CHECK = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
local lease = tonumber(ARGV[2])
for _, expired in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('ZREM', KEYS[1], expired)
  redis.call('ZREM', KEYS[2], expired)
end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], redis.call('INCR', KEYS[3]), ARGV[1])
end
redis.call('ZADD', KEYS[2], now + lease, ARGV[1])
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], 2 * lease) end
if redis.call('ZRANGE', KEYS[1], 0, 0)[1] == ARGV[1] then return 1 end
return 0
"""

# Renews the holder's lease; 0 if its entry is gone (the lease ran out and another turn may hold the lock).
_RENEW = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local clock = redis.call('TIME')
local lease = tonumber(ARGV[2])
redis.call('ZADD', KEYS[2], clock[1] * 1000 + math.floor(clock[2] / 1000) + lease, ARGV[1])
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], 2 * lease) end
return 1
"""


class RedisTurnLockStore(LockStore):
    """Rasa lock store: one turn of a conversation at a time, across processes, in arrival order."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, url: Optional[str] = None,
                 key_prefix: str = "cs-assistant", lease_seconds: Optional[float] = None) -> None:
        if endpoint_config is not None:
            url = url or endpoint_config.url
            key_prefix = endpoint_config.kwargs.get("key_prefix", key_prefix)
        if not url:
            raise ValueError("RedisTurnLockStore needs a redis:// URL (endpoints: lock_store.url)")
        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.key_prefix = key_prefix
        self.lease_ms = int(1000 * (lease_seconds or float(os.environ.get("LOCK_LEASE_SECONDS", "10"))))
        self._join_or_check = self.redis.register_script(_JOIN_OR_CHECK)
        self._renew = self.redis.register_script(_RENEW)
        super().__init__()

    def _keys(self, conversation_id: str) -> List[str]:
        base = f"{self.key_prefix}:lock:{conversation_id}"
        return [f"{base}:queue", f"{base}:leases", f"{base}:tickets"]

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = POLL_SECONDS) -> AsyncIterator[None]:
        """Holds the conversation's lock for the `async with` body; LockError after `lock_lifetime` s of waiting."""
        keys, token = self._keys(conversation_id), uuid.uuid4().hex
        try:
            await self._wait_for_turn(keys, token, conversation_id, lock_lifetime)
            renewal = asyncio.create_task(self._keep_lease(keys, token, conversation_id))
            try:
                yield
            finally:
                renewal.cancel()
        finally:
            await self._leave(keys, token)

    async def _wait_for_turn(self, keys: List[str], token: str, conversation_id: str, max_wait: float) -> None:
        give_up = time.monotonic() + max_wait
        while not await self._join_or_check(keys=keys, args=[token, self.lease_ms]):
            if time.monotonic() > give_up:
                raise LockError(f"Waited {max_wait} s for the lock of conversation '{conversation_id}'")
            await asyncio.sleep(POLL_SECONDS)

    async def _keep_lease(self, keys: List[str], token: str, conversation_id: str) -> None:
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            if not await self._renew(keys=keys, args=[token, self.lease_ms]):
                logger.error("The lock of conversation %s expired while its turn still ran", conversation_id)
                return

    async def _leave(self, keys: List[str], token: str) -> None:
        """Removes this turn's own entry (held or waiting); nobody else's."""
        async with self.redis.pipeline(transaction=True) as pipe:
            await pipe.zrem(keys[0], token).zrem(keys[1], token).execute()
