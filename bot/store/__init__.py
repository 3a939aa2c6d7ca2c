"""Tables and queries (SQLAlchemy Core): feed state, articles, deliveries (the outbox) and accounts.

Every write that must happen together happens in one transaction: a poll's new articles, their
deliveries and the feed's new ETag are committed at once, so a crash never records a feed as read
without the deliveries it owes. Times are stored as naive UTC and come back timezone-aware.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.errors import StoreError
from bot.models import Article, DeliveryState, Validators

log = logging.getLogger(__name__)


class UTCDateTime(sa.TypeDecorator[datetime]):
    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware times")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = sa.MetaData()

feeds = sa.Table(
    "feeds", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("initialized", sa.Boolean, nullable=False, default=False),  # first successful poll done
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("body_hash", sa.String(64)),
    sa.Column("last_poll_at", UTCDateTime),
    sa.Column("last_success_at", UTCDateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("failures", sa.Integer, nullable=False, default=0),
    sa.Column("next_poll_at", UTCDateTime),  # set while backing off after failures
    # The poll lease: the replica polling the feed now, and until when its claim holds (migration 0002).
    sa.Column("lease_owner", sa.Text),
    sa.Column("leased_until", UTCDateTime),
)

articles = sa.Table(
    "articles", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("feed_id", sa.String(64), nullable=False),
    sa.Column("guid", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("link", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False, default=""),
    sa.Column("author", sa.Text, nullable=False, default=""),
    sa.Column("published_at", UTCDateTime),
    sa.Column("labels", sa.JSON, nullable=False, default=list),
    sa.Column("image_urls", sa.JSON, nullable=False, default=list),
    sa.Column("categories", sa.JSON),  # from the REST API; NULL: unknown (use labels)
    sa.Column("tags", sa.JSON),
    sa.Column("featured_image", sa.Text),
    sa.Column("excerpt", sa.Text),
    sa.Column("api_checked_at", UTCDateTime),  # when the REST API was asked (cached per article)
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("item_hash", sa.String(64)),  # of its feed item as last parsed (bot.feeds.prescan; migration 0003)
    sa.UniqueConstraint("feed_id", "guid", name="uq_articles_feed_guid"),
)

deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, default=DeliveryState.QUEUED.value),
    sa.Column("priority", sa.Integer, nullable=False, default=0),
    sa.Column("not_before", UTCDateTime),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("text", sa.Text),  # frozen at the first attempt
    sa.Column("claimed_until", UTCDateTime),
    sa.Column("remote_id", sa.Text),
    sa.Column("remote_url", sa.Text),
    sa.Column("note", sa.Text),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("created_by", sa.Text),  # who made a manual post
    sa.UniqueConstraint("article_id", "account_id", name="uq_deliveries_article_account"),
)

events = sa.Table(
    "delivery_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", sa.Integer, sa.ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("by", sa.Text),
)
sa.Index("ix_deliveries_due", deliveries.c.state, deliveries.c.not_before)
sa.Index("ix_articles_guid", articles.c.guid)
sa.Index("ix_articles_feed_item_hash", articles.c.feed_id, articles.c.item_hash)

short_links = sa.Table(
    "short_links", metadata,
    sa.Column("kind", sa.String(32), primary_key=True),  # the strategy: wordpress-page, yourls, bitly
    sa.Column("url", sa.Text, primary_key=True),
    sa.Column("short", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

accounts = sa.Table(
    "accounts", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("held", sa.Boolean, nullable=False, default=False),
    sa.Column("held_reason", sa.Text),
    sa.Column("held_at", UTCDateTime),
    sa.Column("not_before", UTCDateTime),  # the platform asked for no request before this time
    sa.Column("updated_at", UTCDateTime, nullable=False),
)


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


_ANY_WAITING = sa.select(deliveries.c.id).where(
    deliveries.c.state.in_([DeliveryState.QUEUED.value, DeliveryState.SENDING.value])).limit(1)


# --- records at the store's edge ------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedState:
    id: str
    url: str
    initialized: bool
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    failures: int
    next_poll_at: datetime | None
    lease_owner: str | None = None
    leased_until: datetime | None = None


@dataclass(frozen=True)
class KnownArticle:
    id: int
    article: Article
    item_hash: str | None = None


@dataclass(frozen=True)
class PlannedDelivery:
    guid: str
    account_id: str
    priority: int = 0
    skip: str | None = None  #: why the account does not take it (recorded as skipped)


@dataclass(frozen=True)
class PollPlan:
    """What a poll decided: articles to add or update, the deliveries the new ones get, and the sent
    deliveries to send again because the headline was edited (``repost_on_edit``)."""

    new: Sequence[Article] = ()
    edited: Sequence[Article] = ()
    deliveries: Sequence[PlannedDelivery] = ()
    reposts: Sequence[tuple[str, str]] = ()  #: (guid, account id)


@dataclass(frozen=True)
class DeliveryForDispatch:
    id: int
    account_id: str
    attempts: int  #: including the attempt this claim starts
    text: str | None  #: frozen at the first attempt; None when this is the first
    article: Article
    article_id: int
    created_at: datetime | None = None


@dataclass(frozen=True)
class DeliveryRow:
    """A delivery as status and tests see it."""

    id: int
    account_id: str
    feed_id: str
    guid: str
    title: str
    state: str
    attempts: int
    text: str | None
    not_before: datetime | None
    remote_id: str | None
    remote_url: str | None
    note: str | None
    last_error: str | None
    sent_at: datetime | None
    created_at: datetime | None = None
    created_by: str | None = None
    priority: int = 0
    published: datetime | None = None


@dataclass(frozen=True)
class Event:
    at: datetime
    event: str
    detail: str | None
    by: str | None


@dataclass(frozen=True)
class AccountState:
    id: str
    held: bool
    held_reason: str | None
    held_at: datetime | None
    not_before: datetime | None


# --- the store ------------------------------------------------------------------------------------------


def database_url(configured: str | None, data_dir: str | Path) -> str:
    """The configured URL, else a SQLite file in the data folder."""
    if configured:
        return normalize_url(configured)
    return f"sqlite:///{Path(data_dir) / 'bot.sqlite3'}"


def shown_url(url: str) -> str:
    """A database URL as messages show it: without its password."""
    return url if "@" not in url else sa.engine.make_url(url).render_as_string(hide_password=True)


def normalize_url(url: str) -> str:
    """PostgreSQL URLs as the bot's driver (psycopg 3) needs them: Heroku's ``postgres://`` and the plain
    ``postgresql://`` both become ``postgresql+psycopg://``. Other URLs are returned as they are."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Store:
    def __init__(self, engine: Engine, light: Engine | None = None) -> None:
        self.engine = engine
        #: For bookkeeping whose loss in a power cut costs repeated work, never a post (see _bookkeeping).
        self.light = light or engine
        #: This process's name in a database it may share with other replicas (poll leases).
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    @classmethod
    def open(cls, url: str, *, migrate: bool = False) -> Store:
        """Open the database at ``url``: an empty one gets the newest schema; one at an older schema
        revision is migrated when ``migrate`` is set and refused otherwise. Raises StoreError when it cannot."""
        from bot.store import schema

        url = sqlite_file(normalize_url(url))  # "in memory": one throw-away file for both engines
        shown = shown_url(url)
        engine: Engine | None = None
        try:
            engine = make_engine(url)
            schema.prepare(engine, migrate=migrate)
            light = make_engine(url, durable=False) if engine.dialect.name == "sqlite" else None
        except Exception as exc:
            if engine is not None:
                engine.dispose()
            if isinstance(exc, schema.SchemaError):
                raise StoreError(f"the database {shown}: {exc}") from exc
            if isinstance(exc, sa.exc.SQLAlchemyError | OSError):
                reason = str(getattr(exc, "orig", None) or exc).strip()
                raise StoreError(f"cannot open the database {shown}: {reason}") from exc
            raise
        return cls(engine, light)

    @property
    def postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def close(self) -> None:
        self.engine.dispose()
        if self.light is not self.engine:
            self.light.dispose()

    @contextmanager
    def _bookkeeping(self) -> Iterator[Connection]:
        """A transaction committed without waiting for the disk (SQLite ``synchronous=NORMAL`` in WAL mode,
        PostgreSQL ``synchronous_commit=off``): a power cut may undo the last few such commits but never
        corrupts, and a later durable commit (a post recorded as sent) makes them durable too. Used for what
        a poll writes: undone, a poll's leases and feed state are simply redone, and its new articles are
        seen as new again at the next poll, with their deliveries. Nothing sent depends on them alone."""
        with self.light.begin() as c:
            if c.dialect.name == "postgresql":
                c.execute(sa.text("SET LOCAL synchronous_commit = off"))
            yield c

    # Feeds.

    def feed_state(self, feed_id: str) -> FeedState | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(feeds).where(feeds.c.id == feed_id)).mappings().first()
        return None if row is None else FeedState(**row)

    def feed_states(self) -> list[FeedState]:
        with self.engine.connect() as c:
            return [FeedState(**r) for r in c.execute(sa.select(feeds).order_by(feeds.c.id)).mappings()]

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
    ) -> tuple[PollPlan, bool, int]:
        """In one transaction: read what is known of these articles, let ``decide`` plan, write the plan and
        the feed's new state. Returns the plan, whether this was the feed's first start, and how many
        deliveries were queued (an account already given the article by another feed gets no second one)."""
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
            plan = decide(known, first_start)
            ids = {g: k.id for g, k in known.items()}
            queued = 0
            for a in plan.new:
                # No date, or one more than a day ahead (a clock gone wrong): it counts as published when first
                # seen, so it does not wait behind the future. Nearer dates keep their order.
                published = _plausible(a.published, now)
                inserted = c.execute(articles.insert().values(
                    **_article_values(a), feed_id=feed_id, first_seen_at=now, updated_at=now,
                    published_at=published, item_hash=hashes.get(a.guid),
                )).inserted_primary_key
                assert inserted is not None
                ids[a.guid] = inserted[0]
            edited = {a.guid for a in plan.edited}
            for a in plan.edited:
                c.execute(articles.update().where(articles.c.id == ids[a.guid]).values(
                    **_article_values(a), updated_at=now, item_hash=hashes.get(a.guid),
                    **({"published_at": _plausible(a.published, now)} if a.published else {}),
                ))
            for guid, hashed in hashes.items():  # the same article, its item's bytes changed
                if guid in known and guid not in edited and known[guid].item_hash != hashed:
                    c.execute(articles.update().where(articles.c.id == known[guid].id).values(item_hash=hashed))
            for d in plan.deliveries:
                # One post per article and account, even when two feeds of the site (the main feed and a
                # category feed) both carry the article.
                exists = c.execute(
                    sa.select(deliveries.c.id)
                    .join(articles, articles.c.id == deliveries.c.article_id)
                    .where(articles.c.guid == d.guid, deliveries.c.account_id == d.account_id)
                ).first()
                if not exists:
                    state = DeliveryState.SKIPPED if d.skip else DeliveryState.QUEUED
                    c.execute(deliveries.insert().values(
                        article_id=ids[d.guid], account_id=d.account_id, state=state.value, priority=d.priority,
                        note=d.skip, created_at=now, updated_at=now,
                    ))
                    queued += 0 if d.skip else 1
            for guid, account_id in plan.reposts:
                row = c.execute(sa.select(deliveries.c.id, deliveries.c.remote_url).where(
                    deliveries.c.article_id == ids[guid], deliveries.c.account_id == account_id,
                    deliveries.c.state == DeliveryState.SENT.value)).first()
                if row is not None:
                    c.execute(deliveries.update().where(deliveries.c.id == row.id).values(
                        state=DeliveryState.QUEUED.value, text=None, remote_id=None, remote_url=None, attempts=0,
                        not_before=None, note=f"the headline was edited: posting again (was {row.remote_url})",
                        updated_at=now))
                    queued += 1
            self._upsert_feed(c, feed_id, url, {
                "initialized": True, "etag": validators.etag, "last_modified": validators.last_modified,
                "body_hash": validators.body_hash, "last_poll_at": now, "last_success_at": now,
                "last_error": None, "failures": 0, "next_poll_at": None,
            })
        return plan, first_start, queued

    # Deliveries.

    def anything_to_send(self) -> bool:
        """Whether any delivery waits or is in flight: when none is, a dispatch pass has nothing to do."""
        with self.light.connect() as c:
            return c.execute(_ANY_WAITING).first() is not None

    def recover_expired(self, now: datetime, resend_safe: Callable[[str], bool]) -> tuple[int, int]:
        """Claims that expired (the process died mid-call): back to the queue with their frozen text where a
        resend cannot post twice, else ``in_doubt`` for the operator. Returns (requeued, in_doubt)."""
        requeued = doubtful = 0
        with self.engine.begin() as c:
            rows = c.execute(sa.select(deliveries.c.id, deliveries.c.account_id, deliveries.c.text).where(
                deliveries.c.state == DeliveryState.SENDING.value, deliveries.c.claimed_until < now)).all()
            for r in rows:
                # Without frozen text it never reached the platform: always safe to send.
                safe = r.text is None or resend_safe(r.account_id)
                state = DeliveryState.QUEUED if safe else DeliveryState.IN_DOUBT
                note = ("interrupted mid-send; resent with its frozen text" if safe else
                        "interrupted mid-send: it may or may not have been posted; "
                        "check the account, then retry or skip it")
                c.execute(deliveries.update().where(
                    deliveries.c.id == r.id, deliveries.c.state == DeliveryState.SENDING.value,
                ).values(state=state.value, claimed_until=None, note=note, updated_at=now))
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
                        deliveries.c.state == DeliveryState.SENDING.value, deliveries.c.claimed_until > now)
                    q = q.where(deliveries.c.account_id.not_in(sending), deliveries.c.account_id.not_in(busy))
                row = c.execute(q).first()
                if row is None:
                    return None
                m = row._mapping
                d_id, attempts = m[deliveries.c.id], m[deliveries.c.attempts] + 1
                account_id = m[deliveries.c.account_id]
                if self.postgres and not (_account_claim_lock(c, account_id, d_id, now)
                                          and (still_ready is None or still_ready(account_id))):
                    busy.add(account_id)
                    continue
                done = c.execute(deliveries.update().where(
                    deliveries.c.id == d_id, deliveries.c.state == DeliveryState.QUEUED.value,
                ).values(state=DeliveryState.SENDING.value, attempts=attempts, claimed_until=now + lease,
                         updated_at=now))
                if done.rowcount == 1:
                    return DeliveryForDispatch(
                        d_id, m[deliveries.c.account_id], attempts, m[deliveries.c.text],
                        _article({k.name: m[k] for k in articles.c}), m[articles.c.id],
                        m[deliveries.c.created_at])

    def freeze_text(self, delivery_id: int, text: str, now: datetime) -> str:
        """Freeze a claimed delivery's text (only the first time); returns the frozen text. Every later
        attempt sends exactly this text, so a platform's duplicate check recognises a resend."""
        with self.engine.begin() as c:
            c.execute(deliveries.update().where(deliveries.c.id == delivery_id, deliveries.c.text.is_(None))
                      .values(text=text, updated_at=now))
            frozen: str = c.execute(sa.select(deliveries.c.text).where(deliveries.c.id == delivery_id)).scalar_one()
        return frozen

    def sent_times(self, account_id: str, since: datetime) -> list[datetime]:
        """When the account's posts of this period went out (for per-day and per-hour limits)."""
        with self.engine.connect() as c:
            return [r.sent_at for r in c.execute(sa.select(deliveries.c.sent_at).where(
                deliveries.c.account_id == account_id, deliveries.c.state == DeliveryState.SENT.value,
                deliveries.c.sent_at >= since).order_by(deliveries.c.sent_at))]

    def skip_stale(self, account_id: str, cutoff: datetime, now: datetime) -> int:
        """Skip the account's waiting posts whose article was published before ``cutoff``."""
        with self.engine.begin() as c:
            old = sa.select(articles.c.id).where(articles.c.published_at < cutoff)
            done = c.execute(deliveries.update().where(
                deliveries.c.account_id == account_id, deliveries.c.state == DeliveryState.QUEUED.value,
                deliveries.c.article_id.in_(old),
            ).values(state=DeliveryState.SKIPPED.value, updated_at=now,
                     note="stale: it could not go out within stale_after of its article's publication"))
            return int(done.rowcount or 0)

    def record_sent(self, delivery_id: int, now: datetime, remote_id: str | None, remote_url: str | None,
                    note: str | None = None) -> None:
        self._finish(delivery_id, now, state=DeliveryState.SENT.value, remote_id=remote_id,
                     remote_url=remote_url, note=note, sent_at=now, last_error=None)

    def record_failed(self, delivery_id: int, now: datetime, error: str) -> None:
        self._finish(delivery_id, now, state=DeliveryState.FAILED.value, last_error=error)

    def record_in_doubt(self, delivery_id: int, now: datetime, error: str) -> None:
        self._finish(delivery_id, now, state=DeliveryState.IN_DOUBT.value, last_error=error,
                     note="the send failed in a way that may or may not have posted: check, then retry or skip")

    def record_retry(self, delivery_id: int, now: datetime, not_before: datetime | None, error: str,
                     count_attempt: bool = True) -> None:
        values: dict[str, Any] = {"state": DeliveryState.QUEUED.value, "not_before": not_before,
                                  "last_error": error}
        if not count_attempt:
            values["attempts"] = deliveries.c.attempts - 1
        self._finish(delivery_id, now, **values)

    def _finish(self, delivery_id: int, now: datetime, **values: Any) -> None:
        with self.engine.begin() as c:
            c.execute(deliveries.update().where(deliveries.c.id == delivery_id).values(
                claimed_until=None, updated_at=now, **values))

    def deliveries(self, account_id: str | None = None, state: str | None = None, *, ids: Iterable[int] = (),
                   newest_first: bool = False, limit: int | None = None) -> list[DeliveryRow]:
        q = (sa.select(deliveries, articles.c.feed_id, articles.c.guid, articles.c.title, articles.c.published_at)
             .join(articles, articles.c.id == deliveries.c.article_id))
        order = deliveries.c.updated_at.desc() if newest_first else deliveries.c.id
        q = q.order_by(order, deliveries.c.id.desc() if newest_first else deliveries.c.id)
        if account_id:
            q = q.where(deliveries.c.account_id == account_id)
        if state:
            q = q.where(deliveries.c.state == state)
        wanted = list(ids)
        if wanted:
            q = q.where(deliveries.c.id.in_(wanted))
        if limit:
            q = q.limit(limit)
        with self.engine.connect() as c:
            return [DeliveryRow(
                id=r["id"], account_id=r["account_id"], feed_id=r["feed_id"], guid=r["guid"], title=r["title"],
                state=r["state"], attempts=r["attempts"], text=r["text"], not_before=r["not_before"],
                remote_id=r["remote_id"], remote_url=r["remote_url"], note=r["note"],
                last_error=r["last_error"], sent_at=r["sent_at"], created_at=r["created_at"],
                created_by=r["created_by"], priority=r["priority"], published=r["published_at"],
            ) for r in c.execute(q).mappings()]

    def delivery(self, delivery_id: int) -> DeliveryRow | None:
        found = self.deliveries(ids=[delivery_id])
        return found[0] if found else None

    def add_manual(self, copies: Sequence[Article], account_ids: Sequence[str], now: datetime, by: str,
                   ) -> tuple[list[int], list[str]]:
        """Record a post made by hand: the article (under each feed it may appear in, so no feed posts it
        again) and a delivery per account. Returns the new deliveries and the accounts that had it already."""
        made: list[int] = []
        had: list[str] = []
        with self.engine.begin() as c:
            _serialize_new_articles(c)
            ids = []
            for a in copies:
                row = c.execute(sa.select(articles.c.id).where(articles.c.feed_id == a.feed_id,
                                                               articles.c.guid == a.guid)).first()
                if row is None:
                    row_id = c.execute(articles.insert().values(
                        **_article_values(a), feed_id=a.feed_id, first_seen_at=now, updated_at=now,
                        published_at=a.published or now)).inserted_primary_key
                    assert row_id is not None
                    ids.append(int(row_id[0]))
                else:
                    ids.append(int(row.id))
            for account_id in account_ids:
                exists = c.execute(sa.select(deliveries.c.id).join(articles, articles.c.id == deliveries.c.article_id)
                                   .where(articles.c.guid == copies[0].guid,
                                          deliveries.c.account_id == account_id)).first()
                if exists:
                    had.append(account_id)
                    continue
                inserted = c.execute(deliveries.insert().values(
                    article_id=ids[0], account_id=account_id, state=DeliveryState.QUEUED.value, priority=100,
                    created_at=now, updated_at=now, created_by=by, note=f"posted by hand by {by}",
                )).inserted_primary_key
                assert inserted is not None
                made.append(int(inserted[0]))
                c.execute(events.insert().values(delivery_id=made[-1], at=now, event="post", by=by))
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

    def operator_set(self, delivery_id: int, now: datetime, from_states: Iterable[str], event: str, by: str,
                     **values: Any) -> bool:
        """Move a delivery from one of ``from_states`` (an operator's retry, skip, unpost) and record it."""
        with self.engine.begin() as c:
            done = c.execute(deliveries.update().where(
                deliveries.c.id == delivery_id, deliveries.c.state.in_(list(from_states)),
            ).values(updated_at=now, **values))
            if done.rowcount != 1:
                return False
            c.execute(events.insert().values(delivery_id=delivery_id, at=now, event=event, by=by,
                                             detail=values.get("note")))
            return True

    def articles(self, feed_id: str | None = None) -> list[Article]:
        q = sa.select(articles).order_by(articles.c.id)
        if feed_id:
            q = q.where(articles.c.feed_id == feed_id)
        with self.engine.connect() as c:
            return [_article(r) for r in c.execute(q).mappings()]

    # The WordPress REST API's answer, cached on the article.

    def api_checked(self, article_id: int) -> bool:
        with self.engine.connect() as c:
            return c.execute(sa.select(articles.c.api_checked_at).where(
                articles.c.id == article_id)).scalar() is not None

    def record_api_data(self, article_id: int, now: datetime, categories: Sequence[str] | None = None,
                        tags: Sequence[str] | None = None, featured_image: str | None = None,
                        excerpt: str | None = None) -> None:
        """Note that the REST API was asked; with what it said when it answered."""
        values: dict[str, Any] = {"api_checked_at": now}
        if categories is not None:
            values["categories"] = list(categories)
        if tags is not None:
            values["tags"] = list(tags)
        if featured_image is not None:
            values["featured_image"] = featured_image
        if excerpt:
            values["excerpt"] = excerpt
        with self.engine.begin() as c:
            c.execute(articles.update().where(articles.c.id == article_id).values(**values))

    def article_by_id(self, article_id: int) -> Article:
        with self.engine.connect() as c:
            return _article(c.execute(sa.select(articles).where(articles.c.id == article_id)).mappings().one())

    # Retention.

    def prune(self, cutoff: datetime) -> tuple[int, int]:
        """Delete finished deliveries (sent, failed, skipped, deleted) last changed before ``cutoff``, and
        articles first seen and published before it that no delivery needs any more. Nothing waiting or in
        doubt is touched. Returns (deliveries, articles) deleted."""
        finished = [DeliveryState.SENT.value, DeliveryState.FAILED.value, DeliveryState.SKIPPED.value,
                    DeliveryState.DELETED.value]
        with self.engine.begin() as c:
            old = sa.select(deliveries.c.id).where(deliveries.c.state.in_(finished), deliveries.c.updated_at < cutoff)
            c.execute(events.delete().where(events.c.delivery_id.in_(old)))
            gone = c.execute(deliveries.delete().where(deliveries.c.state.in_(finished),
                                                       deliveries.c.updated_at < cutoff)).rowcount or 0
            needed = sa.select(deliveries.c.article_id)
            dropped = c.execute(articles.delete().where(
                articles.c.first_seen_at < cutoff, articles.c.published_at < cutoff,
                articles.c.id.not_in(needed))).rowcount or 0
            c.execute(short_links.delete().where(short_links.c.created_at < cutoff))
        return int(gone), int(dropped)

    # Short links (a cache: the same long link gets the same short link on every account and retry).

    def cached_short_link(self, kind: str, url: str) -> str | None:
        with self.engine.connect() as c:
            short: str | None = c.execute(sa.select(short_links.c.short).where(
                short_links.c.kind == kind, short_links.c.url == url)).scalar()
        return short

    def cache_short_link(self, kind: str, url: str, short: str, now: datetime) -> None:
        with self.engine.begin() as c:
            if c.execute(sa.select(short_links.c.short).where(
                    short_links.c.kind == kind, short_links.c.url == url)).first() is None:
                c.execute(short_links.insert().values(kind=kind, url=url, short=short, created_at=now))

    # Accounts.

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

    def pause_account(self, account_id: str, until: datetime, now: datetime) -> None:
        with self.engine.begin() as c:
            _upsert_account(c, account_id, {"not_before": until}, now)

    def account_state(self, account_id: str) -> AccountState:
        with self.engine.connect() as c:
            row = c.execute(sa.select(accounts).where(accounts.c.id == account_id)).mappings().first()
        if row is None:
            return AccountState(account_id, False, None, None, None)
        return AccountState(row["id"], row["held"], row["held_reason"], row["held_at"], row["not_before"])


# --- helpers --------------------------------------------------------------------------------------------


def make_engine(url: str, *, durable: bool = True) -> Engine:
    parsed = sa.engine.make_url(normalize_url(url))
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(sa.engine.make_url(sqlite_file(url)), durable)
    # READ COMMITTED (PostgreSQL's default): every statement sees what other replicas committed before it.
    return sa.create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=5)


def sqlite_file(url: str) -> str:
    """A SQLite URL with a file: "in memory" (demos) becomes a throw-away file, so the scheduler's threads
    each get their own connection exactly as with a real file, instead of sharing one between transactions.
    Other URLs are returned as they are."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or (parsed.database and parsed.database != ":memory:"):
        return url
    folder = tempfile.mkdtemp(prefix="wp-social-bot-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return parsed.set(database=str(Path(folder) / "bot.sqlite3")).render_as_string(hide_password=False)


def _sqlite_engine(url: sa.URL, durable: bool = True) -> Engine:
    if url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: a post recorded as sent stays recorded, even in a power cut (see Store._bookkeeping for NORMAL).
        cur.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return engine


def _insert(c: Connection, table: sa.Table) -> Any:
    """An INSERT that can say ON CONFLICT DO NOTHING, in the connection's dialect."""
    if c.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def _gone(owner: str) -> bool:
    """Whether a lease owner (``host:pid:tag``) is a process of this machine that no longer runs."""
    host, _, pid = owner.rpartition(":")[0].rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists (perhaps as another user's process)
        return False
    return False


#: Keys of PostgreSQL advisory locks (any fixed numbers).
_NEW_ARTICLES_LOCK = 7_413_092_002


def _serialize_new_articles(c: Connection) -> None:
    """On PostgreSQL, one transaction at a time records new articles: two replicas polling two feeds that
    carry the same article (the main feed and a category feed) must not both queue it for an account.
    These transactions do no network I/O, so the wait is short. (SQLite writers are serial already.)"""
    if c.dialect.name == "postgresql":
        c.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _NEW_ARTICLES_LOCK})


def _account_claim_lock(c: Connection, account_id: str, delivery_id: int, now: datetime) -> bool:
    """PostgreSQL: whether this transaction may claim for the account. It takes the account's advisory lock
    (held until commit) and, under it, checks that no other replica committed a claim for the account
    since the query's snapshot."""
    got = c.execute(sa.text("SELECT pg_try_advisory_xact_lock(hashtext(:key))"),
                    {"key": f"wp-social-bot account {account_id}"}).scalar()
    if not got:
        return False
    other = c.execute(sa.select(deliveries.c.id).where(
        deliveries.c.account_id == account_id, deliveries.c.id != delivery_id,
        deliveries.c.state == DeliveryState.SENDING.value, deliveries.c.claimed_until > now).limit(1)).first()
    return other is None


def _plausible(published: datetime | None, now: datetime) -> datetime:
    return now if published is None or published > now + timedelta(days=1) else published


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _article_values(a: Article) -> dict[str, Any]:
    return {"guid": a.guid, "title": a.title, "link": a.link, "summary": a.summary, "author": a.author,
            "labels": list(a.labels), "image_urls": list(a.image_urls)}


def _article(r: Any) -> Article:
    return Article(
        feed_id=r["feed_id"], guid=r["guid"], title=r["title"], link=r["link"], summary=r["summary"],
        author=r["author"], published=r["published_at"], labels=tuple(r["labels"] or ()),
        image_urls=tuple(r["image_urls"] or ()),
        categories=None if r["categories"] is None else tuple(r["categories"]),
        tags=None if r["tags"] is None else tuple(r["tags"]),
        featured_image=r["featured_image"],
        excerpt=r["excerpt"],
    )




def _upsert_account(c: Connection, account_id: str, values: dict[str, Any], now: datetime) -> None:
    exists = c.execute(sa.select(accounts.c.id).where(accounts.c.id == account_id)).first()
    if exists is None:
        c.execute(accounts.insert().values(id=account_id, updated_at=now, **{"held": False, **values}))
    else:
        c.execute(accounts.update().where(accounts.c.id == account_id).values(updated_at=now, **values))
