"""The customer's side of live chat (在线人工) in the socket.io channel.

The handoff card's 「在线人工」 button sends `/live_chat_join{"service": ...}`. From then until the agent
ends the chat or hands it back, the conversation is paused (Rasa's ConversationPaused): each customer
message is still stored in the tracker by Rasa, which answers nothing while paused, and goes to the
agent through the live-chat store (common/live_chat.py). When the chat is over the channel appends
ConversationResumed and the bot answers again.

The agent writes into the store from the page server. Every Rasa process sends the store's new messages
to the sockets connected to it: at once when the page server signals them (Redis pub/sub under make cluster,
common/live_signal.py), and on a round every POLL_S (every FALLBACK_POLL_S with the signal). A message is
marked delivered only when a page confirms it (socket.io's acknowledgement, which web/static/app.js sends
once the widget has stored the message): a page reloaded or closed while a message was on its way, or a
replica that died, leaves the message undelivered, and the page's next connection gets it. On the same
round it runs the store's sweep (requeue a chat whose agent left, tell queued customers nobody is left,
offer 留言 after a long wait or a silent agent) and sends agents' replies to 留言 (common/tickets.py).

留言: the 「留言」 button (on the handoff card when nobody can take the customer now, and on the notices above)
pauses the bot while the customer writes the problem and a callback number (or 「跳过」); the ticket number
confirms it and the bot is back.

Besides bot_uttered, the page gets `live_chat` events ({"agent": "小王"} while an agent is with the customer,
{"agent": null} after, {"agent": "小王", "typing": true} while the agent types) to show who is answering
(web/static/app.js). The other way, the page sends `customer_typing` (no data, no text) while the customer types
during a chat with an agent: stored for the conversation of the socket's own session only, and only while an
agent has the chat; the agent's workspace shows 「客户正在输入…」 (ops/live_api.py, web/ops/agent.js).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOOutput
from rasa.shared.core.events import BotUttered, ConversationPaused, ConversationResumed, Event

from common import live_chat, live_signal, tickets
from common.knowledge import Knowledge, Service, load_knowledge
from common.live_chat import CONTROL_PREFIX, LiveChats, ticket_payload
from common.text import find_phone_numbers, normalize
from common.tickets import Ticket, Tickets
from common.tracker_db import engine_from_env
from rasa_server.page_delivery import AnswerDelivery, AwaitingPages
from rasa_server.rasa_internals import hold_paused_sessions, send_socketio_messages_through, wrap_socketio_handler

logger = logging.getLogger(__name__)

POLL_S = 1.0
# The buttons' payloads: /live_chat_join{"service": "alipay"}, /live_chat_leave,
# /live_chat_rate{"chat": 3, "rating": "satisfied"}, /live_chat_reason{"chat": 3, "reason": "等待太久"},
# /live_chat_ticket{"service": "alipay"}, /live_chat_skip (no callback number), /live_chat_cancel (no 留言)
_CONTROL = re.compile(r"^/live_chat_(join|leave|rate|reason|ticket|skip|cancel)(\{.*\})?$", re.S)
LIVE_EVENT = "live_chat"
CUSTOMER_TYPING_EVENT = "customer_typing"
CUSTOMER_TYPING_EVERY_S = 1.0  # the most often a socket's typing is stored (the page sends it every 2 s)
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
    """("join" | "leave" | "rate" | "reason" | "ticket" | "skip" | "cancel", arguments) for a live-chat
    button's payload, else None."""
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


def ticket_button(knowledge: Knowledge, service: str) -> Dict[str, str]:
    return {"title": knowledge.template("live_ticket_button"), "payload": ticket_payload(service)}


def notice_text(knowledge: Knowledge, notice: str, chat: live_chat.Chat, position: int) -> str:
    """What the customer is told when the store's sweep claims a notice for their chat."""
    service = knowledge.services.get(chat.service)
    if notice == live_chat.REQUEUED:
        return knowledge.template("live_requeued", position=str(position))
    if notice == live_chat.WAITED:
        return knowledge.template("live_waited")
    lines = [knowledge.template("live_nobody_left" if notice == live_chat.NOBODY_LEFT else "live_silent")]
    if service is not None:
        lines.append(knowledge.template("hotline", name=service.name, hotline=service.hotline, dial=service.dial))
    return "\n".join(lines)


def ticket_reply_text(knowledge: Knowledge, ticket: Ticket) -> str:
    return knowledge.template("live_ticket_reply", name=as_plain_text(ticket.replied_by or ""), id=str(ticket.id),
                              text=as_plain_text(ticket.reply or ""))


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
        self.told_typing: Dict[int, float] = {}  # chat id -> the agent's keystroke last shown as typing
        self.agent_names: Dict[int, str] = {}
        self.typing_stored: Dict[str, float] = {}  # socket id -> when its customer's typing was last stored
        # What was sent and not yet confirmed by a page: not sent again until its sockets are gone.
        self.awaiting = AwaitingPages(sio, namespace, bot_message_evt)
        self.answers = AnswerDelivery(self.awaiting, self.sockets)
        self._store: Optional[LiveChats] = None
        self._tickets: Optional[Tickets] = None
        self._poller: Optional[asyncio.Task] = None
        self._listener: Optional[asyncio.Task] = None
        self._signalled = asyncio.Event()  # a conversation connected here has new messages
        self._signal_url = live_signal.url_from_env()

    def store(self) -> LiveChats:
        if self._store is None:
            self._store = LiveChats(engine_from_env())
        return self._store

    def tickets(self) -> Tickets:
        if self._tickets is None:
            self._tickets = Tickets(self.store().engine)
        return self._tickets

    # ---------- socket.io handlers ----------

    def install(self) -> None:
        """Wraps Rasa's session_request and disconnect handlers to know which conversations are connected here,
        and keeps a live chat's session from expiring (rasa_internals.hold_paused_sessions)."""
        def following_sessions(session_request: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
            async def on_session_request(sid: str, data: Optional[Dict] = None) -> None:
                await session_request(sid, data)
                if isinstance(data, dict) and isinstance(data.get("session_id"), str):
                    self.sockets[sid] = data["session_id"]
                    self._signalled.set()  # a page (re)connected: what it missed, at once
                    if self._poller is None or self._poller.done():
                        self._poller = asyncio.create_task(self._deliver_forever())
                    await self.answers.page_connected(sid, data["session_id"])
                    await self._page_opened(sid, data["session_id"])

            return on_session_request

        def forgetting_sockets(disconnect: Optional[Callable[..., Awaitable[None]]]) -> Callable[..., Awaitable[None]]:
            async def on_disconnect(sid: str) -> None:
                conversation = self.sockets.pop(sid, None)
                self.typing_stored.pop(sid, None)
                self.awaiting.socket_gone(sid)
                if disconnect is not None:
                    await disconnect(sid)
                if conversation is not None and conversation not in self.sockets.values():
                    await self._note_for_agent(conversation, "live_note_page_closed")

            return on_disconnect

        hold_paused_sessions()
        wrap_socketio_handler(self.sio, self.namespace, "session_request", following_sessions)
        wrap_socketio_handler(self.sio, self.namespace, "disconnect", forgetting_sockets)
        self.sio.on(CUSTOMER_TYPING_EVENT, self._customer_typing, namespace=self.namespace)

    async def _customer_typing(self, sid: str, data: Any = None) -> None:
        """The customer types: stored for the agent of the socket's own conversation (none before its
        session_request), at most every CUSTOMER_TYPING_EVERY_S; nothing when no agent has the chat."""
        conversation = self.sockets.get(sid)
        now = time.monotonic()
        if conversation is None or now < self.typing_stored.get(sid, 0.0) + CUSTOMER_TYPING_EVERY_S:
            return
        self.typing_stored[sid] = now
        try:
            await asyncio.to_thread(self.store().customer_typing, conversation)
        except Exception:  # a lost typing hint is no matter
            logger.warning("Live chat: could not store that conversation %s is typing", conversation, exc_info=True)

    def handling(self, answered: Callable[[UserMessage], Awaitable[Any]],
                 rasa_only: Callable[[UserMessage], Awaitable[Any]]) -> Callable[[UserMessage], Awaitable[None]]:
        """The message handler: live-chat buttons and paused conversations here, the rest to `answered`
        (Rasa with the reply guarantee). `rasa_only` is Rasa's own handler, which stores a paused turn."""

        async def handle(message: UserMessage) -> None:
            conversation = message.sender_id
            if isinstance(message.output_channel, SocketIOOutput):  # answers kept until the page has them
                send_socketio_messages_through(message.output_channel, self.answers.send)
            control = parse_control(message.text or "")
            try:
                if control is not None:
                    await self._control(message, *control)
                    return
                chat = await asyncio.to_thread(self.store().open_chat, conversation)
                if chat is not None:
                    await self._to_agent(message, chat, rasa_only)
                    return
                draft = await asyncio.to_thread(self.tickets().draft, conversation)
                if draft is not None:
                    await self._ticket_step(message, draft, rasa_only)
                    return
                await self._resume_if_paused(conversation)
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
                buttons = [ticket_button(knowledge, service.key)] if service else []
                await self._send(message, nobody_online_text(knowledge, service), buttons)
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
        elif action == "ticket":
            await self._start_ticket(message, knowledge, str(arguments.get("service")))
        elif action == "skip":
            draft = await asyncio.to_thread(self.tickets().draft, conversation)
            if draft is not None and draft.status == tickets.PHONE:
                await self._submit_ticket(message, knowledge, draft, None)
            else:  # an old 「跳过」 button
                await self._send(message, knowledge.template("live_ticket_none"))
        elif action == "cancel":
            await asyncio.to_thread(self.tickets().cancel, conversation)
            text = knowledge.template("live_ticket_cancelled")
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

    # ---------- 留言 ----------

    async def _start_ticket(self, message: UserMessage, knowledge: Knowledge, service_key: str) -> None:
        """The customer chose 留言: they leave the queue or a silent chat, and write the problem next."""
        conversation = message.sender_id
        service = knowledge.services.get(service_key)
        if service is None:
            await self._send(message, nobody_online_text(knowledge))
            return
        left = await asyncio.to_thread(self.store().leave_queue, conversation, True)
        if left is not None and left.state == live_chat.ACTIVE:
            await asyncio.to_thread(self.store().add_message, left, live_chat.NOTE,
                                    knowledge.template("live_note_chose_ticket"))
        await asyncio.to_thread(self.tickets().start, conversation, service.key)
        text = knowledge.template("live_ticket_ask", service=service.short_name)
        await self._append(conversation, [ConversationPaused(), BotUttered(text)])
        await self._send(message, text, [self._cancel_ticket_button()])

    async def _ticket_step(self, message: UserMessage, draft: Ticket,
                           rasa_only: Callable[[UserMessage], Awaitable[Any]]) -> None:
        """A message while writing a ticket: the problem, then the callback number."""
        knowledge = load_knowledge()
        await rasa_only(message)  # paused: Rasa stores the turn and predicts nothing
        text = (message.text or "").strip()
        if draft.status == tickets.WRITING:
            if not text:
                await self._send(message, knowledge.template("live_ticket_empty"), [self._cancel_ticket_button()])
                return
            await asyncio.to_thread(self.tickets().write, draft, text[:2000])
            await self._send(message, knowledge.template("live_ticket_ask_phone"),
                             [{"title": knowledge.template("live_ticket_skip_button"),
                               "payload": CONTROL_PREFIX + "skip"}, self._cancel_ticket_button()])
            return
        phones = [mention.digits for mention in find_phone_numbers(normalize(text))]
        if not phones:
            await self._send(message, knowledge.template("live_ticket_phone_again"),
                             [{"title": knowledge.template("live_ticket_skip_button"),
                               "payload": CONTROL_PREFIX + "skip"}, self._cancel_ticket_button()])
            return
        await self._submit_ticket(message, knowledge, draft, phones[0])

    async def _submit_ticket(self, message: UserMessage, knowledge: Knowledge, draft: Ticket,
                             phone: Optional[str]) -> None:
        await asyncio.to_thread(self.tickets().submit, draft, phone)
        text = knowledge.template("live_ticket_done", id=str(draft.id))
        await self._append(message.sender_id, [ConversationResumed(), BotUttered(text)])
        await self._send(message, text)

    @staticmethod
    def _cancel_ticket_button() -> Dict[str, str]:
        return {"title": load_knowledge().template("live_ticket_cancel_button"), "payload": CONTROL_PREFIX + "cancel"}

    # ---------- the page opened and closed ----------

    async def _page_opened(self, sid: str, conversation: str) -> None:
        """Tells the page who is answering (after a reload too) and the agent that the customer is back."""
        try:
            chat = await asyncio.to_thread(self.store().open_chat, conversation)
            if chat is None or chat.state != live_chat.ACTIVE:
                return
            name = await self._agent_name(chat.agent_id)
            await self.sio.emit(LIVE_EVENT, {"agent": name}, room=sid, namespace=self.namespace)
            await self._note_for_agent(conversation, "live_note_page_back")
        except Exception:  # the store is down: the chat goes on without the notice
            logger.exception("Live chat: could not restore the state of conversation %s", conversation)

    async def _note_for_agent(self, conversation: str, template: str) -> None:
        try:
            chat = await asyncio.to_thread(self.store().open_chat, conversation)
            if chat is not None and chat.state == live_chat.ACTIVE:
                await asyncio.to_thread(self.store().add_message, chat, live_chat.NOTE,
                                        load_knowledge().template(template))
        except Exception:
            logger.exception("Live chat: could not tell the agent about conversation %s", conversation)

    # ---------- delivery of the agent's messages ----------

    async def _deliver_forever(self) -> None:
        if self._signal_url and (self._listener is None or self._listener.done()):
            self._listener = asyncio.create_task(self._listen(live_signal.LiveSignal(self._signal_url)))
        while self.sockets:
            wait_s = live_signal.FALLBACK_POLL_S if self._signal_url else POLL_S
            try:
                await asyncio.wait_for(self._signalled.wait(), wait_s)
            except asyncio.TimeoutError:
                pass
            self._signalled.clear()
            for step in (self._sweep, self._deliver_once, self._deliver_ticket_replies):
                try:
                    await step()
                except Exception:  # the store is unreachable for now: try again on the next round
                    logger.exception("Live chat delivery failed (%s)", step.__name__)

    async def _listen(self, signal: live_signal.LiveSignal) -> None:
        """Wakes the delivery loop when the page server signals a conversation connected here; subscribes again
        after a Redis failure (meanwhile the slow rounds deliver)."""
        while True:
            try:
                async for conversation in signal.conversations():
                    if conversation in self.sockets.values():
                        self._signalled.set()
            except Exception:  # Redis is down or restarting
                logger.warning("Live chat: the delivery signal is lost for now; delivering every %s s",
                               live_signal.FALLBACK_POLL_S, exc_info=True)
                await asyncio.sleep(live_signal.FALLBACK_POLL_S)

    async def _sweep(self) -> None:
        """The notices that are due, as messages of the chats (delivered below, with their buttons)."""
        knowledge = load_knowledge()
        store = self.store()
        for chat, notice in await asyncio.to_thread(store.sweep):
            position = await asyncio.to_thread(store.position, chat) if notice == live_chat.REQUEUED else 0
            if position:
                self.told_positions[chat.id] = position
            await asyncio.to_thread(store.add_message, chat, live_chat.BOT,
                                    notice_text(knowledge, notice, chat, position), notice)

    async def _deliver_ticket_replies(self) -> None:
        knowledge = load_knowledge()
        for ticket in await asyncio.to_thread(self.tickets().undelivered_replies, set(self.sockets.values())):
            text = ticket_reply_text(knowledge, ticket)

            async def delivered(ticket: Ticket = ticket, text: str = text) -> None:
                await self._append(ticket.conversation, [BotUttered(text)])
                await asyncio.to_thread(self.tickets().mark_reply_delivered, ticket)

            await self._emit_confirmed(("ticket", ticket.id, hash(ticket.reply)), ticket.conversation, delivered,
                                       text)

    async def _deliver_once(self) -> None:
        conversations = set(self.sockets.values())
        store = self.store()
        knowledge = load_knowledge()
        # Before the messages: the agent typed before sending, and the message clears the hint on the page.
        for chat in await asyncio.to_thread(store.typing, conversations):
            if self.told_typing.get(chat.id) != chat.agent_typing_at:
                self.told_typing[chat.id] = chat.agent_typing_at or 0.0
                await self.sio.emit(LIVE_EVENT, {"agent": await self._agent_name(chat.agent_id), "typing": True},
                                    room=chat.conversation, namespace=self.namespace)
        for chat, sent in await asyncio.to_thread(store.undelivered, conversations):
            if ("chat", chat.id, sent.n) in self.awaiting.on_its_way:
                continue
            text, buttons, live, events = sent.text, [], None, []
            if sent.kind in (live_chat.END, live_chat.HAND_BACK):
                await self._resume_if_paused(chat.conversation)  # the chat is over, seen or not: the bot answers
                buttons = rating_buttons(chat.id) if sent.kind == live_chat.END else []
                live, events = {"agent": None}, [BotUttered(sent.text, {"buttons": buttons})]
            elif sent.sender == live_chat.AGENT:
                name = await self._agent_name(sent.agent_id or chat.agent_id)
                text = knowledge.template("live_agent_says", name=as_plain_text(name), text=as_plain_text(sent.text))
                live = {"agent": name}
            elif sent.kind == live_chat.TAKEN:
                live = {"agent": await self._agent_name(chat.agent_id)}
            elif sent.kind in live_chat.NOTICES:
                if sent.kind == live_chat.REQUEUED:  # the text told the position (requeued or transferred)
                    self.told_positions[chat.id] = await asyncio.to_thread(self.store().position, chat)
                    live = {"agent": None}
                buttons = [] if sent.kind == live_chat.REQUEUED else [ticket_button(knowledge, chat.service)]
                if sent.kind in (live_chat.REQUEUED, live_chat.WAITED):
                    buttons += self._leave_buttons()

            async def delivered(chat: live_chat.Chat = chat, n: int = sent.n, events: List[Event] = events) -> None:
                if events:
                    await self._append(chat.conversation, events)
                await asyncio.to_thread(store.mark_delivered, chat.id, n)

            await self._emit_confirmed(("chat", chat.id, sent.n), chat.conversation, delivered, text, buttons, live)
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

    @staticmethod
    def _payload(text: str, buttons: Optional[List[Dict[str, str]]] = None) -> Dict[str, Any]:
        payload: Dict[str, Any] = {"text": text}
        if buttons:
            payload["quick_replies"] = [{"content_type": "text", **button} for button in buttons]
        return payload

    async def _emit(self, conversation: str, text: str, buttons: Optional[List[Dict[str, str]]] = None) -> None:
        """A message to the conversation's pages that needs no confirmation (the queue position, sent anew)."""
        await self.sio.emit(self.bot_message_evt, self._payload(text, buttons), room=conversation,
                            namespace=self.namespace)

    async def _emit_confirmed(self, key: Tuple[str, int, int], conversation: str,
                              delivered: Callable[[], Awaitable[None]], text: str,
                              buttons: Optional[List[Dict[str, str]]] = None,
                              live: Optional[Dict[str, Any]] = None) -> None:
        """A message to each page of the conversation connected here, asking it to confirm; `delivered` runs on
        the first confirmation. Skipped while an earlier sending of it is on its way to a page. `live` also tells
        the page who is answering (LIVE_EVENT)."""
        sockets = {sid for sid, connected in self.sockets.items() if connected == conversation}
        if not sockets or key in self.awaiting.on_its_way:
            return
        if live is not None:
            await self.sio.emit(LIVE_EVENT, live, room=conversation, namespace=self.namespace)
        await self.awaiting.send(key, sockets, self._payload(text, buttons), delivered)

    async def _append(self, conversation: str, events: List[Event]) -> None:
        """Adds events to the conversation's tracker, under its lock as a turn would."""
        agent = self.rasa_agent()
        async with agent.lock_store.lock(conversation):
            tracker = await agent.processor.get_tracker(conversation)
            for event in events:
                tracker.update(event)
            await agent.processor.save_tracker(tracker)

    async def _resume_if_paused(self, conversation: str) -> None:
        """The chat is over but the tracker is still paused: resume it."""
        tracker = await self.rasa_agent().tracker_store.retrieve(conversation)
        if tracker is not None and tracker.is_paused():
            await self._append(conversation, [ConversationResumed()])
