"""Deleting conversations from the tracker store: on a customer's request, by an operator, after RETENTION_DAYS.

All of it is plain SQL on the `events` table of Rasa's SQL tracker store (one row per event), so it is
the same for SQLite and PostgreSQL, and for every process reading the database. Callers:
- the tracker store, when it saves a turn in which the customer confirmed the deletion
  (ERASE_ACTION ran): the conversation is erased instead of saved;
- the operators' HTTP API (rasa_server/privacy_api.py);
- the retention schedule inside the Rasa server (rasa_server/privacy_api.py) and `make purge`:
  `python -m common.erasure purge`, or `python -m common.erasure delete CONVERSATION_ID`.
The action that asks for the erasure (actions/privacy.py) shares ERASE_ACTION and CLEAR_PAGE_MESSAGE.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from typing import Any, Iterable, Optional

import sqlalchemy as sa

from common import tracker_db

logger = logging.getLogger(__name__)

# The action that runs once the customer confirmed "删除我的聊天记录" (actions/privacy.py).
ERASE_ACTION = "action_delete_history"
# Sent with its reply: the chat page then forgets its local copy of the conversation (web/static/app.js).
# Rasa's socket.io channel emits a custom message's "data" as the event's payload: {"clear_history": true}.
CLEAR_PAGE_MESSAGE = {"data": {"clear_history": True}}

DEFAULT_RETENTION_DAYS = 180

_DELETE_CONVERSATION = sa.text("DELETE FROM events WHERE sender_id = :sender_id")
_DELETE_OLDER_THAN = sa.text("DELETE FROM events WHERE timestamp < :cutoff")
# What the customer and an agent wrote in a live chat (common/live_chat.py) goes with the conversation;
# the chat's own row (service, times, rating: no text) stays for the console's figures.
LIVE_MESSAGES = "live_messages"
_DELETE_LIVE_CONVERSATION = sa.text(f"DELETE FROM {LIVE_MESSAGES} WHERE conversation = :sender_id")
_DELETE_LIVE_OLDER_THAN = sa.text(f"DELETE FROM {LIVE_MESSAGES} WHERE at < :cutoff")


def erasure_confirmed(events: Iterable[Any]) -> bool:
    """True when these events (one turn's) include the deletion the customer confirmed."""
    return any(getattr(event, "action_name", None) == ERASE_ACTION for event in events)


def erase_conversation(engine: sa.engine.Engine, sender_id: str) -> int:
    """Deletes every stored event of one conversation, all sessions; returns how many rows went."""
    with engine.begin() as connection:
        deleted = connection.execute(_DELETE_CONVERSATION, {"sender_id": sender_id}).rowcount
        if sa.inspect(connection).has_table(LIVE_MESSAGES):
            connection.execute(_DELETE_LIVE_CONVERSATION, {"sender_id": sender_id})
    logger.info("Erased a conversation on request: %d events deleted", deleted)
    return deleted


def retention_days(env: Optional[dict] = None) -> float:
    env = os.environ if env is None else env
    days = float(env.get("RETENTION_DAYS") or DEFAULT_RETENTION_DAYS)
    if days <= 0:
        raise ValueError(f"RETENTION_DAYS must be positive, not {days}")
    return days


def purge_expired(engine: sa.engine.Engine, days: float, now: Optional[float] = None) -> int:
    """Deletes every event older than `days` (a conversation with nothing newer disappears); returns the count."""
    cutoff = (time.time() if now is None else now) - days * 86400
    with engine.begin() as connection:
        if not sa.inspect(connection).has_table("events"):
            return 0
        deleted = connection.execute(_DELETE_OLDER_THAN, {"cutoff": cutoff}).rowcount
        if sa.inspect(connection).has_table(LIVE_MESSAGES):
            connection.execute(_DELETE_LIVE_OLDER_THAN, {"cutoff": cutoff})
    if deleted:
        logger.info("Retention: deleted %d events older than %g days", deleted, days)
    return deleted


def main(argv: Optional[list] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("purge", help="delete events older than RETENTION_DAYS (default 180)")
    delete = commands.add_parser("delete", help="delete one conversation")
    delete.add_argument("conversation_id")
    args = parser.parse_args(argv)
    engine = tracker_db.engine_from_env()
    if args.command == "purge":
        days = retention_days()
        print(f"deleted {purge_expired(engine, days)} events older than {days:g} days")
    else:
        print(f"deleted {erase_conversation(engine, args.conversation_id)} events")


if __name__ == "__main__":
    main()
