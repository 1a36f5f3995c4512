"""Reads conversations from the tracker store the Rasa server writes (SQLite or PostgreSQL), read-only.

The connection settings are the Rasa server's own (TRACKER_DB_DIALECT, TRACKER_DB_HOST, TRACKER_DB,
TRACKER_DB_USER, TRACKER_DB_PASSWORD; see endpoints.yml), so the console reads the same table.
Queries go through SQLAlchemy Core, so they are the same for both dialects.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, Dict, List, Optional

import sqlalchemy as sa

from common.knowledge_store import TRIAL_PREFIX

Event = Dict[str, Any]

_EVENTS = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("type_name", sa.String),
    sa.column("timestamp", sa.Float),
    sa.column("data", sa.Text),
)


class TrackerEvents:
    """The events table of Rasa's SQL tracker store, read by conversation."""

    def __init__(self, engine: sa.engine.Engine):
        self.engine = engine

    def _has_table(self) -> bool:
        # A fresh deployment has no table until the first message arrives.
        return sa.inspect(self.engine).has_table("events")

    def conversations_in(self, start: float, end: float) -> Dict[str, List[Event]]:
        """Conversations with a user message in [start, end) (Unix seconds): each one's events up to
        `end` in stored order, earlier ones included so that a click can be matched to its answer."""
        if not self._has_table():
            return {}
        active = (
            sa.select(_EVENTS.c.sender_id)
            .where(_EVENTS.c.type_name == "user", _EVENTS.c.timestamp >= start, _EVENTS.c.timestamp < end,
                   # the knowledge editor's test chats (试聊) are operators trying a draft, not customers
                   _EVENTS.c.sender_id.not_like(TRIAL_PREFIX + "%"))
            .distinct()
        )
        query = (
            sa.select(_EVENTS.c.sender_id, _EVENTS.c.data)
            .where(_EVENTS.c.sender_id.in_(active), _EVENTS.c.timestamp < end)
            .order_by(_EVENTS.c.sender_id, _EVENTS.c.id)
        )
        conversations: Dict[str, List[Event]] = defaultdict(list)
        with self.engine.connect() as connection:
            for sender_id, data in connection.execute(query):
                conversations[sender_id].append(json.loads(data))
        return dict(conversations)

    def conversation(self, sender_id: str) -> Optional[List[Event]]:
        """Every stored event of one conversation, all sessions, or None if there is no such conversation."""
        if not self._has_table():
            return None
        query = sa.select(_EVENTS.c.data).where(_EVENTS.c.sender_id == sender_id).order_by(_EVENTS.c.id)
        with self.engine.connect() as connection:
            events = [json.loads(data) for (data,) in connection.execute(query)]
        return events or None
