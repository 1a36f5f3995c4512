"""The bot's answers on the socket.io channel, kept until the chat page confirms it stored them.

The widget shows a bot message after a short delay (customMessageDelay) and only then keeps it in
localStorage, which is all a reloaded page shows. A page reloaded, closed, or frozen by a phone in the
background before that would show the customer's question without its answer. So each answer asks for
socket.io's acknowledgement, which web/static/app.js sends once the widget stored the message. An answer
whose sockets are all gone without confirming it is sent again when the conversation's page connects
again (nginx keeps a page on its replica under make cluster; the answers wait in this process's memory
for at most ANSWER_KEPT_S).

Clients that never acknowledge (a script on the socket) get an unconfirmed answer again after a reconnect;
python-socketio's client acknowledges by itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Set

ANSWER_KEPT_S = 30 * 60  # a customer back within the half hour still finds the answer
MAX_KEPT = 50  # per conversation: the latest ones


@dataclass(eq=False)
class PendingAnswer:
    payload: Dict[str, Any]
    sent_at: float
    sockets: Set[str] = field(default_factory=set)  # the sockets it is on its way to


class AnswerDelivery:
    def __init__(self, sio: Any, namespace: str, bot_message_evt: str, sockets: Dict[str, str]):
        self.sio = sio
        self.namespace = namespace
        self.bot_message_evt = bot_message_evt
        self.sockets = sockets  # socket id -> conversation (the live-chat channel keeps it up to date)
        self.pending: Dict[str, List[PendingAnswer]] = {}  # conversation -> answers not confirmed yet

    async def send(self, conversation: str, payload: Dict[str, Any]) -> None:
        """Rasa's SocketIOOutput._send_message: one bot message to the conversation's pages."""
        self._forget_old()
        answer = PendingAnswer(payload, time.monotonic())
        kept = self.pending.setdefault(conversation, [])
        kept.append(answer)
        del kept[:-MAX_KEPT]
        await self._emit(conversation, answer, {sid for sid, c in self.sockets.items() if c == conversation})

    async def page_connected(self, sid: str, conversation: str) -> None:
        """Sends the answers no page of the conversation has now, in order."""
        for answer in list(self.pending.get(conversation, [])):
            if not answer.sockets:
                await self._emit(conversation, answer, {sid})

    def socket_gone(self, sid: str) -> None:
        for kept in self.pending.values():
            for answer in kept:
                answer.sockets.discard(sid)

    async def _emit(self, conversation: str, answer: PendingAnswer, sockets: Set[str]) -> None:
        async def confirmed(*_: Any) -> None:
            kept = self.pending.get(conversation, [])
            if answer in kept:
                kept.remove(answer)
            if not kept:
                self.pending.pop(conversation, None)

        answer.sockets |= sockets
        for sid in sockets:
            await self.sio.emit(self.bot_message_evt, answer.payload, room=sid, namespace=self.namespace,
                                callback=confirmed)

    def _forget_old(self) -> None:
        oldest = time.monotonic() - ANSWER_KEPT_S
        for conversation, kept in list(self.pending.items()):
            kept[:] = [answer for answer in kept if answer.sent_at > oldest]
            if not kept:
                del self.pending[conversation]
