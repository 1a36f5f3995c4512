"""Live chat with a person (在线人工): the queue, the agents, their messages and the ratings, in the tracker database.

Three processes share it: the Rasa server (the customer's socket.io channel, rasa_server/live_channel.py),
the page server (the agents' API, ops/live_api.py) and the action server (whether an agent of a service is
online, actions/handoff.py). It lives in its own tables of the tracker database (SQLite under `make run`,
PostgreSQL under `make cluster`), so an agent served by one process reaches a customer whose socket is on
another replica, and a replica that dies loses nothing: every message is a row with an increasing number.

A chat goes queued -> active (an agent took it) -> ended or handed_back; or queued -> left (the customer
left the queue, or chose 留言). An active chat whose agent has not been seen for LiveLimits.agent_return_s goes
back to the head of the queue. Texts are masked (common/privacy.py) before they are stored.

Nobody is left in silence: `sweep` (run every second by each Rasa process that has customers connected)
claims each due notice once, by a conditional update of the chat's `notice` column, so that several
replicas never tell a customer twice: the agent did not come back (requeued), the last agent of the
service went offline, the queue took too long, or the agent has said nothing for a while.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import sqlalchemy as sa

from common.privacy import mask_personal_data


@dataclass(frozen=True)
class LiveLimits:
    """The live-chat times (docs/ops.md, Settings), from the environment."""
    agent_away_s: float = 45.0  # an online agent whose console has not called for this long is away
    agent_return_s: float = 120.0  # an away agent's active chat goes back to the head of the queue after this
    queue_limit_s: float = 300.0  # a customer queued this long is offered 留言
    silence_s: float = 300.0  # an active chat without an agent message this long: the customer is offered 留言

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> LiveLimits:
        names = {"agent_away_s": "LIVE_AGENT_AWAY_S", "agent_return_s": "LIVE_AGENT_RETURN_S",
                 "queue_limit_s": "LIVE_QUEUE_LIMIT_S", "silence_s": "LIVE_SILENCE_S"}
        return cls(**{field: float(env[name]) for field, name in names.items() if env.get(name)})


QUEUED, ACTIVE, ENDED, HANDED_BACK, LEFT = "queued", "active", "ended", "handed_back", "left"
OPEN_STATES = (QUEUED, ACTIVE)
RATINGS = ("satisfied", "neutral", "unsatisfied")

# Who wrote a message; "bot" is a notice of the service itself (taken over, ended, left the queue) to the
# customer; "note" is for the agent only (the customer closed or reopened the page).
CUSTOMER, AGENT, BOT, NOTE = "customer", "agent", "bot", "note"
# What a message does besides being shown: the channel resumes the bot on END and HAND_BACK. The notices
# of `sweep` carry their own kinds, and the page gets their buttons (留言, leave the queue).
TEXT, TAKEN, END, HAND_BACK = "text", "taken", "end", "hand_back"
REQUEUED, NOBODY_LEFT, WAITED, SILENT = "requeued", "nobody_left", "waited", "silent"
NOTICES = (REQUEUED, NOBODY_LEFT, WAITED, SILENT)

DEFAULT_MAX_CHATS = 3
TYPING_S = 4.0  # a keystroke shows 「正在输入」 this long: the agent's on the customer's page, and the other way

# The live-chat buttons' payloads start with this; rasa_server/live_channel.py handles them.
CONTROL_PREFIX = "/live_chat_"


def join_payload(service: str) -> str:
    """The 「在线人工」 button's payload: join the service's queue."""
    return CONTROL_PREFIX + "join" + json.dumps({"service": service})


def ticket_payload(service: str) -> str:
    """The 「留言」 button's payload: leave a message (a ticket) for the service's agents."""
    return CONTROL_PREFIX + "ticket" + json.dumps({"service": service})


metadata = sa.MetaData()

agents_table = sa.Table(
    "live_agents", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("services", sa.Text, nullable=False),  # JSON list of service keys
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # sha256 of the token, never the token
    sa.Column("online", sa.Boolean, nullable=False, default=False),
    sa.Column("seen_at", sa.Float, nullable=False, default=0.0),
    sa.Column("max_chats", sa.Integer),  # chats at once; None: DEFAULT_MAX_CHATS
    sa.Column("disabled", sa.Boolean),  # by the operator: the token stops working
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
    sa.Column("notice", sa.String(16)),  # the latest notice of `sweep` the chat got (each is claimed once)
    sa.Column("agent_typing_at", sa.Float),  # the agent's last keystroke in the reply box
    sa.Column("customer_typing_at", sa.Float),  # the customer's last keystroke, None once their message came
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
    sa.Column("agent_id", sa.Integer),  # who wrote an agent's message (a chat may be transferred)
)


@dataclass(frozen=True)
class Agent:
    id: int
    name: str
    services: Tuple[str, ...]
    online: bool
    max_chats: int = DEFAULT_MAX_CHATS
    disabled: bool = False
    seen_at: float = 0.0


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
    notice: Optional[str] = None
    agent_typing_at: Optional[float] = None
    customer_typing_at: Optional[float] = None

    def customer_is_typing(self, now: Optional[float] = None) -> bool:
        """The customer of this chat with an agent is typing: a keystroke within TYPING_S, not sent yet."""
        now = time.time() if now is None else now
        return (self.state == ACTIVE and self.customer_typing_at is not None
                and self.customer_typing_at >= now - TYPING_S)


@dataclass(frozen=True)
class Message:
    n: int
    chat_id: int
    conversation: str
    sender: str
    kind: str
    text: str
    at: float
    agent_id: Optional[int] = None

    def as_dict(self) -> Dict[str, Any]:
        return {"n": self.n, "from": self.sender, "text": self.text, "at": self.at}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _agent(row: Any) -> Agent:
    return Agent(row.id, row.name, tuple(json.loads(row.services)), bool(row.online),
                 row.max_chats or DEFAULT_MAX_CHATS, bool(row.disabled), row.seen_at)


class NameTaken(ValueError):
    """Another agent already has this name."""


def _chat(row: Any) -> Chat:
    return Chat(**{column.name: getattr(row, column.name) for column in chats_table.columns})


def _message(row: Any) -> Message:
    return Message(**{column.name: getattr(row, column.name) for column in messages_table.columns})


CREATE_ATTEMPTS = 5


def create_tables(engine: sa.engine.Engine) -> None:
    """Creates the live-chat tables that are missing, and adds the columns newer code added to older tables
    (all of them nullable, so existing rows stay valid)."""
    # The Rasa, action and page servers each call this when they start, so on a new database they race: a table
    # or column another process created between the check and the CREATE or ALTER fails this attempt, and the
    # next one finds it there. Two processes can each lose twice while they walk the tables, so a few attempts.
    for attempt in range(CREATE_ATTEMPTS):
        try:
            metadata.create_all(engine)
            inspector = sa.inspect(engine)
            with engine.begin() as connection:
                for table in metadata.sorted_tables:
                    present = {column["name"] for column in inspector.get_columns(table.name)}
                    for column in table.columns:
                        if column.name not in present:
                            kind = column.type.compile(dialect=engine.dialect)
                            connection.execute(sa.text(f'ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}'))
            return
        except sa.exc.SQLAlchemyError:
            if attempt == CREATE_ATTEMPTS - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


class LiveChats:
    """The live-chat tables on one SQLAlchemy engine (created on first use if missing)."""

    def __init__(self, engine: sa.engine.Engine, limits: Optional[LiveLimits] = None):
        self.engine = engine
        self.limits = limits or LiveLimits.from_env()
        create_tables(engine)

    # ---------- agents ----------

    def create_agent(self, name: str, services: Sequence[str], max_chats: int = DEFAULT_MAX_CHATS) -> Tuple[int, str]:
        """A new agent: (id, token). The token is shown once; only its hash is kept. NameTaken if the name is."""
        token = secrets.token_urlsafe(24)
        with self.engine.begin() as connection:
            self._check_name_free(connection, name)
            result = connection.execute(agents_table.insert().values(
                name=name, services=json.dumps(list(services)), token_hash=token_hash(token), online=False,
                seen_at=0.0, max_chats=max_chats, disabled=False))
            return int(result.inserted_primary_key[0]), token

    @staticmethod
    def _check_name_free(connection: Any, name: str, agent_id: Optional[int] = None) -> None:
        query = sa.select(agents_table.c.id).where(agents_table.c.name == name)
        if agent_id is not None:
            query = query.where(agents_table.c.id != agent_id)
        if connection.execute(query).first() is not None:
            raise NameTaken(name)

    def agents(self) -> List[Agent]:
        with self.engine.connect() as connection:
            return [_agent(row) for row in connection.execute(sa.select(agents_table).order_by(agents_table.c.id))]

    def edit_agent(self, agent_id: int, **changes: Any) -> bool:
        """Changes name, services, max_chats or disabled (a disabled agent is offline at once); False if there
        is no such agent, NameTaken if the new name is another's."""
        values = dict(changes)
        if "services" in values:
            values["services"] = json.dumps(list(values["services"]))
        if values.get("disabled"):
            values["online"] = False
        with self.engine.begin() as connection:
            if "name" in values:
                self._check_name_free(connection, values["name"], agent_id)
            changed = connection.execute(agents_table.update().where(agents_table.c.id == agent_id).values(**values))
        return bool(changed.rowcount)

    def new_token(self, agent_id: int) -> Optional[str]:
        """A new token for the agent (the old one stops working), or None if there is no such agent."""
        token = secrets.token_urlsafe(24)
        with self.engine.begin() as connection:
            changed = connection.execute(agents_table.update().where(agents_table.c.id == agent_id)
                                         .values(token_hash=token_hash(token), online=False))
        return token if changed.rowcount else None

    def agent_by_token(self, token: str) -> Optional[Agent]:
        """The agent with this token, marked as seen now (their console is open). An agent who was online
        but away (no call for agent_away_s: the tab was closed) comes back offline: they choose to go online."""
        if not token:
            return None
        digest = token_hash(token)
        now = time.time()
        with self.engine.begin() as connection:
            row = connection.execute(sa.select(agents_table).where(agents_table.c.token_hash == digest)).first()
            if row is None or row.disabled:
                return None
            values: Dict[str, Any] = {"seen_at": now}
            if row.online and row.seen_at < now - self.limits.agent_away_s:
                values["online"] = False
            connection.execute(agents_table.update().where(agents_table.c.id == row.id).values(**values))
        return replace(_agent(row), online=bool(values.get("online", row.online)), seen_at=now)

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
            agents_table.c.online.is_(True), agents_table.c.seen_at >= time.time() - self.limits.agent_away_s)
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
        with self.engine.connect() as connection:
            current = connection.execute(sa.select(chats_table.c.state, chats_table.c.queued_at)
                                         .where(chats_table.c.id == chat.id)).first()
            if current is None or current.state != QUEUED:
                return 0
            # Ordered by the time of joining: a chat requeued after its agent left keeps its own, so goes first.
            query = sa.select(sa.func.count()).select_from(chats_table).where(
                chats_table.c.service == chat.service, chats_table.c.state == QUEUED,
                sa.or_(chats_table.c.queued_at < current.queued_at,
                       sa.and_(chats_table.c.queued_at == current.queued_at, chats_table.c.id <= chat.id)))
            return int(connection.execute(query).scalar() or 0)

    def leave_queue(self, conversation: str, also_active: bool = False) -> Optional[Chat]:
        """The customer left the queue (or, with also_active, a chat whose agent fell silent, for 留言): the
        chat they left, or None if they had none."""
        chat = self.open_chat(conversation)
        if chat is None or (chat.state != QUEUED and not also_active):
            return None
        with self.engine.begin() as connection:
            changed = connection.execute(chats_table.update().where(
                chats_table.c.id == chat.id, chats_table.c.state == chat.state
            ).values(state=LEFT, closed_at=time.time()))
        return chat if changed.rowcount else None

    def add_message(self, chat: Chat, sender: str, text: str, kind: str = TEXT,
                    agent_id: Optional[int] = None) -> Message:
        row = {"chat_id": chat.id, "conversation": chat.conversation, "sender": sender, "kind": kind,
               "text": mask_personal_data(text), "at": time.time(), "agent_id": agent_id}
        with self.engine.begin() as connection:
            n = int(connection.execute(messages_table.insert().values(**row)).inserted_primary_key[0])
            if sender == CUSTOMER:  # what they were typing has come: the agent's 「客户正在输入」 goes
                connection.execute(chats_table.update().where(chats_table.c.id == chat.id)
                                   .values(customer_typing_at=None))
        return Message(n=n, **row)

    def undelivered(self, conversations: Iterable[str]) -> List[Tuple[Chat, Message]]:
        """Messages for the customer (from the agent or the service) not yet sent to their page, in order."""
        conversations = list(conversations)
        if not conversations:
            return []
        query = (sa.select(chats_table, messages_table.c.n, messages_table.c.sender, messages_table.c.kind,
                           messages_table.c.text, messages_table.c.at, messages_table.c.agent_id.label("author"))
                 .select_from(messages_table.join(chats_table, messages_table.c.chat_id == chats_table.c.id))
                 .where(chats_table.c.conversation.in_(conversations), messages_table.c.n > chats_table.c.delivered,
                        messages_table.c.sender.in_([AGENT, BOT]))
                 .order_by(messages_table.c.n))
        with self.engine.connect() as connection:
            rows = connection.execute(query).fetchall()
        return [(_chat(row), Message(row.n, row.id, row.conversation, row.sender, row.kind, row.text, row.at,
                                     row.author)) for row in rows]

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
                                              chats_table.c.state == QUEUED)
                 .order_by(chats_table.c.queued_at, chats_table.c.id))
        with self.engine.connect() as connection:
            chats = [_chat(row) for row in connection.execute(query)]
        positions: Dict[str, int] = {}
        listed = []
        for chat in chats:
            positions[chat.service] = positions.get(chat.service, 0) + 1
            listed.append((chat, positions[chat.service]))
        return listed

    def active_chats(self, agent: Agent) -> List[Chat]:
        """The agent's chats in progress (to give them back after a reload of the workspace)."""
        query = (sa.select(chats_table).where(chats_table.c.agent_id == agent.id, chats_table.c.state == ACTIVE)
                 .order_by(chats_table.c.taken_at))
        with self.engine.connect() as connection:
            return [_chat(row) for row in connection.execute(query)]

    def load(self) -> Tuple[Dict[int, int], Dict[str, int]]:
        """For the supervisor: chats in progress per agent id, customers queued per service."""
        with self.engine.connect() as connection:
            chats = dict(connection.execute(sa.select(chats_table.c.agent_id, sa.func.count())
                                            .where(chats_table.c.state == ACTIVE)
                                            .group_by(chats_table.c.agent_id)).fetchall())
            queued = dict(connection.execute(sa.select(chats_table.c.service, sa.func.count())
                                             .where(chats_table.c.state == QUEUED)
                                             .group_by(chats_table.c.service)).fetchall())
        return chats, queued

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
                state=ACTIVE, agent_id=agent.id, taken_at=time.time(), notice=None))
        return bool(changed.rowcount)

    def agent_typing(self, chat: Chat) -> None:
        with self.engine.begin() as connection:
            connection.execute(chats_table.update().where(chats_table.c.id == chat.id, chats_table.c.state == ACTIVE)
                               .values(agent_typing_at=time.time()))

    def customer_typing(self, conversation: str) -> bool:
        """The customer types in their chat with an agent (their page says so, without the text); False when
        the conversation has no chat with an agent now."""
        with self.engine.begin() as connection:
            changed = connection.execute(chats_table.update().where(
                chats_table.c.conversation == conversation, chats_table.c.state == ACTIVE
            ).values(customer_typing_at=time.time()))
        return bool(changed.rowcount)

    def typing(self, conversations: Iterable[str], within_s: float = TYPING_S) -> List[Chat]:
        """The active chats of these conversations whose agent is typing (a keystroke within `within_s`)."""
        conversations = list(conversations)
        if not conversations:
            return []
        query = sa.select(chats_table).where(chats_table.c.conversation.in_(conversations),
                                             chats_table.c.state == ACTIVE,
                                             chats_table.c.agent_typing_at >= time.time() - within_s)
        with self.engine.connect() as connection:
            return [_chat(row) for row in connection.execute(query)]

    def transfer_to_agent(self, chat: Chat, to: Agent) -> bool:
        """The chat goes on with another agent; False if it is not the same active chat any more."""
        with self.engine.begin() as connection:
            changed = connection.execute(chats_table.update().where(
                chats_table.c.id == chat.id, chats_table.c.state == ACTIVE, chats_table.c.agent_id == chat.agent_id
            ).values(agent_id=to.id, taken_at=time.time(), notice=None))
        return bool(changed.rowcount)

    def transfer_to_service(self, chat: Chat, service: str) -> Optional[Chat]:
        """The chat goes back to the queue, of `service`, keeping its time of joining (so first in line);
        None if it is not the same active chat any more."""
        with self.engine.begin() as connection:
            changed = connection.execute(chats_table.update().where(
                chats_table.c.id == chat.id, chats_table.c.state == ACTIVE, chats_table.c.agent_id == chat.agent_id
            ).values(state=QUEUED, service=service, agent_id=None, taken_at=None, notice=None))
        return self.chat(chat.id) if changed.rowcount else None

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

    # ---------- nobody left in silence ----------

    def _claim(self, chat: Chat, notice: str, **values: Any) -> bool:
        """Marks the chat as told `notice` (and applies `values`) unless it is not in the same state any
        more or was told already: True for the one process that wins."""
        with self.engine.begin() as connection:
            changed = connection.execute(chats_table.update().where(
                chats_table.c.id == chat.id, chats_table.c.state == chat.state,
                sa.or_(chats_table.c.notice.is_(None), chats_table.c.notice != notice)).values(notice=notice, **values))
        return bool(changed.rowcount)

    def sweep(self, now: Optional[float] = None) -> List[Tuple[Chat, str]]:
        """Claims the notices that are due, once each: (the chat as it is now, REQUEUED | NOBODY_LEFT |
        WAITED | SILENT). The caller adds the notice message; a REQUEUED chat is back in the queue."""
        now = time.time() if now is None else now
        limits = self.limits
        with self.engine.connect() as connection:
            chats = [_chat(row) for row in connection.execute(
                sa.select(chats_table).where(chats_table.c.state.in_(OPEN_STATES)))]
            if not chats:
                return []
            agents = {row.id: row for row in connection.execute(sa.select(agents_table))}
            last_agent_message = dict(connection.execute(
                sa.select(messages_table.c.chat_id, sa.func.max(messages_table.c.at))
                .where(messages_table.c.chat_id.in_([chat.id for chat in chats]), messages_table.c.sender == AGENT)
                .group_by(messages_table.c.chat_id)).fetchall())
        online = {service for agent in agents.values() if agent.online and agent.seen_at >= now - limits.agent_away_s
                  for service in json.loads(agent.services)}
        claimed = []
        for chat in chats:
            if chat.state == ACTIVE:
                agent = agents.get(chat.agent_id)
                if agent is None or agent.seen_at < now - limits.agent_return_s:
                    if self._claim(chat, REQUEUED, state=QUEUED, agent_id=None, taken_at=None):
                        claimed.append((self.chat(chat.id), REQUEUED))
                elif (now - max(last_agent_message.get(chat.id) or 0.0, chat.taken_at or 0.0) > limits.silence_s
                      and self._claim(chat, SILENT)):
                    claimed.append((chat, SILENT))
            elif chat.service not in online:
                if chat.notice != NOBODY_LEFT and self._claim(chat, NOBODY_LEFT):
                    claimed.append((chat, NOBODY_LEFT))
            elif now - chat.queued_at > limits.queue_limit_s and chat.notice not in (NOBODY_LEFT, WAITED):
                if self._claim(chat, WAITED):
                    claimed.append((chat, WAITED))
        return claimed

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
            "live_wait_p50_s": percentile(waits, 0.5),
            "live_wait_p90_s": percentile(waits, 0.9),
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


def percentile(values: List[float], fraction: float) -> Optional[float]:
    """Nearest-rank percentile of sorted values, rounded to a tenth of a second; None when there are none."""
    if not values:
        return None
    return round(values[max(0, math.ceil(fraction * len(values)) - 1)], 1)
