"""Reads conversations from the tracker store the Rasa server writes (SQLite or PostgreSQL), read-only.

The connection settings are the Rasa server's own (TRACKER_DB_DIALECT, TRACKER_DB_HOST, TRACKER_DB,
TRACKER_DB_USER, TRACKER_DB_PASSWORD; see endpoints.yml), so the console reads the same table.
Queries go through SQLAlchemy Core, so they are the same for both dialects.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import urlsplit

import sqlalchemy as sa

Event = Dict[str, Any]

_EVENTS = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("type_name", sa.String),
    sa.column("timestamp", sa.Float),
    sa.column("data", sa.Text),
)


def engine_from_env(env: Mapping[str, str] = os.environ) -> sa.engine.Engine:
    """An engine on the tracker database the Rasa server uses, with the URL Rasa's SQLTrackerStore.get_db_url
    builds from the same settings (written out: importing Rasa takes seconds, the action server uses this too)."""
    host = env.get("TRACKER_DB_HOST") or None
    if host and "://" in host:  # a complete database URL
        return sa.create_engine(host, pool_pre_ping=True)
    port = None
    if host:  # "host" or "host:port"
        parsed = urlsplit(f"scheme://{host}")
        host, port = parsed.hostname or host, parsed.port
    url = sa.engine.URL.create(
        env.get("TRACKER_DB_DIALECT") or "sqlite",
        username=env.get("TRACKER_DB_USER") or None,
        password=env.get("TRACKER_DB_PASSWORD") or None,
        host=host,
        port=port,
        database=env.get("TRACKER_DB") or "var/tracker.db",
    )
    return sa.create_engine(url, pool_pre_ping=True)


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
            .where(_EVENTS.c.type_name == "user", _EVENTS.c.timestamp >= start, _EVENTS.c.timestamp < end)
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
