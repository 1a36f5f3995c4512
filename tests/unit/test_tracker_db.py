"""The SQLite tracker database shared by several processes (common/tracker_db.py): the rule that keeps it safe, and
the guard that notices when it is broken. The durability suite (tests/durability) runs the same faults on the real
servers; these tests pin the mechanism down in a few seconds."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered

from common.tracker_db import check_database_files, create_private_database, deleted_database_files, engine_from_env
from rasa_server.tracker_store import DeletedDatabaseFiles, TunedSQLTrackerStore

ROOT = Path(__file__).resolve().parents[2]


def _domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


def _another_process_reads(db: Path) -> int:
    """Another server (the page server, say) opens the database, reads, and closes its connection."""
    code = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
            "print(c.execute('SELECT count(*) FROM events').fetchone()[0]); c.close()")
    return int(subprocess.run([sys.executable, "-c", code, str(db)], check=True, capture_output=True,
                              text=True).stdout)


async def _say(store: TunedSQLTrackerStore, sender: str, text: str) -> None:
    tracker = await store.get_or_create_tracker(sender)
    tracker.update(UserUttered(text, {"name": "greet", "confidence": 1.0}))
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)


async def test_a_second_store_for_a_new_model_keeps_the_database_files_alive(tmp_path):
    """The console's retrain makes Rasa build a second tracker store in the running server (issue 25). Building it
    must not drop this process's SQLite locks: otherwise the next process that closes its last connection deletes
    the -wal and -shm files, and every later turn goes into deleted files."""
    db = tmp_path / "tracker.db"
    domain = _domain()
    serving = TunedSQLTrackerStore(domain=domain, dialect="sqlite", db=str(db))
    await _say(serving, "before", "你好")
    _another_process_reads(db)

    swapped_in = TunedSQLTrackerStore(domain=domain, dialect="sqlite", db=str(db))
    assert swapped_in.engine is serving.engine  # one pool per database and process
    _another_process_reads(db)
    await _say(swapped_in, "after", "还在吗")

    assert deleted_database_files(str(db)) == []
    assert _another_process_reads(db) == 6  # both turns, seen by another process while this one runs


def test_a_new_database_is_created_private_and_an_existing_one_is_not_opened(tmp_path):
    db = tmp_path / "var" / "tracker.db"
    create_private_database(db)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    with sqlite3.connect(db) as connection:  # a connection of this process, holding its locks
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE events (id INTEGER)")
        os.chmod(db, 0o644)
        create_private_database(db)
        assert stat.S_IMODE(db.stat().st_mode) == 0o600
        assert not [fd for fd in os.listdir("/proc/self/fd") if _points_to(fd, db) and not _is_sqlites(fd, db)]


def _points_to(fd: str, db: Path) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{fd}").startswith(str(db))
    except OSError:
        return False


def _is_sqlites(fd: str, db: Path) -> bool:
    """SQLite's own descriptors are opened read-write; a leaked one of ours would be write-only."""
    with open(f"/proc/self/fdinfo/{fd}", encoding="ascii") as info:
        flags = int(next(line for line in info if line.startswith("flags:")).split()[1], 8)
    return flags & os.O_ACCMODE == os.O_RDWR


def test_every_process_opens_the_database_in_wal_mode_with_a_busy_timeout(tmp_path):
    engine = engine_from_env({"TRACKER_DB_DIALECT": "sqlite", "TRACKER_DB": str(tmp_path / "t.db")})
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    with pytest.raises(ValueError):
        engine_from_env({"TRACKER_DB": str(tmp_path / "u.db"), "TRACKER_DB_SYNCHRONOUS": "SOMETIMES"})


async def test_turns_are_refused_and_the_log_says_why_once_the_files_are_deleted(tmp_path, caplog):
    db = tmp_path / "tracker.db"
    store = TunedSQLTrackerStore(domain=_domain(), dialect="sqlite", db=str(db))
    await _say(store, "c1", "你好")
    assert check_database_files() is None

    for suffix in ("-wal", "-shm"):  # what another process did in issue 25
        os.unlink(f"{db}{suffix}")
    store._next_files_check = 0.0  # the guard looks at most once a second
    with caplog.at_level(logging.ERROR), pytest.raises(DeletedDatabaseFiles):
        await _say(store, "c1", "人呢")
    assert f"{db}-wal (deleted)" in caplog.text
    assert check_database_files() is not None
    store.engine.dispose()  # closes the deleted files: the next test's checks start clean
