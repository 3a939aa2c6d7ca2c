"""Accounts' state: held (and why), and paused until a platform's rate limit resets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.store.engine import (
    StoreBase,
)
from bot.store.records import (
    AccountState,
)
from bot.store.tables import accounts


class AccountsMixin(StoreBase):
    """The :class:`~bot.store.Store`'s part for accounts: hold, release, pause, and their state."""

    def hold_account(self, account_id: str, reason: str, now: datetime) -> bool:
        """Hold an account; returns True if it was not held before (so the operator is told once)."""
        with self.engine.begin() as c:
            row = c.execute(sa.select(accounts.c.held).where(accounts.c.id == account_id)).first()
            if row and row.held:
                return False
            _upsert_account(c, account_id, {"held": True, "held_reason": reason, "held_at": now}, now)
            return True

    def release_account(self, account_id: str, now: datetime) -> bool:
        with self.engine.begin() as c:
            row = c.execute(sa.select(accounts.c.held).where(accounts.c.id == account_id)).first()
            _upsert_account(c, account_id, {"held": False, "held_reason": None, "held_at": None,
                                            "not_before": None}, now)
            return bool(row and row.held)

    def held_accounts(self) -> set[str]:
        """The accounts held now (by an operator, or after their platform refused their credentials)."""
        with self.light.connect() as c:
            return {r.id for r in c.execute(sa.select(accounts.c.id).where(accounts.c.held.is_(True)))}

    def pause_account(self, account_id: str, until: datetime, now: datetime) -> None:
        with self.engine.begin() as c:
            _upsert_account(c, account_id, {"not_before": until}, now)

    def account_state(self, account_id: str) -> AccountState:
        with self.engine.connect() as c:
            row = c.execute(sa.select(accounts).where(accounts.c.id == account_id)).mappings().first()
        if row is None:
            return AccountState(account_id, False, None, None, None)
        return AccountState(row["id"], row["held"], row["held_reason"], row["held_at"], row["not_before"])


def _upsert_account(c: Connection, account_id: str, values: dict[str, Any], now: datetime) -> None:
    exists = c.execute(sa.select(accounts.c.id).where(accounts.c.id == account_id)).first()
    if exists is None:
        c.execute(accounts.insert().values(id=account_id, updated_at=now, **{"held": False, **values}))
    else:
        c.execute(accounts.update().where(accounts.c.id == account_id).values(updated_at=now, **values))
