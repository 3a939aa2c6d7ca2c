"""The newsroom's hand on the outbox: approving and rejecting posts that wait for approval, an editor's own text
for a waiting post, a waiting post made due now, and the history searched (by headline, account, state and time,
paged)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.lifecycle import APPROVE, EDITABLE, REJECT
from bot.models import DeliveryState
from bot.store.engine import StoreBase
from bot.store.outbox import ROWS, delivery_row, move
from bot.store.records import DeliveryRow
from bot.store.tables import articles, deliveries, events

#: An editor's text replaces the row's text only where no send may have taken the old one to the platform; and
#: it is a text never tried (its first try is noted when it is first sent).
_EDITABLE = (deliveries.c.state.in_([s.value for s in EDITABLE]), deliveries.c.maybe_posted.is_(False))


class _Unset:
    """No expectation of a row's text (the command line's edits, which read nothing first)."""


UNSET = _Unset()


def _still(expected: str | _Unset | None) -> tuple[Any, ...]:
    """The condition that the row's text is still what its editor read (``expected``), if one was given."""
    if isinstance(expected, _Unset):
        return ()
    return (deliveries.c.text.is_(None),) if expected is None else (deliveries.c.text == expected,)


def _editors(text: str) -> dict[str, Any]:
    return {"text": text, "first_tried_at": None}


class EditorialMixin(StoreBase):
    """The :class:`~bot.store.Store`'s part for editors: approvals, their own texts, the history search."""

    def approve(self, delivery_id: int, now: datetime, by: str, text: str | None = None, *,
                expected: str | _Unset | None = UNSET) -> bool:
        """APPROVE, kept in the history: the delivery is queued, due now; with ``text``, an editor's own text that
        is sent as it is (an ``edit`` in the history too). False when it does not await approval, or its text is
        no longer ``expected`` (what the approver read)."""
        with self.engine.begin() as c:
            mine = _EDITABLE if text is not None else ()
            if not move(c, APPROVE, deliveries.c.id == delivery_id, *mine, *_still(expected), updated_at=now,
                        not_before=None,
                        note=f"approved by {by}" + (" with their own text" if text is not None else ""),
                        **(_editors(text) if text is not None else {})):
                return False
            c.execute(events.insert().values(delivery_id=delivery_id, at=now, event=APPROVE.name, by=by,
                                             detail=f"approved by {by}"))
            if text is not None:
                c.execute(events.insert().values(delivery_id=delivery_id, at=now, event="edit", by=by, detail=text))
            return True

    def reject(self, delivery_id: int, now: datetime, by: str, reason: str | None = None) -> bool:
        """REJECT, kept in the history: it is never sent. False when it does not await approval."""
        note = f"rejected by {by}" + (f": {reason}" if reason else "")
        with self.engine.begin() as c:
            if not move(c, REJECT, deliveries.c.id == delivery_id, updated_at=now, note=note, claimed_until=None):
                return False
            c.execute(events.insert().values(delivery_id=delivery_id, at=now, event=REJECT.name, by=by, detail=note))
            return True

    def edit_text(self, delivery_id: int, text: str, now: datetime, by: str, *,
                  expected: str | _Unset | None = UNSET) -> bool:
        """An editor's own text for a waiting delivery (``EDITABLE`` states), kept in the history (``edit``, with
        the text): the dispatcher sends exactly it, as a first attempt. False when the delivery is in no such
        state, or a send may have taken its text to the platform already (then it must never change)."""
        with self.engine.begin() as c:
            done = c.execute(deliveries.update().where(deliveries.c.id == delivery_id, *_EDITABLE, *_still(expected))
                             .values(updated_at=now, **_editors(text)))
            if not done.rowcount:
                return False
            c.execute(events.insert().values(delivery_id=delivery_id, at=now, event="edit", by=by, detail=text))
            return True

    def send_now(self, delivery_id: int, now: datetime, by: str) -> bool:
        """A queued delivery is due now: its wait (a person's schedule, a retry's backoff) ends, kept in the history
        (``send now``). Its account's own waits (held, a rate limit, limits) still hold. False when it is not queued."""
        with self.engine.begin() as c:
            done = c.execute(deliveries.update().where(
                deliveries.c.id == delivery_id, deliveries.c.state == DeliveryState.QUEUED.value,
            ).values(not_before=None, updated_at=now))
            if not done.rowcount:
                return False
            c.execute(events.insert().values(delivery_id=delivery_id, at=now, event="send now", by=by,
                                             detail=f"sent now by {by}"))
            return True

    def search(self, query: str | None = None, account_id: str | None = None, state: str | None = None,
               since: datetime | None = None, until: datetime | None = None, offset: int = 0,
               limit: int = 50) -> tuple[list[DeliveryRow], int]:
        """Deliveries whose headline holds ``query`` (any case: SQLite folds ASCII letters only, PostgreSQL all; ``%``
        and ``_`` are plain characters), of an account, in a state, last changed (``updated_at``) at or after
        ``since`` and before ``until``: the page ``offset``, ``offset + limit`` of them, last changed first, and
        how many there are in all."""
        where: list[Any] = []
        if query:
            escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append(articles.c.title.ilike(f"%{escaped}%", escape="\\"))
        if account_id:
            where.append(deliveries.c.account_id == account_id)
        if state:
            where.append(deliveries.c.state == state)
        if since is not None:
            where.append(deliveries.c.updated_at >= since)
        if until is not None:
            where.append(deliveries.c.updated_at < until)
        page = (ROWS.where(*where).order_by(deliveries.c.updated_at.desc(), deliveries.c.id.desc())
                .offset(offset).limit(limit))
        count = sa.select(sa.func.count()).select_from(
            deliveries.join(articles, articles.c.id == deliveries.c.article_id)).where(*where)
        with self.engine.connect() as c:
            rows = [delivery_row(r) for r in c.execute(page).mappings()]
            total = int(c.execute(count).scalar_one())
        return rows, total
