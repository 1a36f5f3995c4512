"""留言 (tickets): a customer whom nobody can take now leaves their problem and, if they like, a callback
number; an agent of the service replies later, and the reply reaches the customer's chat page when they
come back (same browser, same conversation).

A ticket is written in two steps on the chat page (rasa_server/live_channel.py): WRITING (the next message is
the problem) -> PHONE (the next one is a number, or 「跳过」) -> OPEN; then REPLIED by an agent (ops/live_api.py),
and CLOSED. Drafts are the customer's only: agents and figures see tickets from OPEN on. The text, the phone
number and the reply are masked (common/privacy.py) before they are stored, as every live-chat text is.
It is a table of the tracker database beside the live chats (common/live_chat.py), so every process and replica
sees the same tickets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence

import sqlalchemy as sa

from common.live_chat import create_tables, metadata, percentile
from common.privacy import mask_personal_data

WRITING, PHONE, OPEN, REPLIED, CLOSED = "writing", "phone", "open", "replied", "closed"
DRAFTS = (WRITING, PHONE)
LISTED = (OPEN, REPLIED, CLOSED)

tickets_table = sa.Table(
    "live_tickets", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation", sa.String(255), nullable=False, index=True),
    sa.Column("service", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False, default=""),
    sa.Column("phone", sa.String(32)),  # masked: 138****5678
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("at", sa.Float),  # submitted (OPEN)
    sa.Column("reply", sa.Text),
    sa.Column("replied_by", sa.String(64)),
    sa.Column("replied_at", sa.Float),  # the first reply, for the reply time
    sa.Column("reply_delivered", sa.Boolean, nullable=False, default=False),
    sa.Column("closed_at", sa.Float),
)


@dataclass(frozen=True)
class Ticket:
    id: int
    conversation: str
    service: str
    status: str
    text: str
    phone: Optional[str]
    started_at: float
    at: Optional[float]
    reply: Optional[str]
    replied_by: Optional[str]
    replied_at: Optional[float]
    reply_delivered: bool
    closed_at: Optional[float]

    def as_dict(self) -> Dict[str, Any]:
        return {"id": self.id, "service": self.service, "text": self.text, "phone": self.phone,
                "status": self.status, "at": self.at, "reply": self.reply, "replied_by": self.replied_by,
                "replied_at": self.replied_at, "closed_at": self.closed_at, "conversation": self.conversation}


def _ticket(row: Any) -> Ticket:
    return Ticket(**{column.name: getattr(row, column.name) for column in tickets_table.columns})


class Tickets:
    """The tickets table on one SQLAlchemy engine (created with the live-chat tables if missing)."""

    def __init__(self, engine: sa.engine.Engine):
        self.engine = engine
        create_tables(engine)

    def ticket(self, ticket_id: int) -> Optional[Ticket]:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(tickets_table).where(tickets_table.c.id == ticket_id)).first()
        return _ticket(row) if row else None

    def _update(self, ticket_id: int, statuses: Sequence[str], **values: Any) -> bool:
        with self.engine.begin() as connection:
            changed = connection.execute(tickets_table.update().where(
                tickets_table.c.id == ticket_id, tickets_table.c.status.in_(list(statuses))).values(**values))
        return bool(changed.rowcount)

    # ---------- the customer's side ----------

    def start(self, conversation: str, service: str) -> Ticket:
        """A new draft for the conversation (an earlier unfinished one is dropped)."""
        with self.engine.begin() as connection:
            connection.execute(tickets_table.delete().where(tickets_table.c.conversation == conversation,
                                                            tickets_table.c.status.in_(DRAFTS)))
            result = connection.execute(tickets_table.insert().values(
                conversation=conversation, service=service, status=WRITING, text="", started_at=time.time(),
                reply_delivered=False))
        ticket = self.ticket(int(result.inserted_primary_key[0]))
        assert ticket is not None
        return ticket

    def draft(self, conversation: str) -> Optional[Ticket]:
        """The conversation's ticket being written, if any."""
        query = (sa.select(tickets_table).where(tickets_table.c.conversation == conversation,
                                                tickets_table.c.status.in_(DRAFTS))
                 .order_by(tickets_table.c.id.desc()))
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return _ticket(row) if row else None

    def write(self, ticket: Ticket, text: str) -> bool:
        """The problem, masked; next comes the callback number."""
        return self._update(ticket.id, [WRITING], text=mask_personal_data(text), status=PHONE)

    def submit(self, ticket: Ticket, phone: Optional[str]) -> bool:
        """The ticket is open for the service's agents, with the callback number masked (or none)."""
        return self._update(ticket.id, [PHONE], status=OPEN, at=time.time(),
                            phone=mask_personal_data(phone) if phone else None)

    def cancel(self, conversation: str) -> bool:
        with self.engine.begin() as connection:
            changed = connection.execute(tickets_table.delete().where(
                tickets_table.c.conversation == conversation, tickets_table.c.status.in_(DRAFTS)))
        return bool(changed.rowcount)

    def undelivered_replies(self, conversations: Iterable[str]) -> List[Ticket]:
        conversations = list(conversations)
        if not conversations:
            return []
        query = (sa.select(tickets_table).where(tickets_table.c.conversation.in_(conversations),
                                                tickets_table.c.reply.is_not(None),
                                                tickets_table.c.reply_delivered.is_(False))
                 .order_by(tickets_table.c.replied_at))
        with self.engine.connect() as connection:
            return [_ticket(row) for row in connection.execute(query)]

    def mark_reply_delivered(self, ticket: Ticket) -> None:
        """Marks the reply that was sent as delivered (not a newer one written meanwhile)."""
        with self.engine.begin() as connection:
            connection.execute(tickets_table.update().where(tickets_table.c.id == ticket.id,
                                                            tickets_table.c.reply == ticket.reply)
                               .values(reply_delivered=True))

    # ---------- the agents' side ----------

    def listed(self, services: Optional[Sequence[str]] = None) -> List[Ticket]:
        """Submitted tickets (of these services, or all), open ones first, oldest first."""
        query = sa.select(tickets_table).where(tickets_table.c.status.in_(LISTED))
        if services is not None:
            query = query.where(tickets_table.c.service.in_(list(services)))
        with self.engine.connect() as connection:
            tickets = [_ticket(row) for row in connection.execute(query.order_by(tickets_table.c.id))]
        return sorted(tickets, key=lambda ticket: LISTED.index(ticket.status))

    def reply(self, ticket: Ticket, text: str, by: str) -> bool:
        """The agent's reply (a newer one replaces it and is delivered again); the first sets the reply time."""
        return self._update(ticket.id, [OPEN, REPLIED], status=REPLIED, reply=mask_personal_data(text),
                            replied_by=by, reply_delivered=False, replied_at=ticket.replied_at or time.time())

    def close(self, ticket: Ticket) -> bool:
        return self._update(ticket.id, [OPEN, REPLIED], status=CLOSED, closed_at=time.time())

    # ---------- figures for the dashboard ----------

    def summary(self, start: float, end: float, now: Optional[float] = None) -> Dict[str, Any]:
        """Open now and the oldest one's age; the reply time p50 of tickets submitted in [start, end)."""
        now = time.time() if now is None else now
        with self.engine.connect() as connection:
            open_at = [at for (at,) in connection.execute(
                sa.select(tickets_table.c.at).where(tickets_table.c.status == OPEN))]
            replied = connection.execute(sa.select(tickets_table.c.at, tickets_table.c.replied_at).where(
                tickets_table.c.at >= start, tickets_table.c.at < end, tickets_table.c.replied_at.is_not(None)))
            reply_times = sorted(replied_at - at for at, replied_at in replied)
        return {
            "tickets_open": len(open_at),
            "tickets_oldest_open_s": round(now - min(open_at), 1) if open_at else None,
            "tickets_reply_p50_s": percentile(reply_times, 0.5),
        }
