"""Rasa's REST and socket.io channels with one promise added: every user message gets a reply.

If the dialogue produced no message (the action server is down, an action crashed, the model
raised), or the tracker store could not read or save the conversation (the database is down), the
channel sends an apology and the official hotlines instead of leaving the user in silence or
answering without the conversation's context. The classes keep Rasa's channel names, so the URLs
stay /webhooks/rest/webhook and /socket.io.

Both channels also refuse what a person typing never sends (rasa_server/limits.py has the settings):
malformed requests (REST: 400 with a short JSON error, 413 when too large; socket.io: the event is
dropped, the connection kept) and messages over the rate limits per conversation and per client
address (one short Chinese reply, the message is not processed).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketIOInput
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from common.knowledge import load_knowledge
from rasa_server import limits
from rasa_server.live_channel import LiveChatChannel
from rasa_server.rasa_internals import wrap_socketio_handler
from rasa_server.tracker_store import STORE_FAILURES

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
        agent = app().ctx.agent
        if not message_id or not agent.is_ready():
            await on_new_message(message)
            return
        # Checked under the conversation's lock, as Agent.handle_message takes it: a retry that reaches
        # another replica while the original is still being answered waits for it, then finds it stored.
        async with agent.lock_store.lock(message.sender_id):
            tracker = await agent.tracker_store.retrieve(message.sender_id)
            replies = _stored_replies(tracker.events if tracker else [], str(message_id))
            if replies is None:
                await agent.processor.handle_message(message)
                return
        logger.info("Message %s of conversation %s was already answered: replies sent again",
                    message_id, message.sender_id)
        for reply in replies:
            await message.output_channel.send_response(message.sender_id, reply)

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
        blueprint.middleware(rest_request_guard(), "request")
        return blueprint


class SocketIOInputWithReply(SocketIOInput):
    """The web chat's socket.io channel; connections only from the configured page origins. It also carries
    live chat with a person (rasa_server/live_channel.py)."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        credentials = dict(credentials or {})
        allowed_origins = credentials.pop("cors_allowed_origins", None)
        channel = super().from_credentials(credentials)
        channel.cors_allowed_origins = _as_list(allowed_origins)
        return channel

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        servers: List[Sanic] = []
        # Rasa's blueprint creates the socket.io server that live chat needs: the handler is set right after.
        handler: List[Callable[[UserMessage], Awaitable[None]]] = []
        blueprint = super().blueprint(lambda message: handler[0](message))
        blueprint.listener("before_server_start")(lambda server, _loop: servers.append(server))
        # Rasa turns python-socketio's origin check off; put it back, limited to the page.
        self.sio.eio.cors_allowed_origins = self.cors_allowed_origins
        namespace = self.namespace or "/"
        live = LiveChatChannel(self.sio, namespace, self.bot_message_evt, lambda: servers[0].ctx.agent)
        live.install()
        handler.append(live.handling(with_reply_guarantee(on_new_message), on_new_message))
        guard_socketio_messages(self.sio, namespace, self.user_message_evt, self.bot_message_evt,
                                self.metadata_key)
        return blueprint


def _as_list(origins: Any) -> List[str]:
    if not origins:
        return []
    if isinstance(origins, str):
        return [origin.strip() for origin in origins.split(",") if origin.strip()]
    return list(origins)


def too_fast_reply() -> str:
    return load_knowledge().template("too_fast")


def _bad_request(error: str, status: int = 400) -> HTTPResponse:
    return response.json({"error": error}, status=status)


def parse_rest_message(body: bytes) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
    """The webhook's JSON object, or why it is refused: (payload, None) or (None, error)."""
    if not body or not body.strip():
        return None, "empty body: send a JSON object with sender and message"
    try:
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "the body is not UTF-8"
    except RecursionError:
        return None, "JSON nested too deeply"
    except ValueError:
        return None, "the body is not valid JSON"
    if not isinstance(payload, dict):
        return None, "the body must be a JSON object with sender and message"
    if limits.too_deep(payload):
        return None, "JSON nested too deeply"
    for key in ("sender", "message"):
        if not isinstance(payload.get(key), str):
            return None, f"{key} must be a string"
    if not payload["sender"].strip():
        return None, "sender must not be empty"
    if payload.get("metadata") is not None and not isinstance(payload["metadata"], dict):
        return None, "metadata must be a JSON object"
    return payload, None


def rest_request_guard() -> Callable[[Request], Awaitable[Optional[HTTPResponse]]]:
    """Sanic request middleware for the REST webhook: a response refuses the request, None lets it through."""
    max_bytes = limits.max_request_bytes()
    trusted = limits.trusted_proxies_from_env()
    rate_limits = limits.RateLimits.from_env()

    async def guard(request: Request) -> Optional[HTTPResponse]:
        if request.method != "POST" or not request.path.endswith("/webhook"):
            return None
        if len(request.body or b"") > max_bytes:
            return _bad_request(f"request body larger than {max_bytes} bytes", status=413)
        payload, error = parse_rest_message(request.body)
        if error:
            return _bad_request(error)
        address = limits.client_address(request.ip, request.headers, trusted)
        if not rate_limits.allow(payload["sender"], address):
            logger.info("Rate limit: refused a REST message (conversation %s)", payload["sender"])
            return response.json([{"recipient_id": payload["sender"], "text": too_fast_reply()}], status=429)
        return None

    return guard


def _valid_socketio_message(data: Any, metadata_key: str) -> bool:
    return (isinstance(data, dict) and isinstance(data.get("message", ""), str)
            and isinstance(data.get("session_id", ""), str)
            and isinstance(data.get(metadata_key, {}), (dict, type(None))) and not limits.too_deep(data))


def guard_socketio_messages(sio: Any, namespace: str, message_event: str, reply_event: str,
                            metadata_key: str) -> None:
    """Wraps the socket.io message handler Rasa registered: malformed events are dropped (the
    connection stays), and messages over a rate limit get one "您发送得太快了" and are not processed."""
    sio.eio.max_http_buffer_size = limits.max_request_bytes()
    trusted = limits.trusted_proxies_from_env()
    rate_limits = limits.RateLimits.from_env()

    def guarded(handle_message: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def handle(sid: str, *args: Any) -> None:
            data = args[0] if len(args) == 1 else None
            if not _valid_socketio_message(data, metadata_key):
                logger.warning("Dropped a malformed socket.io message (socket %s)", sid)
                return
            conversation = data.get("session_id") or sid
            environ = sio.get_environ(sid, namespace) or {}
            request = environ.get("sanic.request")
            peer = request.ip if request is not None else environ.get("REMOTE_ADDR", "")
            address = limits.client_address(peer, request.headers if request is not None else {}, trusted)
            if not rate_limits.allow(conversation, address):
                if rate_limits.should_tell(conversation):
                    logger.info("Rate limit: refused socket.io messages (conversation %s)", conversation)
                    await sio.emit(reply_event, {"text": too_fast_reply()}, room=sid)
                return
            await handle_message(sid, data)

        return handle

    wrap_socketio_handler(sio, namespace, message_event, guarded)
