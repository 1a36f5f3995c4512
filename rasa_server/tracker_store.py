"""Rasa's SQL tracker store, tuned for speed; what it stores and returns is unchanged.

endpoints.yml names this class instead of `type: SQL`. It is Rasa's `SQLTrackerStore` (same
table, same rows, same queries for other dialects such as MySQL) with these deployment settings:

- SQLite: connections are pooled and reused instead of opened for every read and write, and
  the database runs in WAL mode (readers never wait for the writer, one sync per commit
  instead of several), as every process sharing it opens it (common/tracker_db.py, which also
  says the rule that keeps that sharing safe). `TRACKER_DB_SYNCHRONOUS` (default NORMAL) sets
  SQLite's `synchronous`: with NORMAL a committed turn survives a crash of any process; FULL also
  syncs every commit to disk, for the last turns to survive a power cut as well. One pool per
  database and process: the store Rasa builds for a hot-swapped model shares the first one's.
  A turn is refused rather than written into database files another process deleted.
- SQLite and PostgreSQL: a turn's read and write are single SQL statements run through SQLAlchemy Core
  instead of the ORM (whose per-row objects and query building cost more than the database
  work itself): the same query for the latest session's events (ordered by id), the same
  count of the events already stored, and the same rows inserted, in one transaction.
- SQLite and PostgreSQL: the trackers of recent conversations stay in memory between turns (an LRU
  bounded by the events they hold together, `TRACKER_CACHE_EVENTS`, default 40,000; 0 turns it off).
  An event in memory costs about 1.8 KB (its parse data: the intent ranking, entities, metadata), so a
  20-message conversation (about 240 events) is about 430 KB and the default about 70 MB; a bound by
  conversations (1000 before) let a replica grow by hundreds of MB on long chats. Rebuilding a tracker from
  the database replays every event of the session, which made each turn slower than the one
  before. A kept tracker is used only while it is exactly what the database holds: no row was
  written for the conversation since (checked on every turn with the conversation's last row
  id, so writes by other processes are seen: with several replicas (`make cluster`), a turn
  that ran on another replica makes the next one here rebuild the tracker), nothing was added
  to it without being saved, it is the latest-session tracker this store handed out, and no new
  session was started in it.
  Otherwise it is rebuilt from the database as before.

Conversation history stays complete and persistent: every event of every turn is written
before the reply goes out, exactly as with Rasa's store; the database file can be read by
Rasa's own SQLTrackerStore and vice versa.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import os
import time
from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, TypeVar

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from common import cpu_clock
from common.erasure import erase_conversation, erasure_confirmed
from common.privacy import mask_events, mask_value, unmasked_events
from common.tracker_db import (
    DeletedDatabaseFiles,
    check_database_files,
    create_private_database,
    sqlite_engine,
    synchronous_from_env,
)
from rasa_server.rasa_internals import set_slot_value_quietly

logger = logging.getLogger(__name__)

FILES_CHECK_INTERVAL_S = 1.0

# Rasa's SQLTrackerStore._event_query, written out: the events of the latest session (those at
# or after the latest SessionStarted timestamp, or all when there is none), in id order.
_LATEST_SESSION = """
    FROM events, (SELECT max(timestamp) AS session_start FROM events
                  WHERE sender_id = :sender_id AND type_name = :session_started) AS latest
    WHERE events.sender_id = :sender_id
      AND (events.timestamp >= latest.session_start OR latest.session_start IS NULL)
"""
_SELECT_LATEST_SESSION = sa.text(f"SELECT events.data {_LATEST_SESSION} ORDER BY events.id")
_SELECT_ALL_SESSIONS = sa.text("SELECT data FROM events WHERE sender_id = :sender_id ORDER BY id")
_COUNT_LATEST_SESSION = sa.text(f"SELECT count(*) {_LATEST_SESSION}")
_LAST_ROW_ID = sa.text("SELECT max(id) FROM events WHERE sender_id = :sender_id")


# Failures of this store during the current message. Rasa wraps every tracker store in its
# FailSafeTrackerStore, which swallows them: it answers from an empty tracker (no context) and keeps the
# turn in process memory, not in the database. The channel (rasa_server/channels.py) sets a list here
# for each message and answers with the apology and the hotlines when something was recorded.
STORE_FAILURES: ContextVar[Optional[List[Exception]]] = ContextVar("tracker_store_failures", default=None)

_Result = TypeVar("_Result")


def _recording_failures(method: Callable[..., Awaitable[_Result]]) -> Callable[..., Awaitable[_Result]]:
    """Records the method's failures in STORE_FAILURES, and adds its CPU time to the tracker store's stage
    (common/cpu_clock.py: exact because the SQL runs without giving the event loop away)."""

    @functools.wraps(method)
    async def wrapper(*args: Any, **kwargs: Any) -> _Result:
        try:
            with cpu_clock.clocked("tracker_store"):
                return await method(*args, **kwargs)
        except Exception as error:
            failures = STORE_FAILURES.get()
            if failures is not None:
                failures.append(error)
            raise

    return wrapper


@dataclass
class _KeptTracker:
    """A tracker as it was saved: valid while the database and the tracker are both unchanged."""

    tracker: DialogueStateTracker
    saved_events: int
    last_row_id: int

    def is_current(self, last_row_id: Optional[int]) -> bool:
        return last_row_id == self.last_row_id and len(self.tracker.events) == self.saved_events


class TunedSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore with pooled, WAL-mode SQLite connections and recent trackers kept in memory."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        dialect: str = "sqlite",
        host: Optional[str] = None,
        port: Optional[int] = None,
        db: str = "rasa.db",
        username: str = None,
        password: str = None,
        event_broker: Optional[EventBroker] = None,
        login_db: Optional[str] = None,
        query: Optional[Dict] = None,
        **kwargs: Dict[str, Any],
    ) -> None:
        self._fast_path = False
        self._watch_database_files = False
        self._next_files_check = 0.0
        if dialect == "sqlite" and not host and db not in ("", ":memory:"):
            create_private_database(Path(db))  # conversations: readable by the service user only
        super().__init__(domain, dialect, host, port, db, username, password, event_broker, login_db, query,
                         **kwargs)
        if self.engine.dialect.name == "sqlite" and self.engine.url.database not in (None, "", ":memory:"):
            self._use_pooled_wal_sqlite()
        elif self.engine.dialect.name == "postgresql":
            self._use_core_queries_and_kept_trackers()

    def _use_pooled_wal_sqlite(self) -> None:
        url = self.engine.url
        self.engine.dispose()
        self.engine = sqlite_engine(url, synchronous_from_env())
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self._use_core_queries_and_kept_trackers()
        self._watch_database_files = True
        logger.debug("SQLite tracker store %s: pooled connections, WAL", url.database)

    def _use_core_queries_and_kept_trackers(self) -> None:
        """The single-statement reads and writes below, and trackers kept between turns (SQLite, PostgreSQL)."""
        self._fast_path = True
        self._kept: OrderedDict[str, _KeptTracker] = OrderedDict()
        self._kept_events = 0  # the sum of the kept trackers' saved_events
        self._kept_events_max = int(os.environ.get("TRACKER_CACHE_EVENTS", "40000"))

    @_recording_failures
    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> Optional[DialogueStateTracker]:
        if not self._fast_path:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        kept = None if fetch_events_from_all_sessions else self._kept.get(sender_id)
        with self.engine.connect() as connection:
            if kept is not None:
                if kept.is_current(self._last_row_id(connection, sender_id)):
                    self._kept.move_to_end(sender_id)
                    return kept.tracker
                self._forget(sender_id)
            query = _SELECT_ALL_SESSIONS if fetch_events_from_all_sessions else _SELECT_LATEST_SESSION
            rows = connection.execute(
                query, {"sender_id": sender_id, "session_started": SessionStarted.type_name}
            ).fetchall()
            # Only a latest-session tracker is kept for the next turn (retrieve_full_tracker's is not).
            last_row_id = None if fetch_events_from_all_sessions else self._last_row_id(connection, sender_id)
        events = [json.loads(data) for (data,) in rows]
        if not (self.domain and events):
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        self._keep(tracker, last_row_id)
        return tracker

    @_recording_failures
    async def save(self, tracker: DialogueStateTracker) -> None:
        self._refuse_deleted_database_files()
        if self._erase_or_mask(tracker):
            return
        if not self._fast_path:
            return await super().save(tracker)
        await self.stream_events(tracker)
        kept = self._forget(tracker.sender_id)
        with self.engine.begin() as connection:  # one transaction: count, insert, commit
            stored = connection.execute(
                _COUNT_LATEST_SESSION,
                {"sender_id": tracker.sender_id, "session_started": SessionStarted.type_name},
            ).scalar_one()
            new_events = list(itertools.islice(tracker.events, stored, len(tracker.events)))
            if new_events:
                connection.execute(
                    self.SQLEvent.__table__.insert(), [self._row(tracker.sender_id, event) for event in new_events]
                )
            # Keep only a tracker this store handed out for the conversation's latest session (not,
            # say, an all-sessions tracker from the HTTP API), and not once a new session started in
            # it: the database then returns only the new session's events, the tracker has the old too.
            keep = (kept is not None and kept.tracker is tracker
                    and not any(isinstance(event, SessionStarted) for event in new_events))
            last_row_id = self._last_row_id(connection, tracker.sender_id) if keep else None
        self._keep(tracker, last_row_id)  # after the commit

    def _refuse_deleted_database_files(self) -> None:
        """The guard of common/tracker_db.py's rule, at most once a second: a turn that would be written into
        deleted files fails instead (the channel then answers with the apology and the hotlines), and the
        log and the store's health check (rasa_server/health_api.py) say why."""
        if not self._watch_database_files or time.monotonic() < self._next_files_check:
            return
        self._next_files_check = time.monotonic() + FILES_CHECK_INTERVAL_S
        problem = check_database_files()
        if problem:
            raise DeletedDatabaseFiles(problem)

    def _erase_or_mask(self, tracker: DialogueStateTracker) -> bool:
        """Before anything is stored or streamed: erase the conversation if the customer just
        confirmed it (True: nothing left to save), else mask personal data in the new events, in
        place, so that the tracker kept in memory and the next turns see what the database holds."""
        new_events = unmasked_events(tracker.events)
        if erasure_confirmed(new_events):
            self.erase(tracker.sender_id)
            return True
        mask_events(new_events)
        for slot in tracker.slots.values():  # e.g. a phone number taken from an entity
            if slot.value is not None:
                set_slot_value_quietly(slot, mask_value(slot.value))
        return False

    def erase(self, sender_id: str) -> int:
        """Deletes every stored event of one conversation (and forgets its kept tracker)."""
        if self._fast_path:
            self._forget(sender_id)
        return erase_conversation(self.engine, sender_id)

    def forget_kept_trackers(self) -> None:
        """After rows were deleted behind the conversations' backs (retention): rebuild every tracker."""
        if self._fast_path:
            self._kept.clear()
            self._kept_events = 0

    @staticmethod
    def _last_row_id(connection: Any, sender_id: str) -> Optional[int]:
        return connection.execute(_LAST_ROW_ID, {"sender_id": sender_id}).scalar()

    def _keep(self, tracker: DialogueStateTracker, last_row_id: Optional[int]) -> None:
        """Remember a tracker that is exactly what the database holds, for the conversation's next turn; the
        least recently used ones go while the kept events are over the budget."""
        if last_row_id is None or self._kept_events_max <= 0 or len(tracker.events) > self._kept_events_max:
            return
        self._forget(tracker.sender_id)
        self._kept[tracker.sender_id] = _KeptTracker(tracker, len(tracker.events), last_row_id)
        self._kept_events += len(tracker.events)
        while self._kept_events > self._kept_events_max:
            self._forget(next(iter(self._kept)))

    def _forget(self, sender_id: str) -> Optional[_KeptTracker]:
        kept = self._kept.pop(sender_id, None)
        if kept is not None:
            self._kept_events -= kept.saved_events
        return kept

    @staticmethod
    def _row(sender_id: str, event: Any) -> Dict[str, Any]:
        """The column values Rasa's SQLTrackerStore.save stores for one event."""
        data = event.as_dict()
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }
