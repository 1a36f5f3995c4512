"""Delivery without polling under `make cluster`: when the page server stores a live-chat message for a customer
(an agent's reply, a takeover, an end, a transfer, a reply to a 留言), it publishes the conversation id on a Redis
channel; every Rasa process subscribes and sends that conversation's new messages at once
(rasa_server/live_channel.py). The store stays the truth: a lost signal, a Redis outage or a replica that was
down only delays a message until the next slow round (FALLBACK_POLL_S), never loses it.

LIVE_CHAT_REDIS_URL names the Redis server (deploy/cluster.sh sets it to the cluster's); without it (make run,
one process) the Rasa process looks at the store every second instead.
"""

from __future__ import annotations

import logging
import os
from typing import AsyncIterator, Mapping, Optional

import redis.asyncio as redis

logger = logging.getLogger(__name__)

CHANNEL = "cs-assistant:live-chat"
FALLBACK_POLL_S = 5.0  # with the signal: a round this often anyway (the sweep's notices, a lost signal)


def url_from_env(env: Mapping[str, str] = os.environ) -> Optional[str]:
    return env.get("LIVE_CHAT_REDIS_URL", "").strip() or None


class LiveSignal:
    """Publishes and receives "this conversation has new live-chat messages"."""

    def __init__(self, url: str):
        self.client = redis.Redis.from_url(url)

    async def publish(self, conversation: str) -> None:
        try:
            await self.client.publish(CHANNEL, conversation)
        except (redis.RedisError, OSError):  # the next round delivers it
            logger.warning("Live chat: could not signal conversation %s", conversation, exc_info=True)

    async def conversations(self) -> AsyncIterator[str]:
        """The conversations signalled from now on (until the connection fails: the caller subscribes again)."""
        async with self.client.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(CHANNEL)
            async for message in pubsub.listen():
                if message and message.get("type") == "message":
                    yield message["data"].decode("utf-8", "replace")
