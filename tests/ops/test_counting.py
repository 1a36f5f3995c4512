"""ops.metrics, the console's counting, over a real SQLite tracker store that real conversations filled
(the known mix, sent through the real Rasa server and action server), read as the console reads it;
and over the same rows in a real PostgreSQL 15, the cluster's tracker store."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Iterator

import pytest
import sqlalchemy as sa

from common.knowledge import load_knowledge
from devtools import conversation_mix as mix
from devtools.servers import LocalPostgres
from ops import metrics
from ops.store import TrackerEvents


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(request, mix_database) -> Iterator[TrackerEvents]:
    sqlite = sa.create_engine(f"sqlite:///{mix_database}")
    if request.param == "sqlite":
        yield TrackerEvents(sqlite)
        return
    if not LocalPostgres.available():
        pytest.skip("no PostgreSQL 15 here (/usr/lib/postgresql/15/bin and a postgres user)")
    postgres = LocalPostgres().start()
    try:
        env = postgres.tracker_env()
        engine = sa.create_engine(f"postgresql://rasa:{env['TRACKER_DB_PASSWORD']}@{env['TRACKER_DB_HOST']}/rasa")
        events = sa.Table("events", sa.MetaData(), autoload_with=sqlite)  # Rasa's schema, as Rasa made it
        events.create(engine)
        with sqlite.connect() as source, engine.begin() as target:
            target.execute(events.insert(), [dict(row._mapping) for row in source.execute(events.select())])
        yield TrackerEvents(engine)
        engine.dispose()
    finally:
        postgres.stop()


@pytest.fixture(scope="module")
def today() -> metrics.Period:
    return metrics.Period.parse(None, None, default_days=1)


def test_every_figure_of_the_mix(store, today, senders):
    conversations = store.conversations_in(today.start, today.end)
    figures = metrics.summary(conversations, today, load_knowledge())
    for key, expected in mix.EXPECTED.items():
        assert figures[key] == expected, key
    assert sum(figures["hours"].values()) == mix.EXPECTED["user_messages"]
    assert sum(figures["handoff_hours"].values()) == mix.EXPECTED["handoffs"]
    # Only 天星金融 publishes staffed hours: its one handoff counts as "while closed" outside 09:00-18:00.
    hotline_turn = next(t for t in metrics.turns_of(senders["hotline"], conversations[senders["hotline"]])
                        if t.text == mix.TIANXING_HANDOFF[1])
    closed = not load_knowledge().services["tianxing_loan"].hours.is_open(hotline_turn.local_time)
    assert figures["handoffs_while_closed"] == int(closed)
    assert figures["services"]["tianxing_loan"]["handoffs_while_closed"] == int(closed)
    assert [t["intent"] for t in figures["topics"]][0] == "fraud_check"
    assert figures["topics"][0]["trend"] == [6]


def test_periods_are_beijing_days(store, senders):
    beijing_today = metrics.Period.parse(None, None).last
    yesterday = metrics.Period(beijing_today - timedelta(days=1), beijing_today - timedelta(days=1))
    assert metrics.summary(store.conversations_in(yesterday.start, yesterday.end), yesterday,
                           load_knowledge())["user_messages"] == 0
    week = metrics.Period.parse(None, None)
    assert (week.last - week.first).days == 6
    assert metrics.summary(store.conversations_in(week.start, week.end), week, load_knowledge())["days"][-1] == \
        beijing_today.isoformat()
    new_year = metrics.Period(date(2026, 1, 1), date(2026, 1, 1))
    assert (new_year.start, new_year.end) == (1767196800.0, 1767283200.0)  # from 2025-12-31 16:00 UTC, one day


def test_period_parsing():
    assert metrics.Period.parse("2026-03-01", "2026-03-31").days()[-1] == date(2026, 3, 31)
    for first, last in [("2026-03-02", "2026-03-01"), ("2025-01-01", "2026-03-01"), ("yesterday", None)]:
        with pytest.raises(ValueError):
            metrics.Period.parse(first, last)


def test_review_candidates_of_the_mix(store, today):
    candidates = metrics.review_candidates(store.conversations_in(today.start, today.end), today, 0.5)
    found = {}
    for candidate in candidates:
        found.setdefault(candidate.turn.text.rstrip("！").removeprefix("我的"), []).append(candidate.reason)
    assert {text: (reasons[0], len(reasons)) for text, reasons in found.items()} == mix.EXPECTED_INBOX
    assert all(not c.turn.is_click for c in candidates)


def test_a_conversation_reads_back_whole(store, senders):
    events = store.conversation(senders["numbers"])
    assert [t.text for t in metrics.turns_of(senders["numbers"], events)] == [m for m, _ in dict(mix.MIX)["numbers"]]
    assert store.conversation("nobody") is None
