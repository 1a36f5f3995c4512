"""The bot's answers on the socket.io channel, kept until the chat page confirms it stored them.

The widget shows a bot message after a short delay (customMessageDelay) and only then keeps it in
localStorage, which is all a reloaded page shows. A page reloaded, closed, or frozen by a phone in the
background before that would show the customer's question without its answer. So each answer asks for
socket.io's acknowledgement, which web/static/app.js sends once the widget stored the message. An answer
whose sockets are all gone without confirming it is sent again when the conversation's page connects
again (nginx keeps a page on its replica under make cluster; the answers wait in this process's memory
for at most ANSWER_KEPT_S).

AwaitingPages, the record of what is on its way to which socket, also serves live chat's messages
(live_channel.py), which are sent again from the live-chat store instead.

Clients that never acknowledge (a script on the socket) get an unconfirmed answer again after a reconnect;
python-socketio's client acknowledges by itself.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Hashable, List, Set

ANSWER_KEPT_S = 30 * 60  # a customer back within the half hour still finds the answer
MAX_KEPT = 50  # per conversation: the latest ones

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class PendingAnswer:
    payload: Dict[str, Any]
    sent_at: float


class AwaitingPages:
    """What was sent to pages and not confirmed yet (an answer here, a live-chat message in live_channel.py):
    key -> the sockets it is on its way to."""

    def __init__(self, sio: Any, namespace: str, bot_message_evt: str):
        self.sio = sio
        self.namespace = namespace
        self.bot_message_evt = bot_message_evt
        self.on_its_way: Dict[Hashable, Set[str]] = {}

    async def send(self, key: Hashable, sockets: Set[str], payload: Dict[str, Any],
                   delivered: Callable[[], Awaitable[None]]) -> None:
        """Emits the message to each socket; `delivered` runs on the first page's confirmation."""
        async def confirmed(*_: Any) -> None:
            if self.on_its_way.pop(key, None) is None:
                return  # another page confirmed it first
            try:
                await delivered()
            except Exception:  # the store is down: a live-chat message is sent again on the next connection
                logger.exception("Could not record the delivery of %s", key)

        if not sockets:
            return
        self.on_its_way.setdefault(key, set()).update(sockets)
        for sid in sockets:
            await self.sio.emit(self.bot_message_evt, payload, room=sid, namespace=self.namespace,
                                callback=confirmed)

    def socket_gone(self, sid: str) -> None:
        """What only that socket was bringing is no longer on its way: it may be sent again."""
        for key, sockets in list(self.on_its_way.items()):
            sockets.discard(sid)
            if not sockets:
                del self.on_its_way[key]


class AnswerDelivery:
    def __init__(self, awaiting: AwaitingPages, sockets: Dict[str, str]):
        self.awaiting = awaiting
        self.sockets = sockets  # socket id -> conversation (the live-chat channel keeps it up to date)
        self.pending: Dict[str, List[PendingAnswer]] = {}  # conversation -> answers not confirmed yet

    async def send(self, conversation: str, payload: Dict[str, Any]) -> None:
        """Rasa's SocketIOOutput._send_message: one bot message to the conversation's pages."""
        self._forget_old()
        answer = PendingAnswer(payload, time.monotonic())
        kept = self.pending.setdefault(conversation, [])
        kept.append(answer)
        del kept[:-MAX_KEPT]
        await self._send(conversation, answer, {sid for sid, c in self.sockets.items() if c == conversation})

    async def page_connected(self, sid: str, conversation: str) -> None:
        """Sends the answers no page of the conversation has on their way now, in order."""
        for answer in list(self.pending.get(conversation, [])):
            if answer not in self.awaiting.on_its_way:
                await self._send(conversation, answer, {sid})

    async def _send(self, conversation: str, answer: PendingAnswer, sockets: Set[str]) -> None:
        async def delivered() -> None:
            kept = self.pending.get(conversation, [])
            if answer in kept:
                kept.remove(answer)
            if not kept:
                self.pending.pop(conversation, None)

        await self.awaiting.send(answer, sockets, answer.payload, delivered)

    def _forget_old(self) -> None:
        oldest = time.monotonic() - ANSWER_KEPT_S
        for conversation, kept in list(self.pending.items()):
            for answer in kept:
                if answer.sent_at <= oldest:
                    self.awaiting.on_its_way.pop(answer, None)
            kept[:] = [answer for answer in kept if answer.sent_at > oldest]
            if not kept:
                del self.pending[conversation]
