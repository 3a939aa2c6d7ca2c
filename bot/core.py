"""The Bot: one object that holds the config, the store and the publishers, and runs polls and dispatches.

The CLI and the daemon only build a Bot and call it.
"""

from __future__ import annotations

import threading
from typing import TextIO

import requests

from bot.clock import Clock, SystemClock
from bot.compose import compose_post
from bot.config import AccountConfig, BotConfig
from bot.dispatch import Dispatcher, Outcome
from bot.feeds import new_session
from bot.models import Article
from bot.platforms import Publisher, make_publisher
from bot.poll import PollResult, poll_feed
from bot.store import Store, database_url


class Bot:
    def __init__(self, config: BotConfig, store: Store, clock: Clock | None = None,
                 stream: TextIO | None = None) -> None:
        self.config = config
        self.store = store
        self.clock = clock or SystemClock()
        self._stream = stream
        self._sessions: dict[str, requests.Session] = {}
        self._publishers: dict[str, Publisher] | None = None
        self._lock = threading.Lock()

    @classmethod
    def open(cls, config: BotConfig, clock: Clock | None = None, stream: TextIO | None = None) -> Bot:
        return cls(config, Store.open(database_url(config.database, config.data_dir)), clock, stream)

    @property
    def publishers(self) -> dict[str, Publisher]:
        with self._lock:
            if self._publishers is None:
                self._publishers = {a.id: make_publisher(a, self._stream) for a in self.config.accounts
                                    if a.enabled}
            return self._publishers

    def account(self, account_id: str) -> AccountConfig:
        for a in self.config.accounts:
            if a.id == account_id:
                return a
        raise KeyError(account_id)

    def compose(self, account_id: str, article: Article) -> str:
        """The text an account posts for an article (raises ComposeError when nothing fits)."""
        account = self.account(account_id)
        return compose_post(article, account.template, self.config.site.name,
                            self.publishers[account_id].rule, direction=self.config.site.text_direction)

    def poll(self, feed_id: str, *, stop: threading.Event | None = None, force: bool = False) -> PollResult:
        feed = self.config.feed(feed_id)
        with self._lock:
            session = self._sessions.setdefault(feed_id, new_session())
        return poll_feed(feed, self.config, self.store, self.clock, session, stop=stop, force=force)

    def poll_all(self, *, stop: threading.Event | None = None, force: bool = False) -> list[PollResult]:
        return [self.poll(f.id, stop=stop, force=force) for f in self.config.feeds
                if not (stop and stop.is_set())]

    def dispatch(self, *, stop: threading.Event | None = None) -> list[Outcome]:
        return Dispatcher(self.store, self.publishers, self.compose, self.clock).run(stop=stop)

    def close(self) -> None:
        for s in self._sessions.values():
            s.close()
        for p in (self._publishers or {}).values():
            p.close()
        self.store.close()
