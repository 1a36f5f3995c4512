"""The tracker database that endpoints.yml configures, for the processes that read it without Rasa's
tracker store: the operator console, erasure from the command line and the tests."""

from __future__ import annotations

import os
from typing import Mapping

import sqlalchemy as sa


def engine_from_env(env: Mapping[str, str] = os.environ) -> sa.engine.Engine:
    """An engine on the database the Rasa server uses, from the same TRACKER_DB_* variables."""
    # Rasa's own URL builder, so that both always agree (host:port, escaping). Imported late: it is heavy,
    # and only callers that open the database pay for it.
    from rasa.core.tracker_store import SQLTrackerStore

    url = SQLTrackerStore.get_db_url(
        dialect=env.get("TRACKER_DB_DIALECT") or "sqlite",
        host=env.get("TRACKER_DB_HOST") or None,
        db=env.get("TRACKER_DB") or "var/tracker.db",
        username=env.get("TRACKER_DB_USER") or None,
        password=env.get("TRACKER_DB_PASSWORD") or None,
    )
    return sa.create_engine(url, pool_pre_ping=True)
