"""Feeds and their poll leases, what a poll records (new and edited articles, the deliveries they get, the
feed's validators: one transaction), and reading articles back."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.models import Article, DeliveryState, Validators
from bot.store.engine import (
    StoreBase,
    _chunks,
    _gone,
    _insert,
    _serialize_new_articles,
)
from bot.store.outbox import _delivered, _identity
from bot.store.records import (
    FeedState,
    KnownArticle,
    PollPlan,
    _article,
    _article_values,
)
from bot.store.revise import correct
from bot.store.tables import UTCDateTime, articles, deliveries, feeds


# The statements of every poll, built once: building a statement costs SQLAlchemy more than SQLite needs
# to run it.
def _lease_statement(due: bool) -> sa.Update:
    at = sa.bindparam("now", type_=UTCDateTime)
    # Free: no lease, an expired one, this process's own, or (``dead``) one whose holder died on this machine.
    conditions = [feeds.c.id == sa.bindparam("feed_id"),
                  sa.or_(feeds.c.leased_until.is_(None), feeds.c.leased_until < at,
                         feeds.c.lease_owner == sa.bindparam("owner"), feeds.c.lease_owner == sa.bindparam("dead"))]
    if due:
        conditions.append(sa.or_(feeds.c.last_poll_at.is_(None),
                                 feeds.c.last_poll_at <= sa.bindparam("polled_before", type_=UTCDateTime)))
    return (feeds.update().where(*conditions)
            .values(lease_owner=sa.bindparam("owner"), leased_until=sa.bindparam("until", type_=UTCDateTime))
            .returning(*feeds.c))


_TAKE_LEASE = {False: _lease_statement(False), True: _lease_statement(True)}
_MINE = feeds.c.lease_owner == sa.bindparam("owner")
_RECORD_NOT_MODIFIED = feeds.update().where(feeds.c.id == sa.bindparam("feed_id")).values(
    url=sa.bindparam("v_url"), etag=sa.bindparam("v_etag"), last_modified=sa.bindparam("v_last_modified"),
    body_hash=sa.bindparam("v_body_hash"), last_poll_at=sa.bindparam("v_now", type_=UTCDateTime),
    last_success_at=sa.bindparam("v_now", type_=UTCDateTime), last_error=None, failures=0, next_poll_at=None,
    lease_owner=sa.case((_MINE, None), else_=feeds.c.lease_owner),
    leased_until=sa.case((_MINE, None), else_=feeds.c.leased_until))


class FeedsMixin(StoreBase):
    """The :class:`~bot.store.Store`'s part for feeds: poll leases, what a poll records, the articles."""

    def feed_state(self, feed_id: str) -> FeedState | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(feeds).where(feeds.c.id == feed_id)).mappings().first()
        return None if row is None else FeedState(**row)

    def feed_states(self) -> list[FeedState]:
        with self.engine.connect() as c:
            return [FeedState(**r) for r in c.execute(sa.select(feeds).order_by(feeds.c.id)).mappings()]

    def last_successes(self) -> dict[str, datetime]:
        """Each feed's last successful poll (for /metrics)."""
        with self.light.connect() as c:
            return {r.id: r.last_success_at for r in c.execute(
                sa.select(feeds.c.id, feeds.c.last_success_at).where(feeds.c.last_success_at.is_not(None))
                .order_by(feeds.c.id))}

    def lease_feed(self, feed_id: str, url: str, now: datetime, until: datetime, *,
                   polled_before: datetime | None = None) -> FeedState | None:
        """Take the feed's poll lease until ``until``, unless another replica holds it now (or, with
        ``polled_before``, someone polled the feed after that time: a scheduled poll that is not due). One
        statement decides, so two replicas never both get it. Returns the feed's state when this process
        has the lease, None when it has not."""
        params = {"feed_id": feed_id, "owner": self.owner, "now": now, "until": until,
                  "polled_before": polled_before, "dead": None}
        take = _TAKE_LEASE[polled_before is not None]
        with self._bookkeeping() as c:
            got = c.execute(take, params).mappings().first()
            if got is None:
                row = c.execute(sa.select(feeds.c.lease_owner).where(feeds.c.id == feed_id)).first()
                if row is None:  # the feed's first poll ever
                    c.execute(_insert(c, feeds).values(id=feed_id, url=url, initialized=False, failures=0)
                              .on_conflict_do_nothing())
                elif row.lease_owner and _gone(row.lease_owner):  # its holder died here (a restart after a crash)
                    params["dead"] = row.lease_owner
                else:
                    return None
                got = c.execute(take, params).mappings().first()
            return None if got is None else FeedState(**got)

    def release_feed(self, feed_id: str) -> None:
        with self._bookkeeping() as c:
            c.execute(feeds.update().where(feeds.c.id == feed_id, feeds.c.lease_owner == self.owner)
                      .values(lease_owner=None, leased_until=None))

    def record_not_modified(self, feed_id: str, url: str, now: datetime, validators: Validators) -> None:
        """Note a poll that found nothing new; this ends the poll's lease."""
        with self._bookkeeping() as c:
            done = c.execute(_RECORD_NOT_MODIFIED, {
                "feed_id": feed_id, "owner": self.owner, "v_url": url, "v_etag": validators.etag,
                "v_last_modified": validators.last_modified, "v_body_hash": validators.body_hash, "v_now": now,
            })
            if done.rowcount == 0:
                self._upsert_feed(c, feed_id, url, {
                    "etag": validators.etag, "last_modified": validators.last_modified,
                    "body_hash": validators.body_hash, "last_poll_at": now, "last_success_at": now,
                    "last_error": None, "failures": 0, "next_poll_at": None,
                })

    def record_feed_error(self, feed_id: str, url: str, now: datetime, message: str, failures: int,
                          next_poll_at: datetime) -> None:
        """Note a failed poll (the ``failures``-th in a row) and when to try again; this ends its lease."""
        with self._bookkeeping() as c:
            self._upsert_feed(c, feed_id, url, {
                "last_poll_at": now, "last_error": message, "failures": failures, "next_poll_at": next_poll_at,
            })

    def _upsert_feed(self, c: Connection, feed_id: str, url: str, values: dict[str, Any]) -> None:
        """Write a poll's outcome, and end this process's lease on the feed (in the same statement)."""
        mine = feeds.c.lease_owner == self.owner
        done = c.execute(feeds.update().where(feeds.c.id == feed_id).values(
            url=url, lease_owner=sa.case((mine, None), else_=feeds.c.lease_owner),
            leased_until=sa.case((mine, None), else_=feeds.c.leased_until), **values))
        if done.rowcount == 0:
            c.execute(feeds.insert().values(id=feed_id, url=url, **{"initialized": False, "failures": 0, **values}))

    def known_item_hashes(self, feed_id: str, hashes: Sequence[str]) -> set[str]:
        """Which of these item hashes belong to articles of the feed stored from exactly that item."""
        with self.light.connect() as c:
            return {r.item_hash for chunk in _chunks(hashes, 500) for r in c.execute(
                sa.select(articles.c.item_hash).where(articles.c.feed_id == feed_id,
                                                      articles.c.item_hash.in_(chunk)))}

    def known_guids(self, feed_id: str, guids: Sequence[str]) -> set[str]:
        with self.engine.connect() as c:
            return {r.guid for chunk in _chunks(guids, 500) for r in c.execute(
                sa.select(articles.c.guid).where(articles.c.feed_id == feed_id, articles.c.guid.in_(chunk)))}

    def apply_poll(
        self, feed_id: str, url: str, now: datetime, validators: Validators, articles_in_feed: Sequence[Article],
        decide: Callable[[dict[str, KnownArticle], bool], PollPlan], item_hashes: Mapping[str, str] | None = None,
        *, present: Sequence[str] = (), catch_up_since: datetime | None = None,
    ) -> tuple[PollPlan, bool, int]:
        """In one transaction: read what is known of these articles, let ``decide`` plan, write the plan and
        the feed's new state. Returns the plan, whether this was the feed's first start, and how many
        deliveries were queued (an account already given the article by another feed gets no second one; one
        that waits for approval is not counted: nothing can send it yet).

        An article is known by its guid, or else by its identity (``bot.compose.ids``: its WordPress post id
        or its link): one whose guid changed is the same article, and takes the new guid. ``present``: the
        hashes of every item of the body (parsed or not), whose articles are marked as still in the feed.
        ``catch_up_since``: a catch-up over older pages that began then and did not finish (None: none is
        pending)."""
        guids = [a.guid for a in articles_in_feed]
        hashes = item_hashes or {}
        with self._bookkeeping() as c:
            _serialize_new_articles(c)
            row = c.execute(sa.select(feeds.c.initialized).where(feeds.c.id == feed_id)).first()
            first_start = not (row and row.initialized)
            known: dict[str, KnownArticle] = {}
            for chunk in _chunks(guids, 500):
                q = sa.select(articles).where(articles.c.feed_id == feed_id, articles.c.guid.in_(chunk))
                for r in c.execute(q).mappings():
                    known[r["guid"]] = KnownArticle(r["id"], _article(r), r["item_hash"])
            known.update(_known_by_identity(c, feed_id, [a for a in articles_in_feed if a.guid not in known],
                                            articles_in_feed))
            plan = decide(known, first_start)
            ids = {g: k.id for g, k in known.items()}
            queued = 0
            for a in plan.new:
                # No date, or one more than a day ahead (a clock gone wrong): it counts as published when first
                # seen, so it does not wait behind the future. Nearer dates keep their order.
                published = _plausible(a.published, now)
                inserted = c.execute(articles.insert().values(
                    **_article_values(a), feed_id=feed_id, first_seen_at=now, updated_at=now,
                    published_at=published, item_hash=hashes.get(a.guid), last_seen_at=now,
                )).inserted_primary_key
                assert inserted is not None
                ids[a.guid] = inserted[0]
            edited = {a.guid for a in plan.edited}
            for a in plan.edited:  # a changed guid (same identity) comes this way too: the row takes the new one
                c.execute(articles.update().where(articles.c.id == ids[a.guid]).values(
                    **_article_values(a), updated_at=now, item_hash=hashes.get(a.guid),
                    **({"published_at": _plausible(a.published, now)} if a.published else {}),
                ))
            for guid, hashed in hashes.items():  # the same article, its item's bytes changed
                if guid in known and guid not in edited and known[guid].item_hash != hashed:
                    c.execute(articles.update().where(articles.c.id == known[guid].id).values(item_hash=hashed))
            by_guid = {a.guid: a for a in articles_in_feed}
            for d in plan.deliveries:
                # One post per article and account, even when two feeds of the site (the main feed and a
                # category feed) both carry the article, or carry it under two guids.
                if not _delivered(c, by_guid[d.guid], d.account_id):
                    state = DeliveryState.SKIPPED if d.skip else \
                        DeliveryState.AWAITING_APPROVAL if d.approval else DeliveryState.QUEUED
                    settles = state == DeliveryState.QUEUED and d.settle > timedelta(0)
                    c.execute(deliveries.insert().values(
                        article_id=ids[d.guid], account_id=d.account_id, state=state.value, priority=d.priority,
                        note=d.skip or (awaiting(d.approval) if d.approval else None) or (
                            f"settling for {d.settle}: a quick fix on the site reaches this post" if settles else None),
                        not_before=now + d.settle if settles else None, created_at=now, updated_at=now,
                    ))
                    queued += state == DeliveryState.QUEUED
            for guid, correcting in plan.corrections.items():  # a corrected headline: each account's posts out
                if guid in ids:
                    queued += correct(c, int(ids[guid]), now, "the feed (a corrected headline)", correcting)
            seen = [h for h in present if h] or [h for h in hashes.values() if h]
            for chunk in _chunks(seen, 500):  # what is in the feed now stays seen (retention keeps it)
                c.execute(articles.update().where(articles.c.feed_id == feed_id, articles.c.item_hash.in_(chunk))
                          .values(last_seen_at=now))
            for id_chunk in _chunks([int(ids[g]) for g in guids if g in ids], 500):
                c.execute(articles.update().where(articles.c.id.in_(id_chunk)).values(last_seen_at=now))
            self._upsert_feed(c, feed_id, url, {
                "initialized": True, "etag": validators.etag, "last_modified": validators.last_modified,
                "body_hash": validators.body_hash, "last_poll_at": now, "last_success_at": now,
                "last_error": None, "failures": 0, "next_poll_at": None, "last_body_at": now,
                "catch_up_since": catch_up_since,
            })
        return plan, first_start, queued

    def mark_present(self, feed_id: str, hashes: Sequence[str], now: datetime) -> None:
        """The feed's body now holds exactly these items (all known, some may have left): those stay seen."""
        with self._bookkeeping() as c:
            for chunk in _chunks(list(hashes), 500):
                c.execute(articles.update().where(articles.c.feed_id == feed_id, articles.c.item_hash.in_(chunk))
                          .values(last_seen_at=now))
            c.execute(feeds.update().where(feeds.c.id == feed_id).values(last_body_at=now))

    def newest_published(self, feed_id: str, seen_before: datetime | None = None) -> datetime | None:
        """When the feed's newest known article (first seen before ``seen_before``, if given) was published."""
        q = sa.select(sa.func.max(articles.c.published_at)).where(articles.c.feed_id == feed_id)
        if seen_before is not None:
            q = q.where(articles.c.first_seen_at < seen_before)
        with self.light.connect() as c:
            newest: datetime | None = c.execute(q).scalar()
        return newest

    def known_before(self, feed_id: str, guids: Sequence[str], since: datetime) -> bool:
        """Whether any of these articles of the feed was first seen before ``since`` (a catch-up that resumes
        stops at an article known before it began)."""
        with self.light.connect() as c:
            return any(c.execute(sa.select(articles.c.id).where(
                articles.c.feed_id == feed_id, articles.c.guid.in_(chunk), articles.c.first_seen_at < since,
            ).limit(1)).first() for chunk in _chunks(guids, 500))

    def articles(self, feed_id: str | None = None) -> list[Article]:
        q = sa.select(articles).order_by(articles.c.id)
        if feed_id:
            q = q.where(articles.c.feed_id == feed_id)
        with self.engine.connect() as c:
            return [_article(r) for r in c.execute(q).mappings()]

    def article_by_id(self, article_id: int) -> Article:
        with self.engine.connect() as c:
            return _article(c.execute(sa.select(articles).where(articles.c.id == article_id)).mappings().one())


def awaiting(reason: str) -> str:
    """The note of a delivery that waits for a person's approval, with why (``policy.approval_reason``)."""
    return f"awaiting approval ({reason})"


def _plausible(published: datetime | None, now: datetime) -> datetime:
    return now if published is None or published > now + timedelta(days=1) else published


def _known_by_identity(c: Connection, feed_id: str, unknown: Sequence[Article],
                       in_body: Sequence[Article]) -> dict[str, KnownArticle]:
    """The articles of the feed that these (unknown by guid) are under another guid, by their new guid."""
    found: dict[str, KnownArticle] = {}
    taken: set[int] = set()
    present = {a.guid for a in in_body}
    for a in unknown:
        r = c.execute(sa.select(articles).where(articles.c.feed_id == feed_id, sa.or_(*_identity(a)))
                      .order_by(articles.c.id).limit(1)).mappings().first()
        # Not an article that is in this body under its own guid: two items of one feed are two articles.
        if r is not None and r["id"] not in taken and r["guid"] not in present:
            taken.add(r["id"])
            found[a.guid] = KnownArticle(r["id"], _article(r), r["item_hash"])
    return found
