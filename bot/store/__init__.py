"""The store: the bot's state in SQLite or PostgreSQL (SQLAlchemy Core), behind one :class:`Store` object.

Every write that must happen together happens in one transaction: a poll's new articles, their
deliveries and the feed's new ETag are committed at once, so a crash never records a feed as read
without the deliveries it owes. Times are stored as naive UTC and come back timezone-aware.

From the bottom up: ``tables`` (the tables and the time type; imports nothing of the store), ``schema``
(the schema's revision and its ``migrations``), ``records`` (what crosses the store's edge), ``engine``
(engines, URLs, advisory locks, :class:`StoreBase`), then one module per concern, each a part of
:class:`Store`: ``feeds`` (feeds, poll leases, what a poll records), ``outbox`` (deliveries, claims,
outcomes, operators' transitions, history), ``editorial`` (approvals, editors' texts, the history searched),
``accounts`` (held and paused accounts), ``alerts`` (the
problems, what each alert channel was last told, token expiry), ``spend`` (what X charged), ``caches``
(short links, the REST API's answers, retention), ``users`` (the console's users, sessions, failed sign-ins),
``hosted`` (images at a public address, platforms' refreshed tokens), ``say`` (the editor's say per article from
the companion WordPress plugin, applied to its deliveries), ``revise`` (corrections and withdrawals of posts out:
what each is owed, claimed and recorded).
"""

from __future__ import annotations

from bot.config.database import database_url, normalize_url, shown_url
from bot.store.accounts import AccountsMixin
from bot.store.alerts import AlertsMixin, Owed
from bot.store.caches import CachesMixin
from bot.store.editorial import EditorialMixin
from bot.store.engine import StoreBase, make_engine, sqlite_file
from bot.store.feeds import FeedsMixin
from bot.store.hosted import HostedMixin
from bot.store.outbox import OutboxMixin
from bot.store.records import (
    AccountState,
    AccountToken,
    Correcting,
    DeliveryForDispatch,
    DeliveryRow,
    Event,
    FeedState,
    KnownArticle,
    PlannedDelivery,
    PollPlan,
    Problem,
    Revision,
    Withdrawn,
)
from bot.store.revise import ReviseMixin
from bot.store.say import SayMixin
from bot.store.spend import SpendMixin
from bot.store.tables import accounts, articles, deliveries, events, feeds, metadata, short_links
from bot.store.users import User, UsersMixin


class Store(FeedsMixin, OutboxMixin, EditorialMixin, AccountsMixin, AlertsMixin, SpendMixin, CachesMixin,
            UsersMixin, HostedMixin, SayMixin, ReviseMixin, StoreBase):
    """The bot's state, one object over one database: open it with :meth:`Store.open`. Safe to share between
    threads (each call takes its own connection); on PostgreSQL, several processes share one database
    (poll leases, claims with ``SKIP LOCKED``, advisory locks)."""


__all__ = [
    "AccountState",
    "AccountToken",
    "Correcting",
    "DeliveryForDispatch",
    "DeliveryRow",
    "Event",
    "FeedState",
    "KnownArticle",
    "Owed",
    "PlannedDelivery",
    "PollPlan",
    "Problem",
    "Revision",
    "Store",
    "StoreBase",
    "User",
    "Withdrawn",
    "accounts",
    "articles",
    "database_url",
    "deliveries",
    "events",
    "feeds",
    "make_engine",
    "metadata",
    "normalize_url",
    "short_links",
    "shown_url",
    "sqlite_file",
]
