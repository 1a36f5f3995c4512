"""rasa_server.tracker_store changes speed only: same rows, same trackers, same errors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

from rasa_server.tracker_store import TunedSQLTrackerStore

ROOT = Path(__file__).resolve().parents[2]


def _domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


async def _talk(store_class: type, db: Path, domain: Domain) -> dict:
    store = store_class(domain=domain, dialect="sqlite", db=str(db))
    for sender in ("a", "b"):
        await store.get_or_create_tracker(sender)
        for turn in range(3):
            tracker = await store.retrieve(sender)
            tracker.update(UserUttered("你好", {"name": "greet", "confidence": 0.9}, timestamp=1000.0 + turn))
            tracker.update(SlotSet("product", "alipay", timestamp=1000.0 + turn))
            tracker.update(BotUttered("您好", timestamp=1000.0 + turn))
            tracker.update(ActionExecuted("action_listen", timestamp=1000.0 + turn))
            await store.save(tracker)
        tracker = await store.retrieve(sender)
        for event in (ActionExecuted("action_session_start", timestamp=2000.0), SessionStarted(timestamp=2000.0),
                      ActionExecuted("action_listen", timestamp=2000.0), UserUttered("再见", timestamp=2001.0)):
            tracker.update(event)
        await store.save(tracker)

    def plain(tracker):
        return [{k: v for k, v in e.as_dict().items() if k != "timestamp"} for e in tracker.events]

    result = {}
    for sender in ("a", "b"):
        latest, full = await store.retrieve(sender), await store.retrieve_full_tracker(sender)
        result[sender] = (plain(latest), plain(full), latest.current_slot_values())
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT id, sender_id, type_name, intent_name, action_name, data FROM events")
        result["rows"] = [(*row[:5], {k: v for k, v in json.loads(row[5]).items() if k != "timestamp"})
                          for row in rows]
    assert await store.retrieve("nobody") is None
    return result


async def test_tuned_store_stores_and_returns_what_rasas_store_does(tmp_path):
    domain = _domain()
    expected = await _talk(SQLTrackerStore, tmp_path / "rasa.db", domain)
    actual = await _talk(TunedSQLTrackerStore, tmp_path / "tuned.db", domain)
    assert actual == expected
    assert len(actual["a"][0]) < len(actual["a"][1])  # the latest session only, then all sessions
    with sqlite3.connect(tmp_path / "tuned.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_rasas_store_reads_what_the_tuned_store_wrote(tmp_path):
    domain = _domain()
    written = await _talk(TunedSQLTrackerStore, tmp_path / "t.db", domain)
    store = SQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "t.db"))
    tracker = await store.retrieve_full_tracker("a")
    assert [{k: v for k, v in e.as_dict().items() if k != "timestamp"} for e in tracker.events] == written["a"][1]


def _turn(tracker, text: str) -> None:
    tracker.update(UserUttered(text, {"name": "greet", "confidence": 0.9}))
    tracker.update(BotUttered("您好"))
    tracker.update(ActionExecuted("action_listen"))


def _texts(tracker) -> list:
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]


async def _conversation(store, sender: str = "u") -> None:
    await store.get_or_create_tracker(sender)
    for text in ("一", "二"):
        tracker = await store.retrieve(sender)
        _turn(tracker, text)
        await store.save(tracker)


async def test_a_conversation_continues_from_its_kept_tracker(tmp_path):
    store = TunedSQLTrackerStore(domain=_domain(), dialect="sqlite", db=str(tmp_path / "t.db"))
    await _conversation(store)
    tracker = await store.retrieve("u")
    assert await store.retrieve("u") is tracker  # not rebuilt from every event of the session


async def test_a_kept_tracker_is_never_older_or_newer_than_the_database(tmp_path, monkeypatch):
    domain = _domain()
    store = TunedSQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "t.db"))
    await _conversation(store)

    # A turn that failed before it was saved: the next turn must not see its events.
    tracker = await store.retrieve("u")
    _turn(tracker, "没保存")
    assert _texts(await store.retrieve("u")) == ["一", "二"]

    # Another server process (another Sanic worker) continues the conversation: this one sees it.
    other = TunedSQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "t.db"))
    tracker = await other.retrieve("u")
    _turn(tracker, "三")
    await other.save(tracker)
    assert _texts(await store.retrieve("u")) == ["一", "二", "三"]

    # Turned off: every turn reads the database, as Rasa's store does.
    monkeypatch.setenv("TRACKER_CACHE_EVENTS", "0")
    uncached = TunedSQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "t.db"))
    assert await uncached.retrieve("u") is not await uncached.retrieve("u")


async def test_kept_trackers_are_bounded_by_the_events_they_hold(tmp_path, monkeypatch):
    store = TunedSQLTrackerStore(domain=_domain(), dialect="sqlite", db=str(tmp_path / "t.db"))
    await _conversation(store, "a")
    one_conversation = len((await store.retrieve("a")).events)
    monkeypatch.setenv("TRACKER_CACHE_EVENTS", str(2 * one_conversation))
    store = TunedSQLTrackerStore(domain=_domain(), dialect="sqlite", db=str(tmp_path / "t.db"))
    for sender in ("a", "b", "c"):
        if sender != "a":
            await _conversation(store, sender)
        await store.retrieve(sender)
    assert list(store._kept) == ["b", "c"]
    assert store._kept_events == 2 * one_conversation
    store.erase("b")
    assert list(store._kept) == ["c"] and store._kept_events == one_conversation


async def test_personal_data_is_masked_in_the_rows_and_in_the_tracker_kept_for_the_next_turn(tmp_path):
    store = TunedSQLTrackerStore(domain=_domain(), dialect="sqlite", db=str(tmp_path / "t.db"))
    await store.get_or_create_tracker("a")
    tracker = await store.retrieve("a")  # a tracker the store hands out is kept between turns
    entity = {"entity": "phone_number", "value": "13812345678", "start": 2, "end": 13}
    tracker.update(UserUttered("手机13812345678", {"name": "fraud_check", "confidence": 0.9}, [entity]))
    assert tracker.latest_message.entities[0]["value"] == "13812345678"  # in flight: the full number
    await store.save(tracker)

    with sqlite3.connect(tmp_path / "t.db") as connection:
        rows = " ".join(data for (data,) in connection.execute("SELECT data FROM events"))
    kept = await store.retrieve("a")
    assert kept is tracker  # the kept tracker, masked like the rows
    assert "13812345678" not in rows and "138****5678" in rows
    assert kept.latest_message.text == "手机138****5678"
    assert kept.latest_message.entities[0]["value"] == "138****5678"


async def test_the_turn_that_confirms_deletion_erases_instead_of_saving(tmp_path):
    store = TunedSQLTrackerStore(domain=_domain(), dialect="sqlite", db=str(tmp_path / "t.db"))
    tracker = await store.get_or_create_tracker("a")
    tracker.update(UserUttered("银行卡6222021234560202", {"name": "duplicate_charge", "confidence": 0.9}))
    await store.save(tracker)
    tracker = await store.retrieve("a")
    for event in (UserUttered("/affirm", {"name": "affirm", "confidence": 1.0}),
                  ActionExecuted("action_delete_history"), BotUttered("已删除")):
        tracker.update(event)
    await store.save(tracker)
    with sqlite3.connect(tmp_path / "t.db") as connection:
        assert connection.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    assert await store.retrieve("a") is None
