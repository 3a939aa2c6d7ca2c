"""The outbox: deliveries, their claims and outcomes, manual posts, and each delivery's history."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.compose.ids import link_key, post_key
from bot.lifecycle import (
    CLAIM,
    DOUBT,
    EXPIRED_DOUBT,
    FAIL,
    NOT_SHARED_AT_SEND,
    NOT_SHARED_NOTE,
    RESEND,
    RETRY,
    RETRY_FOR_APPROVAL,
    RETRY_LATER,
    SEND_OK,
    SKIP,
    STALE,
    UNPOST,
    Transition,
)
from bot.models import Article, DeliveryState
from bot.store.engine import (
    StoreBase,
    _account_claim_lock,
    _serialize_new_articles,
    db_now,
)
from bot.store.records import (
    MANUAL_PRIORITY,
    DeliveryForDispatch,
    DeliveryRow,
    Event,
    _article,
    _article_values,
)
from bot.store.tables import accounts, articles, charges, deliveries, events

log = logging.getLogger("bot.store")

_ACTIVE = [DeliveryState.QUEUED.value, DeliveryState.SENDING.value]
_ANY_WAITING = {awaiting: sa.select(deliveries.c.id).where(deliveries.c.state.in_(
    [*_ACTIVE, DeliveryState.AWAITING_APPROVAL.value] if awaiting else _ACTIVE)).limit(1) for awaiting in (False, True)}


class OutboxMixin(StoreBase):
    """The :class:`~bot.store.Store`'s part for the outbox: claims, outcomes, operators' transitions, history."""

    def anything_to_send(self, awaiting: bool = False) -> bool:
        """Whether any delivery waits or is in flight: when none is, a dispatch pass has nothing to do. With
        ``awaiting``, one awaiting approval counts too (it may be stale)."""
        with self.light.connect() as c:
            return c.execute(_ANY_WAITING[awaiting]).first() is not None

    def recover_expired(self, now: datetime, resend_safe: Callable[[str, datetime | None], bool]) -> tuple[int, int]:
        """Claims that expired by the database's clock (the process died mid-call): back to the queue with
        their frozen text where ``resend_safe(account, first tried at)`` says a resend cannot post twice,
        else ``in_doubt`` for the operator. Returns (requeued, in_doubt)."""
        requeued = doubtful = 0
        with self.engine.begin() as c:
            rows = c.execute(sa.select(deliveries.c.id, deliveries.c.account_id, deliveries.c.text,
                                       deliveries.c.first_tried_at).where(
                deliveries.c.state == DeliveryState.SENDING.value, deliveries.c.claimed_until < db_now(c))).all()
            for r in rows:
                # Never tried (no text frozen, or an editor's text not yet sent): it never reached the platform,
                # always safe to send.
                untried = r.text is None or r.first_tried_at is None
                safe = untried or resend_safe(r.account_id, r.first_tried_at)
                note = ("interrupted mid-send; resent with its frozen text" if safe else
                        "interrupted mid-send: it may or may not have been posted; "
                        "check the account, then retry or skip it")
                move(c, RESEND if safe else EXPIRED_DOUBT, deliveries.c.id == r.id, claimed_until=None, note=note,
                     updated_at=now, **({} if untried else {"maybe_posted": True}))
                if safe:
                    requeued += 1
                else:
                    doubtful += 1
        return requeued, doubtful

    def claim_next(self, now: datetime, account_ids: Iterable[str], lease: timedelta, *,
                   only: Iterable[int] | None = None, ignore_holds: bool = False,
                   still_ready: Callable[[str], bool] | None = None) -> DeliveryForDispatch | None:
        """Claim the next due delivery of these accounts (priority, then publish order) until ``now + lease``.
        Its ``text`` is None when it was never tried: compose it, then :meth:`freeze_text` before sending.
        On PostgreSQL, ``still_ready(account)`` is asked again under the account's claim lock, after any
        other replica's send for the account has been recorded: so its limits hold across replicas."""
        ids = list(account_ids)
        if not ids:
            return None
        busy: set[str] = set()  # accounts another replica is claiming for at this moment
        while True:
            with self.engine.begin() as c:
                clock = db_now(c)
                blocked = sa.select(accounts.c.id).where(
                    accounts.c.not_before > now if ignore_holds else sa.or_(accounts.c.held.is_(True),
                                                                           accounts.c.not_before > now))
                q = (
                    sa.select(deliveries, articles)
                    .join(articles, articles.c.id == deliveries.c.article_id)
                    .where(
                        deliveries.c.state == DeliveryState.QUEUED.value,
                        deliveries.c.account_id.in_(ids),
                        deliveries.c.account_id.not_in(blocked),
                        # A withdrawn article's post never goes (a person's post by hand does): the reviser withdraws
                        # it (bot.store.revise: withdraw_waiting).
                        sa.or_(articles.c.retracted_at.is_(None), deliveries.c.created_by.is_not(None)),
                        sa.or_(deliveries.c.not_before.is_(None), deliveries.c.not_before <= now),
                    )
                    .order_by(deliveries.c.priority.desc(), articles.c.published_at, deliveries.c.id)
                    .limit(1)
                    # PostgreSQL: rows another replica is claiming are passed over, not waited for.
                    .with_for_update(of=deliveries, skip_locked=True)
                )
                if only is not None:
                    q = q.where(deliveries.c.id.in_(list(only)))
                if self.postgres:
                    # Replicas send one post at a time per account, as a single process does: the account's
                    # limits, order and rate limit stay whole.
                    sending = sa.select(deliveries.c.account_id).where(
                        deliveries.c.state == DeliveryState.SENDING.value, deliveries.c.claimed_until > clock)
                    q = q.where(deliveries.c.account_id.not_in(sending), deliveries.c.account_id.not_in(busy))
                row = c.execute(q).first()
                if row is None:
                    return None
                m = row._mapping
                d_id, attempts = m[deliveries.c.id], m[deliveries.c.attempts] + 1
                account_id = m[deliveries.c.account_id]
                if self.postgres and not (_account_claim_lock(c, account_id, d_id, clock)
                                          and (still_ready is None or still_ready(account_id))):
                    busy.add(account_id)
                    continue
                if move(c, CLAIM, deliveries.c.id == d_id, attempts=attempts, claimed_until=clock + lease,
                        updated_at=now):
                    # Its text as the claim found it (SQLite's select came before this write: an editor's text may
                    # have been put on the row between the two).
                    text = c.execute(sa.select(deliveries.c.text, deliveries.c.first_tried_at,
                                               deliveries.c.frozen_title).where(deliveries.c.id == d_id)).one()
                    return DeliveryForDispatch(
                        d_id, m[deliveries.c.account_id], attempts, text.text,
                        _article({k.name: m[k] for k in articles.c}), m[articles.c.id],
                        m[deliveries.c.created_at], m[deliveries.c.revision], text.first_tried_at,
                        m[deliveries.c.priority], text.frozen_title, m[deliveries.c.created_by])

    def freeze_text(self, delivery: int | DeliveryForDispatch, text: str, now: datetime,
                    title: str | None = None, source: str | None = None) -> str | None:
        """Freeze a claimed delivery's text (only the first time, noting when); returns the frozen text. Every
        later attempt sends exactly this text, so a platform's duplicate check recognises a resend; ``title`` (the
        headline then) is frozen with it, for the card, alt text and embeds of every attempt, and ``source`` (what
        the text was composed from: the headline or the editor's text in the plugin; "" for a person's own text,
        which no correction on the site changes). An editor's text never tried is kept, and only its first try
        noted. Given the claim: None when the row is no longer that claim's (then it must not be sent)."""
        delivery_id, fence = _claim(delivery)
        where = [deliveries.c.id == delivery_id,
                 sa.or_(deliveries.c.text.is_(None), deliveries.c.first_tried_at.is_(None))]
        if fence is not None:
            where += [deliveries.c.attempts == fence, deliveries.c.state == DeliveryState.SENDING.value]
        with self.engine.begin() as c:
            c.execute(deliveries.update().where(*where).values(
                text=sa.func.coalesce(deliveries.c.text, text), updated_at=now, first_tried_at=now,
                frozen_title=sa.func.coalesce(deliveries.c.frozen_title, title),
                source_text=source))  # what this text (the one frozen now) was composed from
            row = c.execute(sa.select(deliveries.c.text, deliveries.c.attempts, deliveries.c.state).where(
                deliveries.c.id == delivery_id)).one()
        if fence is not None and (row.attempts != fence or row.state != DeliveryState.SENDING.value):
            return None
        frozen: str = row.text
        return frozen

    def renew_claim(self, delivery_id: int, attempt: int, lease: timedelta) -> bool:
        """Extend a claim still under way to the database's now + ``lease``; False when it is no longer it."""
        with self.engine.begin() as c:
            done = c.execute(deliveries.update().where(
                deliveries.c.id == delivery_id, deliveries.c.attempts == attempt,
                deliveries.c.state == DeliveryState.SENDING.value,
            ).values(claimed_until=db_now(c) + lease))
            return bool(done.rowcount)

    def sent_times(self, account_id: str, since: datetime) -> list[datetime]:
        """When the account's posts of this period went out (for per-day and per-hour limits)."""
        with self.engine.connect() as c:
            return [r.sent_at for r in c.execute(sa.select(deliveries.c.sent_at).where(
                deliveries.c.account_id == account_id, deliveries.c.state == DeliveryState.SENT.value,
                deliveries.c.sent_at >= since).order_by(deliveries.c.sent_at))]

    def queue_depth(self, state: str = DeliveryState.QUEUED.value) -> int:
        """How many deliveries wait to be sent (or are in another state: awaiting approval), a COUNT for /metrics."""
        with self.light.connect() as c:
            return int(c.execute(sa.select(sa.func.count()).select_from(deliveries).where(
                deliveries.c.state == state)).scalar_one())

    def last_sent(self) -> dict[str, datetime]:
        """Each account's latest post (a MAX per account, for /metrics)."""
        with self.light.connect() as c:
            return {r.account_id: r.at for r in c.execute(
                sa.select(deliveries.c.account_id, sa.func.max(deliveries.c.sent_at).label("at"))
                .where(deliveries.c.state == DeliveryState.SENT.value).group_by(deliveries.c.account_id))
                if r.at is not None}

    def skip_stale(self, account_id: str, cutoff: datetime, now: datetime) -> int:
        """Skip the account's waiting posts (queued, or awaiting approval) whose article was published before
        ``cutoff``; never a post a person made by hand (sent now or scheduled, whatever then delays it: a retry,
        a hold, a budget; a person asked for it)."""
        with self.engine.begin() as c:
            old = sa.select(articles.c.id).where(articles.c.published_at < cutoff)
            return move(c, STALE, deliveries.c.account_id == account_id, deliveries.c.article_id.in_(old),
                        deliveries.c.created_by.is_(None), updated_at=now,
                        note="stale: it could not go out within stale_after of its article's publication")

    # A send's outcomes, recorded on the claim that made the send (a DeliveryForDispatch; a bare id only where
    # there is no claim, to set up a test): written only while no later claim has taken the row. A claim that
    # expired and was recovered but not taken again still gets its outcome (it knows best). A refused one is
    # logged. Each returns whether it was written.

    def record_sent(self, delivery: int | DeliveryForDispatch, now: datetime, remote_id: str | None,
                    remote_url: str | None, note: str | None = None, *, cost: int | None = None,
                    charged: str | None = None) -> bool:
        """A post went out; ``cost`` (micro-dollars) is what the platform charged for it, kept on the delivery
        and in the account's spending (``charged`` names X's price: "Content: Create (with URL)")."""
        def charge(c: Connection) -> None:  # in the same transaction: a sent post is never left uncounted
            if cost is not None and isinstance(delivery, DeliveryForDispatch):
                c.execute(charges.insert().values(account_id=delivery.account_id, at=now, micro_usd=cost,
                                                  what=charged or "post", delivery_id=delivery.id))

        return self._finish(SEND_OK, delivery, now, remote_id=remote_id, remote_url=remote_url, note=note,
                            sent_at=now, last_error=None, cost_micro_usd=cost, _then=charge)

    def record_failed(self, delivery: int | DeliveryForDispatch, now: datetime, error: str) -> bool:
        return self._finish(FAIL, delivery, now, last_error=error)

    def record_not_shared(self, delivery: DeliveryForDispatch, now: datetime) -> bool:
        """The dispatcher's claim, just before its first send: the editor chose not to share it."""
        return self._finish(NOT_SHARED_AT_SEND, delivery, now, note=NOT_SHARED_NOTE, text=None, frozen_title=None,
                            first_tried_at=None, attempts=deliveries.c.attempts - 1)

    def record_in_doubt(self, delivery: int | DeliveryForDispatch, now: datetime, error: str) -> bool:
        return self._finish(DOUBT, delivery, now, last_error=error, maybe_posted=True,
                            note="the send failed in a way that may or may not have posted: check, then retry or skip")

    def record_retry(self, delivery: int | DeliveryForDispatch, now: datetime, not_before: datetime | None,
                     error: str | None, count_attempt: bool = True, *, waits: str | None = None,
                     maybe_posted: bool = False) -> bool:
        """Back to the queue until ``not_before``: after an ``error``, or (``waits``, no error) for a reason
        that is not one (the account's budget). ``maybe_posted``: the send may have reached the platform (a
        resend is safe, an edit of its text is not); once said, it stays so while the row keeps its text."""
        values: dict[str, Any] = {"not_before": not_before, "last_error": error}
        if maybe_posted:
            values["maybe_posted"] = True
        if waits is not None:
            values["note"] = waits
        if not count_attempt:
            values["attempts"] = deliveries.c.attempts - 1
        return self._finish(RETRY_LATER, delivery, now, **values)

    def _finish(self, outcome: Transition, delivery: int | DeliveryForDispatch, now: datetime,
                _then: Callable[[Connection], None] | None = None, **values: Any) -> bool:
        """Record a send's outcome on the delivery (its claim ends); ``_then`` writes more in the same
        transaction when the outcome was recorded."""
        delivery_id, fence = _claim(delivery)
        where = [deliveries.c.id == delivery_id]
        if fence is not None:
            where += [deliveries.c.attempts == fence, deliveries.c.state != DeliveryState.DELETED.value]
        with self.engine.begin() as c:
            written = bool(move(c, outcome, *where, claimed_until=None, updated_at=now, **values))
            if written and _then is not None:
                _then(c)
        if not written and fence is not None:
            log.error("delivery=%d: its outcome (%s) came after another claim took it over: not recorded; check the "
                      "account", delivery_id, outcome.name)
        return written

    def deliveries(self, account_id: str | None = None, state: str | Sequence[str] | None = None, *,
                   ids: Iterable[int] = (), newest_first: bool = False, limit: int | None = None) -> list[DeliveryRow]:
        """Deliveries with their article's headline: of an account, in a state (or any of several), by id;
        oldest first, or last changed first."""
        q = ROWS
        order = deliveries.c.updated_at.desc() if newest_first else deliveries.c.id
        q = q.order_by(order, deliveries.c.id.desc() if newest_first else deliveries.c.id)
        if account_id:
            q = q.where(deliveries.c.account_id == account_id)
        if state:
            q = q.where(deliveries.c.state.in_([state] if isinstance(state, str) else list(state)))
        wanted = list(ids)
        if wanted:
            q = q.where(deliveries.c.id.in_(wanted))
        if limit:
            q = q.limit(limit)
        with self.engine.connect() as c:
            return [delivery_row(r) for r in c.execute(q).mappings()]

    def delivery(self, delivery_id: int) -> DeliveryRow | None:
        found = self.deliveries(ids=[delivery_id])
        return found[0] if found else None

    def add_manual(self, copies: Sequence[Article], account_ids: Sequence[str], now: datetime, by: str,
                   not_before: datetime | None = None) -> tuple[list[int], list[str]]:
        """Record a post made by hand: the article (under each feed it may appear in, so no feed posts it
        again) and a delivery per account, queued (an editor's post needs no approval), not to be sent before
        ``not_before`` when it is scheduled. Returns the new deliveries and the accounts that had it already."""
        made: list[int] = []
        had: list[str] = []
        with self.engine.begin() as c:
            _serialize_new_articles(c)
            ids = []
            for a in copies:  # the feed's own record of the article, whatever its guid there, if it has one
                row = c.execute(sa.select(articles.c.id).where(articles.c.feed_id == a.feed_id,
                                                               sa.or_(*_identity(a)))
                                .order_by(articles.c.id).limit(1)).first()
                if row is None:
                    row_id = c.execute(articles.insert().values(
                        **_article_values(a), feed_id=a.feed_id, first_seen_at=now, updated_at=now,
                        published_at=a.published or now)).inserted_primary_key
                    assert row_id is not None
                    ids.append(int(row_id[0]))
                else:
                    ids.append(int(row.id))
            for account_id in account_ids:
                if _delivered(c, copies[0], account_id):
                    had.append(account_id)
                    continue
                inserted = c.execute(deliveries.insert().values(
                    article_id=ids[0], account_id=account_id, state=DeliveryState.QUEUED.value,
                    priority=MANUAL_PRIORITY, created_at=now, updated_at=now, created_by=by, not_before=not_before,
                    note=f"scheduled by {by}" if not_before else f"posted by hand by {by}",
                )).inserted_primary_key
                assert inserted is not None
                made.append(int(inserted[0]))
                c.execute(events.insert().values(
                    delivery_id=made[-1], at=now, event="schedule" if not_before else "post", by=by,
                    detail=f"for {not_before.isoformat(timespec='minutes')}" if not_before else None))
        return made, had

    # What an operator does to a delivery, each kept in its history.

    def add_event(self, delivery_id: int, now: datetime, event: str, detail: str | None = None,
                  by: str | None = None) -> None:
        with self.engine.begin() as c:
            c.execute(events.insert().values(delivery_id=delivery_id, at=now, event=event, detail=detail, by=by))

    def history(self, delivery_id: int) -> list[Event]:
        with self.engine.connect() as c:
            return [Event(r.at, r.event, r.detail, r.by) for r in c.execute(
                sa.select(events).where(events.c.delivery_id == delivery_id).order_by(events.c.id))]

    def retry(self, delivery_id: int, now: datetime, by: str, *, for_approval: bool = False) -> bool:
        """RETRY, kept in the history: the delivery is queued again, due now (``for_approval``: a skipped one
        whose account asks approval for it awaits approval again: RETRY_FOR_APPROVAL). One whose text a send
        may have taken to the platform (in doubt, or ``maybe_posted``: skipped or failed after such a send)
        keeps that text, so a platform's duplicate check still applies and no other text can follow it; the
        others are composed afresh. False when the delivery is in no state that allows it."""
        keep = sa.or_(deliveries.c.state == DeliveryState.IN_DOUBT.value, deliveries.c.maybe_posted.is_(True))
        t = RETRY_FOR_APPROVAL if for_approval else RETRY
        return self._operate(t, delivery_id, now, by, f"retry asked by {by}", not_before=None,
                             claimed_until=None, text=sa.case((keep, deliveries.c.text), else_=None),
                             frozen_title=sa.case((keep, deliveries.c.frozen_title), else_=None),
                             maybe_posted=sa.case((keep, deliveries.c.maybe_posted), else_=sa.false()))

    def skip(self, delivery_id: int, now: datetime, by: str) -> bool:
        """SKIP, kept in the history: it is never sent. False when its state does not allow it."""
        return self._operate(SKIP, delivery_id, now, by, f"skipped by {by}", claimed_until=None)

    def unposted(self, delivery_id: int, now: datetime, by: str, where: str) -> bool:
        """UNPOST, kept in the history: its post (at ``where``) was deleted on the platform."""
        return self._operate(UNPOST, delivery_id, now, by, f"deleted by {by} (was {where})")

    def _operate(self, t: Transition, delivery_id: int, now: datetime, by: str, note: str, **values: Any) -> bool:
        with self.engine.begin() as c:
            if not move(c, t, deliveries.c.id == delivery_id, updated_at=now, note=note, **values):
                return False
            c.execute(events.insert().values(delivery_id=delivery_id, at=now, event=t.name, by=by, detail=note))
            return True


def move(c: Connection, t: Transition, *where: Any, **values: Any) -> int:
    """Apply a transition to the deliveries ``where`` says (those in a state it starts from); how many moved."""
    if t.start:
        where = (*where, deliveries.c.state.in_(t.allowed))
    done = c.execute(deliveries.update().where(*where).values(state=t.to.value, **values))
    return int(done.rowcount or 0)


#: Deliveries with their article's feed, guid, headline and date: what :func:`delivery_row` reads.
ROWS = (sa.select(deliveries, articles.c.feed_id, articles.c.guid, articles.c.title, articles.c.published_at)
        .join(articles, articles.c.id == deliveries.c.article_id))


def delivery_row(r: Any) -> DeliveryRow:
    """A row of :data:`ROWS` as the store hands it out."""
    return DeliveryRow(
        id=r["id"], account_id=r["account_id"], feed_id=r["feed_id"], guid=r["guid"], title=r["title"],
        state=r["state"], attempts=r["attempts"], text=r["text"], not_before=r["not_before"],
        remote_id=r["remote_id"], remote_url=r["remote_url"], note=r["note"],
        last_error=r["last_error"], sent_at=r["sent_at"], created_at=r["created_at"],
        created_by=r["created_by"], priority=r["priority"], published=r["published_at"],
        updated_at=r["updated_at"], maybe_posted=bool(r["maybe_posted"]), article_id=r["article_id"],
    )


def _identity(a: Article) -> list[Any]:
    """The conditions that find an article by its identity (post key, link key), whatever its guid."""
    keys = [articles.c.guid == a.guid]
    if (pk := post_key(a.guid, a.link)) is not None:
        keys.append(articles.c.post_key == pk)
    if (lk := link_key(a.link)) is not None:
        keys.append(articles.c.link_key == lk)
    return keys


def _delivered(c: Connection, a: Article, account_id: str) -> bool:
    """Whether the account has a delivery of this article from any feed, under any of its guids."""
    return c.execute(sa.select(deliveries.c.id).join(articles, articles.c.id == deliveries.c.article_id)
                     .where(deliveries.c.account_id == account_id, sa.or_(*_identity(a))).limit(1)).first() is not None


def _claim(delivery: int | DeliveryForDispatch) -> tuple[int, int | None]:
    """A delivery's id, and the attempt number that fences its outcome (None: no claim to fence to)."""
    return (delivery.id, delivery.attempts) if isinstance(delivery, DeliveryForDispatch) else (delivery, None)
