"""What the platforms charged (X's pay-per-use): each charged request, and an account's spending since a time."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from bot.models import DeliveryState
from bot.pricing import Spend
from bot.store.engine import StoreBase
from bot.store.tables import charges, deliveries


class SpendMixin(StoreBase):
    """The :class:`~bot.store.Store`'s part for money: charges recorded and summed."""

    def record_charge(self, account_id: str, now: datetime, micro_usd: int, what: str,
                      delivery_id: int | None = None) -> None:
        """A charged request that is not a post (a post's is recorded with it: ``record_sent``)."""
        with self.engine.begin() as c:
            c.execute(charges.insert().values(account_id=account_id, at=now, micro_usd=micro_usd, what=what,
                                              delivery_id=delivery_id))

    def spent(self, account_id: str, since: datetime) -> int:
        """What the account was charged since ``since``, in micro-dollars."""
        with self.light.connect() as c:
            total: int = c.execute(sa.select(sa.func.coalesce(sa.func.sum(charges.c.micro_usd), 0)).where(
                charges.c.account_id == account_id, charges.c.at >= since)).scalar_one()
        return int(total)

    def spend_of(self, account_id: str, day: datetime, cycle: datetime) -> Spend:
        """The account's spending since the start of its ``day`` and of its billing ``cycle``."""
        with self.light.connect() as c:
            row = c.execute(sa.select(
                sa.func.coalesce(sa.func.sum(sa.case((charges.c.at >= day, charges.c.micro_usd), else_=0)), 0),
                sa.func.coalesce(sa.func.sum(charges.c.micro_usd), 0),
            ).where(charges.c.account_id == account_id, charges.c.at >= min(day, cycle))).one()
        today, since_cycle = int(row[0]), int(row[1])
        if cycle > day:  # (a cycle that began today: its sum is the smaller one)
            since_cycle = self.spent(account_id, cycle)
        return Spend(today, since_cycle)

    def next_waiting(self, account_id: str) -> tuple[str | None, int] | None:
        """The account's next post to go (priority, then age): its frozen text (None: not composed yet) and
        its priority; None when nothing waits. What the next post will cost is read from it."""
        with self.light.connect() as c:
            row = c.execute(sa.select(deliveries.c.text, deliveries.c.priority).where(
                deliveries.c.account_id == account_id, deliveries.c.state == DeliveryState.QUEUED.value)
                .order_by(deliveries.c.priority.desc(), deliveries.c.id).limit(1)).first()
        return None if row is None else (row.text, row.priority)

    def charges(self, account_id: str | None = None) -> list[tuple[str, datetime, int, str]]:
        """Every charge kept (account, when, micro-dollars, what), oldest first."""
        q = sa.select(charges.c.account_id, charges.c.at, charges.c.micro_usd, charges.c.what).order_by(charges.c.id)
        if account_id is not None:
            q = q.where(charges.c.account_id == account_id)
        with self.engine.connect() as c:
            return [(r.account_id, r.at, r.micro_usd, r.what) for r in c.execute(q)]
