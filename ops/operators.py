"""Operator accounts: a name and a token each, so that the knowledge history says who published what.

The console's own token (OPS_TOKEN or var/ops-token) stays the administrator's: only it creates, disables and re-keys
operators (and agents), in the 座席 tab or the API. An operator's token opens the console like the administrator's,
except those calls. A disabled operator's token, or a replaced one, stops working at once. Only a hash of each token
is stored (table `ops_operators` of the tracker database).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import List, Optional, Tuple

import sqlalchemy as sa

from common.live_chat import token_hash
from common.tracker_db import create_tables

ADMIN_NAME = "管理员"  # who the administrator's token is, in the history

metadata = sa.MetaData()

operators_table = sa.Table(
    "ops_operators", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # sha256 of the token, never the token
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
)


@dataclass(frozen=True)
class Operator:
    id: int
    name: str
    disabled: bool = False


class NameTaken(ValueError):
    pass


class Operators:
    def __init__(self, engine: sa.engine.Engine):
        self.engine = engine
        create_tables(metadata, engine)

    def create(self, name: str) -> Tuple[int, str]:
        """A new operator: (id, token). The token is shown once."""
        token = secrets.token_urlsafe(24)
        try:
            with self.engine.begin() as connection:
                result = connection.execute(operators_table.insert().values(
                    name=name, token_hash=token_hash(token), created_at=time.time()))
        except sa.exc.IntegrityError:
            raise NameTaken(f"已经有叫“{name}”的运营账号") from None
        return int(result.inserted_primary_key[0]), token

    def by_token(self, token: str) -> Optional[Operator]:
        if not token:
            return None
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(operators_table.c.id, operators_table.c.name)
                                     .where(operators_table.c.token_hash == token_hash(token),
                                            operators_table.c.disabled.is_(False))).first()
        return Operator(row.id, row.name) if row else None

    def all(self) -> List[Operator]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(operators_table.c.id, operators_table.c.name,
                                                operators_table.c.disabled).order_by(operators_table.c.id)).all()
        return [Operator(row.id, row.name, bool(row.disabled)) for row in rows]

    def set_disabled(self, operator_id: int, disabled: bool) -> bool:
        """False when there is no such operator."""
        with self.engine.begin() as connection:
            return connection.execute(operators_table.update().where(operators_table.c.id == operator_id)
                                      .values(disabled=disabled)).rowcount > 0

    def new_token(self, operator_id: int) -> Optional[str]:
        """A new token for the operator, the old one invalid from now on; None when there is no such operator."""
        token = secrets.token_urlsafe(24)
        with self.engine.begin() as connection:
            changed = connection.execute(operators_table.update().where(operators_table.c.id == operator_id)
                                         .values(token_hash=token_hash(token))).rowcount
        return token if changed else None
