"""Live chat with a person (在线人工): the queue, the agents, their messages and the ratings, in the tracker database.

Three processes share it: the Rasa server (the customer's socket.io channel, rasa_server/live_channel.py),
the page server (the agents' API, ops/live_api.py) and the action server (whether an agent of a service is
online, actions/handoff.py). It lives in its own tables of the tracker database (SQLite under `make run`,
PostgreSQL under `make cluster`), so an agent served by one process reaches a customer whose socket is on
another replica, and a replica that dies loses nothing: every message is a row with an increasing number.

A chat goes queued -> active (an agent took it) -> ended or handed_back; or queued -> left (the customer
left the queue). Texts are masked (common/privacy.py) before they are stored.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import sqlalchemy as sa

from common.privacy import mask_personal_data

# An agent counts as online while they said so and their console called the API this recently.
PRESENCE_TIMEOUT_S = 90.0

QUEUED, ACTIVE, ENDED, HANDED_BACK, LEFT = "queued", "active", "ended", "handed_back", "left"
OPEN_STATES = (QUEUED, ACTIVE)
RATINGS = ("satisfied", "neutral", "unsatisfied")

# Who wrote a message; "bot" is a notice of the service itself (taken over, ended, left the queue).
CUSTOMER, AGENT, BOT = "customer", "agent", "bot"
# What a message does besides being shown: the channel resumes the bot on END and HAND_BACK.
TEXT, TAKEN, END, HAND_BACK = "text", "taken", "end", "hand_back"

# The live-chat buttons' payloads start with this; rasa_server/live_channel.py handles them.
CONTROL_PREFIX = "/live_chat_"


def join_payload(service: str) -> str:
    """The 「在线人工」 button's payload: join the service's queue."""
    return CONTROL_PREFIX + "join" + json.dumps({"service": service})


metadata = sa.MetaData()

agents_table = sa.Table(
    "live_agents", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("services", sa.Text, nullable=False),  # JSON list of service keys
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # sha256 of the token, never the token
    sa.Column("online", sa.Boolean, nullable=False, default=False),
    sa.Column("seen_at", sa.Float, nullable=False, default=0.0),
)

chats_table = sa.Table(
    "live_chats", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation", sa.String(255), nullable=False, index=True),
    sa.Column("service", sa.String(64), nullable=False),
    sa.Column("topic", sa.String(64)),
    sa.Column("product", sa.String(64)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("agent_id", sa.Integer),
    sa.Column("queued_at", sa.Float, nullable=False),
    sa.Column("taken_at", sa.Float),
    sa.Column("closed_at", sa.Float),
    sa.Column("delivered", sa.Integer, nullable=False, default=0),  # last message number sent to the page
    sa.Column("rating", sa.String(16)),
    sa.Column("rating_reason", sa.String(64)),
)

messages_table = sa.Table(
    "live_messages", metadata,
    sa.Column("n", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("chat_id", sa.Integer, nullable=False, index=True),
    sa.Column("conversation", sa.String(255), nullable=False, index=True),
    sa.Column("sender", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)


@dataclass(frozen=True)
class Agent:
    id: int
    name: str
    services: Tuple[str, ...]
    online: bool


@dataclass(frozen=True)
class Chat:
    id: int
    conversation: str
    service: str
    topic: Optional[str]
    product: Optional[str]
    state: str
    agent_id: Optional[int]
    queued_at: float
    taken_at: Optional[float]
    closed_at: Optional[float]
    delivered: int
    rating: Optional[str]
    rating_reason: Optional[str]


@dataclass(frozen=True)
class Message:
    n: int
    chat_id: int
    conversation: str
    sender: str
    kind: str
    text: str
    at: float

    def as_dict(self) -> Dict[str, Any]:
        return {"n": self.n, "from": self.sender, "text": self.text, "at": self.at}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _agent(row: Any) -> Agent:
    return Agent(row.id, row.name, tuple(json.loads(row.services)), bool(row.online))


def _chat(row: Any) -> Chat:
    return Chat(**{column.name: getattr(row, column.name) for column in chats_table.columns})


def _message(row: Any) -> Message:
    return Message(**{column.name: getattr(row, column.name) for column in messages_table.columns})


class LiveChats:
    """The live-chat tables on one SQLAlchemy engine (created on first use if missing)."""

    def __init__(self, engine: sa.engine.Engine):
        self.engine = engine
        try:
            metadata.create_all(engine)
        except sa.exc.SQLAlchemyError:  # another process created them at the same moment
            metadata.create_all(engine)

    # ---------- agents ----------

    def create_agent(self, name: str, services: Sequence[str]) -> Tuple[int, str]:
        """A new agent: (id, token). The token is shown once; only its hash is kept."""
        token = secrets.token_urlsafe(24)
        with self.engine.begin() as connection:
            result = connection.execute(agents_table.insert().values(
                name=name, services=json.dumps(list(services)), token_hash=token_hash(token), online=False,
                seen_at=0.0))
            return int(result.inserted_primary_key[0]), token

    def agent_by_token(self, token: str) -> Optional[Agent]:
        """The agent with this token, marked as seen now (their console is open)."""
        if not token:
            return None
        digest = token_hash(token)
        with self.engine.begin() as connection:
            row = connection.execute(sa.select(agents_table).where(agents_table.c.token_hash == digest)).first()
            if row is None:
                return None
            connection.execute(agents_table.update().where(agents_table.c.id == row.id).values(seen_at=time.time()))
        return _agent(row)

    def agent(self, agent_id: int) -> Optional[Agent]:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(agents_table).where(agents_table.c.id == agent_id)).first()
        return _agent(row) if row else None

    def set_online(self, agent_id: int, online: bool) -> None:
        with self.engine.begin() as connection:
            connection.execute(agents_table.update().where(agents_table.c.id == agent_id)
                               .values(online=online, seen_at=time.time()))

    def online_services(self) -> set:
        """The services at least one agent is online for now."""
        query = sa.select(agents_table.c.services).where(
            agents_table.c.online.is_(True), agents_table.c.seen_at >= time.time() - PRESENCE_TIMEOUT_S)
        with self.engine.connect() as connection:
            return {service for (services,) in connection.execute(query) for service in json.loads(services)}

    # ---------- the customer's side ----------

    def open_chat(self, conversation: str) -> Optional[Chat]:
        """The conversation's chat that is queued or with an agent, if any."""
        query = (sa.select(chats_table).where(chats_table.c.conversation == conversation,
                                              chats_table.c.state.in_(OPEN_STATES))
                 .order_by(chats_table.c.id.desc()))
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return _chat(row) if row else None

    def chat(self, chat_id: int) -> Optional[Chat]:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(chats_table).where(chats_table.c.id == chat_id)).first()
        return _chat(row) if row else None

    def join_queue(self, conversation: str, service: str, topic: Optional[str], product: Optional[str]) -> Chat:
        """Queues the conversation for the service (or returns the chat it already has open)."""
        existing = self.open_chat(conversation)
        if existing is not None:
            return existing
        with self.engine.begin() as connection:
            result = connection.execute(chats_table.insert().values(
                conversation=conversation, service=service, topic=topic, product=product, state=QUEUED,
                queued_at=time.time(), delivered=0))
            chat_id = int(result.inserted_primary_key[0])
        chat = self.chat(chat_id)
        assert chat is not None
        return chat

    def position(self, chat: Chat) -> int:
        """1 for the next in its service's queue, 0 when it is not queued any more."""
        query = sa.select(sa.func.count()).select_from(chats_table).where(
            chats_table.c.service == chat.service, chats_table.c.state == QUEUED, chats_table.c.id <= chat.id)
        with self.engine.connect() as connection:
            current = connection.execute(sa.select(chats_table.c.state).where(chats_table.c.id == chat.id)).scalar()
            return int(connection.execute(query).scalar() or 0) if current == QUEUED else 0

    def leave_queue(self, conversation: str) -> Optional[Chat]:
        """The customer left the queue: the chat they left, or None if they were not queued."""
        chat = self.open_chat(conversation)
        if chat is None or chat.state != QUEUED:
            return None
        with self.engine.begin() as connection:
            changed = connection.execute(chats_table.update().where(
                chats_table.c.id == chat.id, chats_table.c.state == QUEUED).values(state=LEFT, closed_at=time.time()))
        return chat if changed.rowcount else None

    def add_message(self, chat: Chat, sender: str, text: str, kind: str = TEXT) -> Message:
        row = {"chat_id": chat.id, "conversation": chat.conversation, "sender": sender, "kind": kind,
               "text": mask_personal_data(text), "at": time.time()}
        with self.engine.begin() as connection:
            n = int(connection.execute(messages_table.insert().values(**row)).inserted_primary_key[0])
        return Message(n=n, **row)

    def undelivered(self, conversations: Iterable[str]) -> List[Tuple[Chat, Message]]:
        """Messages for the customer (from the agent or the service) not yet sent to their page, in order."""
        conversations = list(conversations)
        if not conversations:
            return []
        query = (sa.select(chats_table, messages_table.c.n, messages_table.c.sender, messages_table.c.kind,
                           messages_table.c.text, messages_table.c.at)
                 .select_from(messages_table.join(chats_table, messages_table.c.chat_id == chats_table.c.id))
                 .where(chats_table.c.conversation.in_(conversations), messages_table.c.n > chats_table.c.delivered,
                        messages_table.c.sender != CUSTOMER)
                 .order_by(messages_table.c.n))
        with self.engine.connect() as connection:
            rows = connection.execute(query).fetchall()
        return [(_chat(row), Message(row.n, row.id, row.conversation, row.sender, row.kind, row.text, row.at))
                for row in rows]

    def mark_delivered(self, chat_id: int, n: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(chats_table.update().where(chats_table.c.id == chat_id, chats_table.c.delivered < n)
                               .values(delivered=n))

    def queued_chats(self, conversations: Iterable[str]) -> List[Chat]:
        conversations = list(conversations)
        if not conversations:
            return []
        query = sa.select(chats_table).where(chats_table.c.conversation.in_(conversations),
                                             chats_table.c.state == QUEUED)
        with self.engine.connect() as connection:
            return [_chat(row) for row in connection.execute(query)]

    def rate(self, chat_id: int, conversation: str, rating: Optional[str] = None,
             reason: Optional[str] = None) -> bool:
        """Records the customer's rating (or the reason for it) of an ended chat of their conversation."""
        values = {"rating": rating} if rating else {"rating_reason": reason}
        with self.engine.begin() as connection:
            changed = connection.execute(chats_table.update().where(
                chats_table.c.id == chat_id, chats_table.c.conversation == conversation,
                chats_table.c.state == ENDED).values(**values))
        return bool(changed.rowcount)

    # ---------- the agent's side ----------

    def queue(self, services: Sequence[str]) -> List[Tuple[Chat, int]]:
        """The queued chats of these services, oldest first, with their position in their service's queue."""
        query = (sa.select(chats_table).where(chats_table.c.service.in_(list(services)),
                                              chats_table.c.state == QUEUED).order_by(chats_table.c.id))
        with self.engine.connect() as connection:
            chats = [_chat(row) for row in connection.execute(query)]
        positions: Dict[str, int] = {}
        listed = []
        for chat in chats:
            positions[chat.service] = positions.get(chat.service, 0) + 1
            listed.append((chat, positions[chat.service]))
        return listed

    def latest_chat(self, conversation: str) -> Optional[Chat]:
        query = (sa.select(chats_table).where(chats_table.c.conversation == conversation)
                 .order_by(chats_table.c.id.desc()))
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return _chat(row) if row else None

    def take(self, chat: Chat, agent: Agent) -> bool:
        """The agent takes a queued chat; False if it is not queued any more (taken by another, left)."""
        with self.engine.begin() as connection:
            changed = connection.execute(chats_table.update().where(
                chats_table.c.id == chat.id, chats_table.c.state == QUEUED).values(
                state=ACTIVE, agent_id=agent.id, taken_at=time.time()))
        return bool(changed.rowcount)

    def close(self, chat: Chat, state: str) -> bool:
        """Ends an active chat (ENDED) or hands it back to the bot (HANDED_BACK)."""
        with self.engine.begin() as connection:
            changed = connection.execute(chats_table.update().where(
                chats_table.c.id == chat.id, chats_table.c.state == ACTIVE).values(state=state, closed_at=time.time()))
        return bool(changed.rowcount)

    def messages(self, conversation: str, after: int = 0) -> List[Message]:
        query = (sa.select(messages_table).where(messages_table.c.conversation == conversation,
                                                 messages_table.c.n > after).order_by(messages_table.c.n))
        with self.engine.connect() as connection:
            return [_message(row) for row in connection.execute(query)]

    # ---------- figures for the dashboard ----------

    def summary(self, start: float, end: float) -> Dict[str, Any]:
        """Chats queued in [start, end): handled, waiting times, left the queue, ratings (all, per service,
        per agent)."""
        query = sa.select(chats_table).where(chats_table.c.queued_at >= start, chats_table.c.queued_at < end)
        with self.engine.connect() as connection:
            chats = [_chat(row) for row in connection.execute(query)]
            names = {row.id: row.name for row in connection.execute(sa.select(agents_table.c.id, agents_table.c.name))}
        waits = sorted(chat.taken_at - chat.queued_at for chat in chats if chat.taken_at is not None)

        def ratings(selected: List[Chat]) -> Dict[str, int]:
            return {rating: sum(1 for chat in selected if chat.rating == rating) for rating in RATINGS}

        handled = [chat for chat in chats if chat.agent_id is not None]
        return {
            "live_chats": len(handled),
            "live_wait_p50_s": _percentile(waits, 0.5),
            "live_wait_p90_s": _percentile(waits, 0.9),
            "live_abandoned": sum(1 for chat in chats if chat.state == LEFT),
            "ratings": ratings(chats),
            "live_by_service": {service: {"live_chats": sum(1 for c in handled if c.service == service),
                                          "ratings": ratings([c for c in chats if c.service == service])}
                                for service in sorted({chat.service for chat in chats})},
            "live_by_agent": {names.get(agent_id, str(agent_id)): {
                "live_chats": sum(1 for c in handled if c.agent_id == agent_id),
                "ratings": ratings([c for c in handled if c.agent_id == agent_id])}
                for agent_id in sorted({chat.agent_id for chat in handled})},
        }


def _percentile(values: List[float], fraction: float) -> Optional[float]:
    """Nearest-rank percentile of sorted values, rounded to a tenth of a second; None when there are none."""
    if not values:
        return None
    return round(values[max(0, math.ceil(fraction * len(values)) - 1)], 1)
