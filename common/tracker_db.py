"""The tracker database that endpoints.yml configures, for the processes that read or write it beside Rasa's
tracker store: the operator console, the live-chat store, erasure from the command line and the tests."""

from __future__ import annotations

import os
from typing import Mapping
from urllib.parse import urlsplit

import sqlalchemy as sa


def engine_from_env(env: Mapping[str, str] = os.environ) -> sa.engine.Engine:
    """An engine on the database the Rasa server uses: the URL Rasa's SQLTrackerStore.get_db_url builds from
    the same TRACKER_DB_* variables, written out because importing Rasa takes seconds (the action server
    and the page server use this too)."""
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


def create_tables(metadata: sa.MetaData, engine: sa.engine.Engine) -> None:
    """Creates the tables of `metadata` that the database lacks. Processes starting together may race to create
    them: the loser's second try finds them there."""
    try:
        metadata.create_all(engine)
    except sa.exc.SQLAlchemyError:
        metadata.create_all(engine)
