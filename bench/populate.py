"""Fill a SQLite tracker database with many stored conversations, quickly.

The conversations are copies of real ones: the events the running assistant stored for the
benchmark's own conversations (read from its tracker database), each copy under a new sender
id and moved back in time by a random amount (1 hour to 30 days, seeded), timestamps in the
`timestamp` column and inside the event JSON alike. The table is Rasa's SQLTrackerStore schema,
created by Rasa's own class, so the server reads the copies exactly as conversations it stored.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from pathlib import Path
from typing import Dict, List, Tuple

Row = Tuple[str, float, str, str, str]  # type_name, timestamp, intent_name, action_name, data


def complete_conversations(db: Path, sender_prefix: str, limit: int = 50) -> List[List[Row]]:
    """Event rows of up to `limit` stored conversations whose senders start with sender_prefix,
    the longest first (they are the complete ones)."""
    with sqlite3.connect(db) as connection:
        senders = [
            sender
            for (sender,) in connection.execute(
                "SELECT sender_id FROM events WHERE sender_id LIKE ? GROUP BY sender_id "
                "ORDER BY count(*) DESC, sender_id LIMIT ?",
                (sender_prefix + "%", limit),
            )
        ]
        return [
            list(
                connection.execute(
                    "SELECT type_name, timestamp, intent_name, action_name, data FROM events "
                    "WHERE sender_id = ? ORDER BY id",
                    (sender,),
                )
            )
            for sender in senders
        ]


def create_schema(db: Path) -> None:
    """Creates Rasa's `events` table (and its index) with Rasa's own SQLTrackerStore."""
    from rasa.core.tracker_store import SQLTrackerStore

    store = SQLTrackerStore(dialect="sqlite", db=str(db))
    store.engine.dispose()


def populate(db: Path, templates: List[List[Row]], conversations: int, seed: int = 7) -> Dict[str, float]:
    """Writes `conversations` copies of the templates into db; returns counts and seconds."""
    if not templates:
        raise ValueError("no template conversations to copy")
    started = time.monotonic()
    create_schema(db)
    rng = random.Random(seed)
    now = time.time()
    senders = []
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")  # a bulk load; the server opens it normally
        rows = []
        for n in range(conversations):
            template = templates[n % len(templates)]
            sender = f"stored-{n:05d}"
            senders.append(sender)
            shift = now - template[-1][1] - rng.uniform(3600, 30 * 86400)
            for type_name, timestamp, intent, action, data in template:
                event = json.loads(data)
                if event.get("timestamp") is not None:
                    event["timestamp"] += shift
                rows.append((sender, type_name, timestamp + shift, intent, action, json.dumps(event)))
            if len(rows) > 50_000:
                connection.executemany(_INSERT, rows)
                rows.clear()
        connection.executemany(_INSERT, rows)
        connection.commit()
        events = connection.execute("SELECT count(*) FROM events").fetchone()[0]
    return {
        "conversations": conversations,
        "events": events,
        "seconds": round(time.monotonic() - started, 2),
        "db_mb": round(db.stat().st_size / 2**20, 1),
        "senders": senders,
    }


_INSERT = (
    "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
