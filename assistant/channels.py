"""Rasa's REST and socket.io channels with one promise added: every user message gets a reply.

If the dialogue produced no message (the action server is down, an action crashed, the model
raised), or the tracker store could not read or save the conversation (the database is down), the
channel sends an apology and the official hotlines instead of leaving the user in silence or
answering without the conversation's context. The classes keep Rasa's channel names, so the URLs
stay /webhooks/rest/webhook and /socket.io.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketIOInput
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, Sanic

from assistant.knowledge import load_knowledge
from assistant.tracker_store import STORE_FAILURES

logger = logging.getLogger(__name__)


def outage_reply() -> str:
    knowledge = load_knowledge()
    lines = [knowledge.template("outage")]
    lines += [
        knowledge.template("hotline", name=s.name, hotline=s.hotline, dial=s.dial)
        for s in knowledge.services.values()
    ]
    return "\n".join(lines)


def with_reply_guarantee(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
) -> Callable[[UserMessage], Awaitable[None]]:
    async def handle(message: UserMessage) -> None:
        output = message.output_channel
        send_response = output.send_response
        replies: List[Dict[str, Any]] = []

        async def held_send_response(recipient_id: str, reply: Dict[str, Any]) -> None:
            replies.append(reply)

        # Replies go out once the turn is over: a turn the tracker store could not read or save was
        # answered without its context and is not stored, so it gets the apology instead.
        output.send_response = held_send_response
        store_failures: List[Exception] = []
        STORE_FAILURES.set(store_failures)
        try:
            await on_new_message(message)
        except Exception:  # the user must get an answer whatever broke; the log keeps the trace
            logger.exception("Handling a message failed (conversation %s)", message.sender_id)
        if store_failures:
            logger.warning("The tracker store failed in conversation %s (%s): sent the outage reply",
                           message.sender_id, type(store_failures[0]).__name__)
            replies = []
        elif not replies:
            logger.warning("No reply for a message in conversation %s: sent the outage reply", message.sender_id)
        for reply in replies or [{"text": outage_reply()}]:
            await send_response(message.sender_id, reply)

    return handle


def answering_retries_once(
    on_new_message: Callable[[UserMessage], Awaitable[Any]], app: Callable[[], Sanic],
) -> Callable[[UserMessage], Awaitable[None]]:
    """A message sent again with the same `metadata.message_id` is answered from the tracker store.

    A client whose request failed (its replica died, the connection broke) cannot know whether the turn
    was stored before the failure; it sends the message again with the same id. If that id is already
    stored, the stored replies are sent again and the turn is not run (nor stored) a second time.
    """

    async def handle(message: UserMessage) -> None:
        message_id = (message.metadata or {}).get("message_id")
        if message_id:
            tracker = await app().ctx.agent.tracker_store.retrieve(message.sender_id)
            replies = _stored_replies(tracker.events if tracker else [], str(message_id))
            if replies is not None:
                logger.info("Message %s of conversation %s was already answered: replies sent again",
                            message_id, message.sender_id)
                for reply in replies:
                    await message.output_channel.send_response(message.sender_id, reply)
                return
        await on_new_message(message)

    return handle


def _stored_replies(events: Any, message_id: str) -> Optional[List[Dict[str, Any]]]:
    """The bot messages that answered the user message `message_id`, or None if it is not stored."""
    replies: Optional[List[Dict[str, Any]]] = None
    for event in events:
        if isinstance(event, UserUttered):
            if replies is not None:
                break
            if (event.metadata or {}).get("message_id") == message_id:
                replies = []
        elif isinstance(event, BotUttered) and replies is not None:
            replies.append({key: value for key, value in event.message().items() if value is not None})
    return replies


class RestInputWithReply(RestInput):
    """POST /webhooks/rest/webhook, answered by a JSON list of bot messages.

    Optional `"metadata": {"message_id": "..."}` makes a retry safe (answering_retries_once)."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        servers: List[Sanic] = []
        blueprint = super().blueprint(with_reply_guarantee(answering_retries_once(on_new_message, lambda: servers[0])))
        blueprint.listener("before_server_start")(lambda server, _loop: servers.append(server))
        return blueprint


class SocketIOInputWithReply(SocketIOInput):
    """The web chat's socket.io channel; connections only from the configured page origins."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        credentials = dict(credentials or {})
        allowed_origins = credentials.pop("cors_allowed_origins", None)
        channel = super().from_credentials(credentials)
        channel.cors_allowed_origins = _as_list(allowed_origins)
        return channel

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(with_reply_guarantee(on_new_message))
        # Rasa turns python-socketio's origin check off; put it back, limited to the page.
        self.sio.eio.cors_allowed_origins = self.cors_allowed_origins
        return blueprint


def _as_list(origins: Any) -> List[str]:
    if not origins:
        return []
    if isinstance(origins, str):
        return [origin.strip() for origin in origins.split(",") if origin.strip()]
    return list(origins)
