"""The customer's side of live chat (在线人工) in the socket.io channel.

The handoff card's 「在线人工」 button sends `/live_chat_join{"service": ...}`. From then until the agent
ends the chat or hands it back, the conversation is paused (Rasa's ConversationPaused): each customer
message is still stored in the tracker by Rasa, which answers nothing while paused, and goes to the
agent through the live-chat store (common/live_chat.py). When the chat is over the channel appends
ConversationResumed and the bot answers again.

The agent writes into the store from the page server. Every Rasa process sends the store's new messages
to the sockets connected to it, polling every POLL_S: a message is marked delivered only once it was sent,
so when a replica dies the page reconnects to another one, which sends whatever was not sent yet.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import BotUttered, ConversationPaused, ConversationResumed, Event

from common import live_chat
from common.knowledge import Knowledge, Service, load_knowledge
from common.live_chat import CONTROL_PREFIX, LiveChats
from common.tracker_db import engine_from_env
from rasa_server.rasa_internals import wrap_socketio_handler

logger = logging.getLogger(__name__)

POLL_S = 1.0
# The buttons' payloads: /live_chat_join{"service": "alipay"}, /live_chat_leave,
# /live_chat_rate{"chat": 3, "rating": "satisfied"}, /live_chat_reason{"chat": 3, "reason": "等待太久"}
_CONTROL = re.compile(r"^/live_chat_(join|leave|rate|reason)(\{.*\})?$", re.S)
RATING_TITLES = {"satisfied": "满意", "neutral": "一般", "unsatisfied": "不满意"}

# What the page's markdown renderer (rasa-webchat's react-markdown) would format gets a backslash. It shows
# HTML as text by itself (and takes no backslash before "<"), but links bare URLs, escaped or not: an
# invisible word joiner after the scheme keeps them text.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!>|~])")
_URL_SCHEME = re.compile(r"(https?|mailto)(?=:)", re.I)
WORD_JOINER = "\u2060"


def as_plain_text(text: str) -> str:
    """An agent's text, escaped so that the page's markdown renderer shows it exactly as typed."""
    return _URL_SCHEME.sub(r"\1" + WORD_JOINER, _MARKDOWN_SPECIAL.sub(r"\\\1", text))


def parse_control(text: str) -> Optional[Tuple[str, Dict[str, Any]]]:
    """("join" | "leave" | "rate" | "reason", arguments) for a live-chat button's payload, else None."""
    match = _CONTROL.match(text.strip())
    if match is None:
        return None
    try:
        arguments = json.loads(match.group(2) or "{}")
    except ValueError:
        return None
    return (match.group(1), arguments) if isinstance(arguments, dict) else None


def nobody_online_text(knowledge: Knowledge, service: Optional[Service] = None) -> str:
    lines = [knowledge.template("live_nobody_online")]
    lines += [knowledge.template("hotline", name=s.name, hotline=s.hotline, dial=s.dial)
              for s in ([service] if service else knowledge.services.values())]
    return "\n".join(lines)


def rating_buttons(chat_id: int) -> List[Dict[str, str]]:
    return [{"title": title, "payload": CONTROL_PREFIX + "rate" + json.dumps({"chat": chat_id, "rating": rating})}
            for rating, title in RATING_TITLES.items()]


class LiveChatChannel:
    """Pauses, routes and resumes live-chat conversations for one socket.io server."""

    def __init__(self, sio: Any, namespace: str, bot_message_evt: str, rasa_agent: Callable[[], Any]):
        self.sio = sio
        self.namespace = namespace
        self.bot_message_evt = bot_message_evt
        self.rasa_agent = rasa_agent
        self.sockets: Dict[str, str] = {}  # socket id -> conversation, for the sockets connected here
        self.told_positions: Dict[int, int] = {}  # chat id -> queue position last sent to its page
        self.agent_names: Dict[int, str] = {}
        self._store: Optional[LiveChats] = None
        self._poller: Optional[asyncio.Task] = None

    def store(self) -> LiveChats:
        if self._store is None:
            self._store = LiveChats(engine_from_env())
        return self._store

    # ---------- socket.io handlers ----------

    def install(self) -> None:
        """Wraps Rasa's session_request and disconnect handlers to know which conversations are connected here."""
        def following_sessions(session_request: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
            async def on_session_request(sid: str, data: Optional[Dict] = None) -> None:
                await session_request(sid, data)
                if isinstance(data, dict) and isinstance(data.get("session_id"), str):
                    self.sockets[sid] = data["session_id"]
                    if self._poller is None or self._poller.done():
                        self._poller = asyncio.create_task(self._deliver_forever())

            return on_session_request

        def forgetting_sockets(disconnect: Optional[Callable[..., Awaitable[None]]]) -> Callable[..., Awaitable[None]]:
            async def on_disconnect(sid: str) -> None:
                self.sockets.pop(sid, None)
                if disconnect is not None:
                    await disconnect(sid)

            return on_disconnect

        wrap_socketio_handler(self.sio, self.namespace, "session_request", following_sessions)
        wrap_socketio_handler(self.sio, self.namespace, "disconnect", forgetting_sockets)

    def handling(self, answered: Callable[[UserMessage], Awaitable[Any]],
                 rasa_only: Callable[[UserMessage], Awaitable[Any]]) -> Callable[[UserMessage], Awaitable[None]]:
        """The message handler: live-chat buttons and paused conversations here, the rest to `answered`
        (Rasa with the reply guarantee). `rasa_only` is Rasa's own handler, which stores a paused turn."""

        async def handle(message: UserMessage) -> None:
            conversation = message.sender_id
            control = parse_control(message.text or "")
            try:
                if control is not None:
                    await self._control(message, *control)
                    return
                chat = await asyncio.to_thread(self.store().open_chat, conversation)
                if chat is None:
                    await self._resume_if_paused(conversation)
                else:
                    await self._to_agent(message, chat, rasa_only)
                    return
            except Exception:  # the store is down: the hotlines, or the bot answers as without live chat
                logger.exception("Live chat failed for conversation %s", conversation)
                if control is not None:
                    await self._send(message, nobody_online_text(load_knowledge()))
                    return
            await answered(message)

        return handle

    async def _to_agent(self, message: UserMessage, chat: live_chat.Chat,
                        rasa_only: Callable[[UserMessage], Awaitable[Any]]) -> None:
        await rasa_only(message)  # paused: Rasa stores the turn and predicts nothing
        await asyncio.to_thread(self.store().add_message, chat, live_chat.CUSTOMER, message.text or "")
        if chat.state == live_chat.QUEUED:
            position = await asyncio.to_thread(self.store().position, chat)
            await self._send(message, self._queue_text(position), self._leave_buttons())

    # ---------- the buttons ----------

    async def _control(self, message: UserMessage, action: str, arguments: Dict[str, Any]) -> None:
        conversation = message.sender_id
        knowledge = load_knowledge()
        store = self.store()
        if action == "join":
            service = knowledge.services.get(str(arguments.get("service")))
            online = await asyncio.to_thread(store.online_services)
            if service is None or service.key not in online:
                await self._send(message, nobody_online_text(knowledge, service))
                return
            tracker = await self.rasa_agent().tracker_store.retrieve(conversation)
            slots = tracker.current_slot_values() if tracker else {}
            chat = await asyncio.to_thread(store.join_queue, conversation, service.key, slots.get("topic"),
                                           slots.get("product"))
            position = await asyncio.to_thread(store.position, chat)
            text = self._queue_text(position, moved=False)
            self.told_positions[chat.id] = position
            await self._append(conversation, [ConversationPaused(), BotUttered(text)])
            await self._send(message, text, self._leave_buttons())
        elif action == "leave":
            chat = await asyncio.to_thread(store.leave_queue, conversation)
            text = knowledge.template("live_left" if chat else "live_not_queued")
            await self._append(conversation, [ConversationResumed(), BotUttered(text)])
            await self._send(message, text)
        elif action == "rate":
            rating = arguments.get("rating")
            chat_id = arguments.get("chat")
            if rating not in RATING_TITLES or not isinstance(chat_id, int):
                await self._send(message, knowledge.template("live_rating_unknown"))
                return
            await asyncio.to_thread(store.rate, chat_id, conversation, rating=rating)
            if rating == "unsatisfied":
                buttons = [{"title": reason, "payload": CONTROL_PREFIX + "reason"
                            + json.dumps({"chat": chat_id, "reason": reason}, ensure_ascii=False)}
                           for reason in knowledge.rating_reasons]
                await self._send(message, knowledge.template("live_ask_reason"), buttons)
            else:
                await self._send(message, knowledge.template("live_thanks_rating"))
        else:  # reason
            reason = arguments.get("reason")
            chat_id = arguments.get("chat")
            if reason in knowledge.rating_reasons and isinstance(chat_id, int):
                await asyncio.to_thread(store.rate, chat_id, conversation, reason=reason)
            await self._send(message, knowledge.template("live_thanks_rating"))

    # ---------- delivery of the agent's messages ----------

    async def _deliver_forever(self) -> None:
        while self.sockets:
            await asyncio.sleep(POLL_S)
            try:
                await self._deliver_once()
            except Exception:  # the store is unreachable for now: try again on the next round
                logger.exception("Live chat delivery failed")

    async def _deliver_once(self) -> None:
        conversations = set(self.sockets.values())
        store = self.store()
        knowledge = load_knowledge()
        for chat, sent in await asyncio.to_thread(store.undelivered, conversations):
            if sent.kind in (live_chat.END, live_chat.HAND_BACK):
                buttons = rating_buttons(chat.id) if sent.kind == live_chat.END else []
                await self._append(chat.conversation, [ConversationResumed(),
                                                       BotUttered(sent.text, {"buttons": buttons})])
                await self._emit(chat.conversation, sent.text, buttons)
            elif sent.sender == live_chat.AGENT:
                name = await self._agent_name(chat.agent_id)
                await self._emit(chat.conversation,
                                 knowledge.template("live_agent_says", name=as_plain_text(name),
                                                    text=as_plain_text(sent.text)))
            else:
                await self._emit(chat.conversation, sent.text)
            await asyncio.to_thread(store.mark_delivered, chat.id, sent.n)
        for chat in await asyncio.to_thread(store.queued_chats, conversations):
            position = await asyncio.to_thread(store.position, chat)
            if position and self.told_positions.get(chat.id) != position:
                self.told_positions[chat.id] = position
                await self._emit(chat.conversation, self._queue_text(position), self._leave_buttons())

    async def _agent_name(self, agent_id: Optional[int]) -> str:
        if agent_id is None:
            return ""
        if agent_id not in self.agent_names:
            agent = await asyncio.to_thread(self.store().agent, agent_id)
            self.agent_names[agent_id] = agent.name if agent else ""
        return self.agent_names[agent_id]

    # ---------- helpers ----------

    @staticmethod
    def _queue_text(position: int, moved: bool = True) -> str:
        return load_knowledge().template("live_queue_moved" if moved else "live_queued", position=str(position))

    @staticmethod
    def _leave_buttons() -> List[Dict[str, str]]:
        return [{"title": load_knowledge().template("live_leave_button"), "payload": CONTROL_PREFIX + "leave"}]

    async def _send(self, message: UserMessage, text: str, buttons: Optional[List[Dict[str, str]]] = None) -> None:
        await message.output_channel.send_response(message.sender_id, {"text": text, "buttons": buttons or []})

    async def _emit(self, conversation: str, text: str, buttons: Optional[List[Dict[str, str]]] = None) -> None:
        payload: Dict[str, Any] = {"text": text}
        if buttons:
            payload["quick_replies"] = [{"content_type": "text", **button} for button in buttons]
        await self.sio.emit(self.bot_message_evt, payload, room=conversation, namespace=self.namespace)

    async def _append(self, conversation: str, events: List[Event]) -> None:
        """Adds events to the conversation's tracker, under its lock as a turn would."""
        agent = self.rasa_agent()
        async with agent.lock_store.lock(conversation):
            tracker = await agent.processor.get_tracker(conversation)
            for event in events:
                tracker.update(event)
            await agent.processor.save_tracker(tracker)

    async def _resume_if_paused(self, conversation: str) -> None:
        """The chat is over but the tracker is still paused (the end was not delivered yet): resume it."""
        tracker = await self.rasa_agent().tracker_store.retrieve(conversation)
        if tracker is not None and tracker.is_paused():
            await self._append(conversation, [ConversationResumed()])
