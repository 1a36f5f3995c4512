"""The agents' managed quick replies (常用语): a greeting, 请稍等, a closing phrase…, for every service or one,
kept by the operator in the console (座席 tab) and offered in the workspace before the self-help answers.

A table of the tracker database beside the live chats; a new table starts with DEFAULTS, which the operator
then edits or deletes like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import sqlalchemy as sa

from common.live_chat import create_tables, metadata

quick_replies_table = sa.Table(
    "live_quick_replies", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("service", sa.String(64)),  # None: every service
    sa.Column("title", sa.String(32), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
)

DEFAULTS = (
    ("问候", "您好，我是人工客服，很高兴为您服务。请问有什么可以帮您？"),
    ("请稍等", "请稍等，我正在为您查询，马上回复您。"),
    ("结束语", "感谢您的耐心，还有其他问题随时联系我们。祝您生活愉快！"),
)


@sa.event.listens_for(quick_replies_table, "after_create")
def _start_with_defaults(table: sa.Table, connection: Any, **_: Any) -> None:
    connection.execute(table.insert(), [{"service": None, "title": title, "text": text} for title, text in DEFAULTS])


@dataclass(frozen=True)
class QuickReply:
    id: int
    service: Optional[str]
    title: str
    text: str

    def as_dict(self) -> Dict[str, Any]:
        return {"id": self.id, "service": self.service, "title": self.title, "text": self.text}


def _reply(row: Any) -> QuickReply:
    return QuickReply(row.id, row.service, row.title, row.text)


class QuickReplies:
    def __init__(self, engine: sa.engine.Engine):
        self.engine = engine
        create_tables(engine)

    def listed(self, services: Optional[Sequence[str]] = None) -> List[QuickReply]:
        """All of them, or those for every service and for these services."""
        query = sa.select(quick_replies_table).order_by(quick_replies_table.c.id)
        if services is not None:
            query = query.where(sa.or_(quick_replies_table.c.service.is_(None),
                                       quick_replies_table.c.service.in_(list(services))))
        with self.engine.connect() as connection:
            return [_reply(row) for row in connection.execute(query)]

    def add(self, service: Optional[str], title: str, text: str) -> int:
        with self.engine.begin() as connection:
            result = connection.execute(quick_replies_table.insert().values(service=service, title=title, text=text))
        return int(result.inserted_primary_key[0])

    def edit(self, reply_id: int, service: Optional[str], title: str, text: str) -> bool:
        with self.engine.begin() as connection:
            changed = connection.execute(quick_replies_table.update().where(quick_replies_table.c.id == reply_id)
                                         .values(service=service, title=title, text=text))
        return bool(changed.rowcount)

    def delete(self, reply_id: int) -> bool:
        with self.engine.begin() as connection:
            changed = connection.execute(quick_replies_table.delete().where(quick_replies_table.c.id == reply_id))
        return bool(changed.rowcount)
