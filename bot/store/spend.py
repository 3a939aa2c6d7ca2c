"""What the platforms charged (X's pay-per-use): each charged request, and an account's spending since a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import sqlalchemy as sa

from bot.config import XAccount
from bot.models import DeliveryState
from bot.pricing import Spend, cycle_start, day_start, post_cost
from bot.store.engine import StoreBase
from bot.store.tables import articles, charges, deliveries


@dataclass(frozen=True)
class Waiting:
    """An account's next post to go, as far as its cost goes."""

    id: int
    text: str | None  #: its frozen text (None: not composed yet)
    priority: int
    tried: bool  #: its text sent at least once (its answer lost, or being sent): its cost is counted already


class SpendMixin(StoreBase):
    """The :class:`~bot.store.Store`'s part for money: charges recorded and summed."""

    def record_charge(self, account_id: str, now: datetime, micro_usd: int, what: str,
                      delivery_id: int | None = None) -> None:
        """A charged request that is not a post (a post's is recorded with it: ``record_sent``)."""
        with self.engine.begin() as c:
            c.execute(charges.insert().values(account_id=account_id, at=now, micro_usd=micro_usd, what=what,
                                              delivery_id=delivery_id))

    def spend_of(self, account_id: str, day: datetime, cycle: datetime) -> Spend:
        """The account's spending since the start of its ``day`` and of its billing ``cycle`` (one query)."""
        def since(start: datetime) -> Any:
            return sa.func.coalesce(sa.func.sum(sa.case((charges.c.at >= start, charges.c.micro_usd), else_=0)), 0)

        with self.light.connect() as c:
            row = c.execute(sa.select(since(day), since(cycle)).where(
                charges.c.account_id == account_id, charges.c.at >= min(day, cycle))).one()
        return Spend(int(row[0]), int(row[1]))

    def next_waiting(self, account_id: str, now: datetime | None = None) -> Waiting | None:
        """The account's next post to go, in the dispatcher's order (priority, then publish order), among those
        due at ``now`` (all waiting ones without it); None when nothing waits. What it will cost is read
        from it."""
        q = (sa.select(deliveries.c.id, deliveries.c.text, deliveries.c.priority, deliveries.c.attempts,
                       deliveries.c.first_tried_at)
             .join(articles, articles.c.id == deliveries.c.article_id)
             .where(deliveries.c.account_id == account_id, deliveries.c.state == DeliveryState.QUEUED.value)
             .order_by(deliveries.c.priority.desc(), articles.c.published_at, deliveries.c.id).limit(1))
        if now is not None:
            q = q.where(sa.or_(deliveries.c.not_before.is_(None), deliveries.c.not_before <= now))
        with self.light.connect() as c:
            row = c.execute(q).first()
        if row is None:
            return None
        # An editor's text is not tried until its first send (first_tried_at): until then it costs what it says.
        return Waiting(row.id, row.text, row.priority,
                       tried=row.attempts > 0 and row.text is not None and row.first_tried_at is not None)

    def x_spend(self, account: XAccount, now: datetime, tz: tzinfo, exclude: int | None = None) -> Spend:
        """An X account's spending today and this billing cycle (site time): what was charged, and what its
        posts whose send may have reached X are sure to cost (tried, not yet recorded: their answer was lost,
        or they are being sent), so a resend never takes the budget over and others are checked against it.
        ``exclude``: the delivery being checked."""
        got = self.spend_of(account.id, day_start(now, tz), cycle_start(now, tz, account.budget.cycle_day))
        with self.light.connect() as c:
            texts: Sequence[str] = c.execute(sa.select(deliveries.c.text).where(
                deliveries.c.account_id == account.id, deliveries.c.text.is_not(None), deliveries.c.attempts > 0,
                deliveries.c.first_tried_at.is_not(None),
                deliveries.c.state.in_([DeliveryState.QUEUED.value, DeliveryState.SENDING.value]),
                deliveries.c.id != (exclude if exclude is not None else -1))).scalars().all()
        pending = sum(post_cost(account, t) or 0 for t in texts)
        return Spend(got.today + pending, got.cycle + pending)

    def charges(self, account_id: str | None = None) -> list[tuple[str, datetime, int, str]]:
        """Every charge kept (account, when, micro-dollars, what), oldest first."""
        q = sa.select(charges.c.account_id, charges.c.at, charges.c.micro_usd, charges.c.what).order_by(charges.c.id)
        if account_id is not None:
            q = q.where(charges.c.account_id == account_id)
        with self.engine.connect() as c:
            return [(r.account_id, r.at, r.micro_usd, r.what) for r in c.execute(q)]
