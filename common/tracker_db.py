"""The tracker database that endpoints.yml configures, for every process that reads or writes it: the Rasa server's
tracker store, the live-chat store (Rasa server, action server, page server), the operator console, erasure from
the command line and the tests.

SQLite (the default store of `make run`) is shared by those three servers at once, in WAL mode. One rule keeps that
safe: **no process opens or closes the database file, or its -wal and -shm files, other than through SQLite.**
SQLite's locks are POSIX advisory locks, and those belong to a process and a file: closing *any* descriptor of the
file in a process drops every lock that process holds on it, SQLite's own included. Another process then believes
it has the last connection, checkpoints and deletes the -wal and -shm files, and this process goes on writing turns
into the deleted files, where they are lost (issue 25: a retrain from the console built a second tracker store,
which opened the file to set its mode). SQLite itself never does that to itself, so everything goes through it:
creation (`create_private_database`), modes (chmod by path, which opens nothing), erasure and purge (SQL),
copies (sqlite3's backup API). `deleted_database_files` is the guard that notices if the rule is ever broken.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import urlsplit

import sqlalchemy as sa

logger = logging.getLogger(__name__)

SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
PRIVATE_FILE = 0o600
# How long a write waits for another process's write to finish before it fails ("database is locked").
SQLITE_BUSY_TIMEOUT_MS = 10000
# One pool per SQLite database and process, whoever asks (the tracker store, Rasa building another one for a
# hot-swapped model, the live-chat store): what check_database_files watches.
_SQLITE_ENGINES: Dict[str, sa.engine.Engine] = {}


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
    if is_sqlite_file(url):
        return sqlite_engine(url, synchronous_from_env(env))
    return sa.create_engine(url, pool_pre_ping=True)


def is_sqlite_file(url: sa.engine.URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")


def synchronous_from_env(env: Mapping[str, str] = os.environ) -> str:
    """TRACKER_DB_SYNCHRONOUS (default NORMAL): SQLite's `synchronous`. In WAL mode NORMAL keeps every committed
    turn through a crash of any process; FULL also syncs each commit to disk, so that a power cut keeps them too."""
    synchronous = env.get("TRACKER_DB_SYNCHRONOUS", "NORMAL").upper()
    if synchronous not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"TRACKER_DB_SYNCHRONOUS must be one of {SQLITE_SYNCHRONOUS}, not {synchronous!r}")
    return synchronous


def sqlite_engine(url: sa.engine.URL, synchronous: str = "NORMAL") -> sa.engine.Engine:
    """This process's pool of connections to a SQLite file, each in WAL mode with the same `synchronous` and busy
    timeout, whichever process opens it. The file is created private (0600) first if it does not exist yet."""
    path = os.path.realpath(url.database)
    if path not in _SQLITE_ENGINES:
        create_private_database(Path(path))
        _SQLITE_ENGINES[path] = _new_sqlite_engine(url.set(database=path), synchronous)
    return _SQLITE_ENGINES[path]


def _new_sqlite_engine(url: sa.engine.URL, synchronous: str) -> sa.engine.Engine:
    # SQLAlchemy 1.4 opens a new connection per query on a SQLite file (NullPool): keep a few instead.
    engine = sa.create_engine(url, poolclass=sa.pool.QueuePool, pool_size=5, max_overflow=10,
                              connect_args={"check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()

    return engine


def create_private_database(path: Path) -> None:
    """Makes the database file readable by the service user only: created empty with mode 0600 if it does not
    exist (SQLite gives its -wal and -shm files the database's mode), an existing one made 0600 by path.

    The only descriptor opened here is on a file this call has just created (O_EXCL): a new inode, on which no
    connection of this process can hold a lock. An existing database is never opened (see the module's rule)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE))
    except FileExistsError:
        pass
    os.chmod(path, PRIVATE_FILE)


def deleted_database_files(database: str, fd_dir: str = "/proc/self/fd") -> List[str]:
    """The files of this SQLite database (the database, -wal, -shm) that this process still has open although
    they were deleted: writes into them are lost when the process ends. Empty when all is well, or where
    /proc is not available."""
    prefix = os.path.realpath(database)
    found = set()
    try:
        descriptors = os.listdir(fd_dir)
    except OSError:
        return []
    for descriptor in descriptors:
        try:
            target = os.readlink(os.path.join(fd_dir, descriptor))
        except OSError:  # closed meanwhile
            continue
        if target.startswith(prefix) and target.endswith(" (deleted)"):
            found.add(target)
    return sorted(found)


def check_database_files() -> Optional[str]:
    """None while every SQLite database this process opened is the one on disk; otherwise an error, logged."""
    deleted = [path for database in sorted(_SQLITE_ENGINES) for path in deleted_database_files(database)]
    if not deleted:
        return None
    problem = (f"tracker database files deleted while this process (pid {os.getpid()}) still writes into them: "
               f"{', '.join(deleted)}. What it stores from now on is lost: restart it (see common/tracker_db.py)")
    logger.error(problem)
    return problem


class DeletedDatabaseFiles(RuntimeError):
    """This process writes into SQLite files that another process deleted: what it stores now is lost."""


def create_tables(metadata: sa.MetaData, engine: sa.engine.Engine) -> None:
    """Creates the tables of `metadata` that the database lacks. Processes starting together may race to create
    them: the loser's second try finds them there."""
    try:
        metadata.create_all(engine)
    except sa.exc.SQLAlchemyError:
        metadata.create_all(engine)
