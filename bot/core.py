"""The Bot: one object that holds the config, the store and the publishers, and runs polls and dispatches.

The daemon builds a Bot and runs its polls and dispatches; the CLI builds one for the operator actions
(:mod:`bot.operations`) and for ``bot poll``.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, TextIO

import requests

from bot import netguard
from bot.clock import Clock, SystemClock
from bot.composer import Composer
from bot.config import AccountConfig, BotConfig
from bot.config.database import database_url
from bot.dispatch import Dispatcher, Outcome
from bot.errors import BotError, StoreError, UsageError
from bot.feeds import FeedClient, new_session
from bot.feeds.poll import PollResult, poll_feed
from bot.platforms import Publisher, make_publisher
from bot.retract import Retractions
from bot.revise import Reviser
from bot.say import Say
from bot.store import Store

if TYPE_CHECKING:
    from bot.alerts import Alerter
    from bot.pictures import Pictures

log = logging.getLogger("bot")

#: How long a drawn card is kept in ``data_dir/cards`` after it was drawn.
CARDS_KEPT = timedelta(days=7)


class Bot:
    """The running bot's parts, wired: the config, the store, the clock, the publishers (one per enabled
    account, made on first use), the composer and the HTTP sessions; it polls feeds and dispatches the outbox.
    Operator actions live in :mod:`bot.operations`, which works through a Bot."""

    def __init__(self, config: BotConfig, store: Store, clock: Clock | None = None,
                 stream: TextIO | None = None) -> None:
        self.config = config
        self.store = store
        self.clock = clock or SystemClock()
        self._stream = stream
        self._sessions: dict[str, requests.Session] = {}
        self.feed_client = FeedClient()  #: every poll's HTTP, keep-alive per host
        self._publishers: dict[str, Publisher] | None = None
        self._alerter: Alerter | None = None
        self._pictures: Pictures | None = None
        self._pictures_lock = threading.Lock()
        self._lock = threading.Lock()
        self._dispatch_lock = threading.Lock()
        netguard.TRUSTED.set(config.trusted_hosts())  # what URLs found in content may reach besides the internet
        self.composer = Composer(config, store, self.clock, rule_for=lambda a: self.publisher_for(a).rule,
                                 session=self.session, account=self.account)
        self.say = Say(config, store, self.composer, self.clock)  #: the editor's say (the companion plugin)
        #: the site's withdrawals of articles (the plugin's notices, the REST API's check)
        self.retractions = Retractions(config, store, self.clock, session=self.session,
                                       articles_of=self.say.post_articles)

    @classmethod
    def open(cls, config: BotConfig, clock: Clock | None = None, stream: TextIO | None = None, *,
             create: bool = True, scratch: bool = False) -> Bot:
        """The bot on the configured database. ``create=False`` (commands that only read): a database that is
        not there yet is not made; with ``scratch`` a throw-away one is used instead (a preview or a check
        needs none of the bot's state)."""
        url = database_url(config.database, config.data_dir)
        try:
            store = Store.open(url, migrate=config.migrate_on_start, create=create)
        except StoreError as exc:
            if create or not scratch:
                raise
            log.warning("%s; going on without the bot's state (a throw-away database)", exc)
            store = Store.open("sqlite://")
        return cls(config, store, clock, stream)

    @property
    def publishers(self) -> dict[str, Publisher]:
        with self._lock:
            if self._publishers is None:
                self._publishers = {a.id: self._make_publisher(a) for a in self.config.accounts if a.enabled}
            return self._publishers

    def _make_publisher(self, account: AccountConfig) -> Publisher:
        return make_publisher(account, stream=self._stream, clock=self.clock, user_agent=self.config.agent,
                              pictures=self.pictures, tokens=self.store)

    @property
    def pictures(self) -> Pictures:
        """Cards drawn with the config's template (cached under data_dir/cards), and a public address for
        images where ``server.public_url`` gives one. One per bot, shared by its publishers."""
        with self._pictures_lock:  # not self._lock: it is held while the publishers are made
            if self._pictures is None:
                from pathlib import Path

                from bot.pictures import ImageHost, Pictures

                server = self.config.server
                host = ImageHost(self.store, server.public_url, self.clock.now) \
                    if server is not None and server.public_url else None
                self._pictures = Pictures(self.config.cards, self.config.site.name,
                                          Path(self.config.data_dir) / "cards", host)
            return self._pictures

    def session(self, key: str) -> requests.Session:
        """One HTTP session each for links, the REST API and article pages (polls use ``feed_client``). Links
        and pages come from content: their sessions reach public addresses and trusted hosts only."""
        with self._lock:
            if key not in self._sessions:
                self._sessions[key] = new_session() if key == "wordpress" else netguard.content_session()
            return self._sessions[key]

    def account(self, account_id: str) -> AccountConfig:
        for a in self.config.accounts:
            if a.id == account_id:
                return a
        known = ", ".join(a.id for a in self.config.accounts) or "none"
        raise UsageError(f"no account {account_id!r} in the config; accounts: {known}")

    def publisher_for(self, account: AccountConfig) -> Publisher:
        if account.id in self.publishers:
            return self.publishers[account.id]
        with self._lock:  # a disabled account asked for by name (preview)
            if self._publishers is not None and account.id not in self._publishers:
                self._publishers[account.id] = self._make_publisher(account)
        return self.publishers[account.id]

    def poll(self, feed_id: str, *, stop: threading.Event | None = None, force: bool = False,
             scheduled: bool = False) -> PollResult:
        feed = self.config.feed(feed_id)
        since = self.clock.now()
        result = poll_feed(feed, self.config, self.store, self.clock, self.feed_client, stop=stop, force=force,
                           scheduled=scheduled)
        if result.new and not result.first_start:
            self.say.read_new(feed_id, since)  # before the dispatcher sends (it reads what is left itself)
        return result

    def poll_all(self, *, stop: threading.Event | None = None, force: bool = False) -> list[PollResult]:
        return [self.poll(f.id, stop=stop, force=force) for f in self.config.feeds
                if not (stop and stop.is_set())]

    def dispatch(self, *, stop: threading.Event | None = None, only: list[int] | None = None,
                 force: bool = False) -> list[Outcome]:
        """One dispatch pass (of every due delivery, or ``only`` these), then (a whole pass) the changes owed to
        posts out (:mod:`bot.revise`). Passes in this process take turns: an account never has two sends under way
        at once from one process, on SQLite as on PostgreSQL."""
        dispatcher = self.dispatcher()
        with self._dispatch_lock:
            outcomes = dispatcher.run(stop=stop, only=only, force=force)
            if only is None:
                outcomes += self.reviser().run(stop)
            return outcomes

    def reviser(self) -> Reviser:
        return Reviser(self.store, self.publishers, self.composer.compose, self.clock,
                       policies={a.id: a for a in self.config.accounts})

    def dispatcher(self) -> Dispatcher:
        enabled = {a.id for a in self.config.accounts if a.enabled}
        unset = [a for a in self.config.unset_secrets() if a in enabled]
        if unset:  # loaded for a command that reaches no platform (load_config(secrets=False))
            raise BotError(f"cannot send: the secrets of {', '.join(unset)} are not set in this environment")
        return Dispatcher(self.store, self.publishers, self.composer.compose, self.clock,
                          lease=self.config.dispatch_lease, policies={a.id: a for a in self.config.accounts},
                          tz=self.config.site.tz, enrich=self.composer.enrich)

    def alert(self, *, stop: threading.Event | None = None) -> int:
        """Tell the operators what began or ended (``alerts:``); returns how many messages went out. Tokens that
        the bot refreshes (Threads') are refreshed here, with or without ``alerts:``."""
        if self.config.alerts is None and not self.config.refreshes_tokens():
            return 0
        if self.config.alerts_unset():  # loaded for a command that sends nothing (load_config(secrets=False))
            raise BotError("cannot send alerts: an alert channel's secret is not set in this environment")
        with self._lock:
            if self._alerter is None:
                from bot.alerts import Alerter

                self._alerter = Alerter(self.config, self.store, self.clock, self._make_publisher)
        return self._alerter.run(stop)

    def prune(self) -> tuple[int, int]:
        """Apply ``retention``: returns (deliveries, articles) deleted."""
        self.store.prune_alerts(self.clock.now() - self.config.retention)
        self.store.prune_hosted(self.clock.now())
        self._prune_cards()
        console = self.config.console  # sessions unused past their idle time, failed sign-ins past their window
        self.store.prune_sessions(self.clock.now() - max(console.session_idle, console.login_window)
                                  if console else self.clock.now() - timedelta(days=1))
        gone, dropped = self.store.prune(self.clock.now() - self.config.retention)
        if gone or dropped:
            log.info("retention %s: deleted %d finished deliveries and %d articles", self.config.retention,
                     gone, dropped)
        return gone, dropped

    def _prune_cards(self) -> None:
        """Delete cards not used for ``CARDS_KEPT`` (a retry or a preview after that draws its card again)."""
        cache = self.pictures.cache_dir
        if cache is not None:
            from bot.cards import prune

            prune(cache, CARDS_KEPT)

    def close(self) -> None:
        for s in self._sessions.values():
            s.close()
        self.feed_client.close()
        for p in (self._publishers or {}).values():
            p.close()
        if self._alerter is not None:
            self._alerter.close()
        self.store.close()
