"""The Bot: one object that holds the config, the store and the publishers, and runs polls and dispatches.

The CLI and the daemon only build a Bot and call it.
"""

from __future__ import annotations

import logging
import threading
from typing import TextIO

import requests

from bot.clock import Clock, SystemClock
from bot.compose import compose_post
from bot.compose.hashtags import make_hashtags
from bot.config import AccountConfig, BotConfig
from bot.dispatch import Dispatcher, Outcome
from bot.feeds import new_session
from bot.links import Shortener, ShortLinkSettings, add_utm, post_id
from bot.models import Article
from bot.platforms import Publisher, make_publisher
from bot.poll import PollResult, poll_feed
from bot.store import Store, database_url
from bot.wordpress import WordPressError, fetch_post

log = logging.getLogger("bot")


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

    def compose(self, account_id: str, article: Article, article_id: int | None = None) -> str:
        """The text an account posts for an article (raises ComposeError when nothing fits). May ask the
        WordPress REST API (once per article) and a shortener (once per link): both fall back quietly."""
        account = self.account(account_id)
        site = self.config.site
        if article_id is not None:
            article = self.enrich(article, article_id)
        link = add_utm(article.link, account.utm.model_dump(exclude_none=True) if account.utm else {})
        short = self.shortener(account).short_link(link, article.guid, self.site_url(article))
        rules = account.hashtags
        names = {"categories": article.category_names, "tags": article.tag_names,
                 "both": (*article.category_names, *article.tag_names)}[rules.source]
        tags = make_hashtags(names, limit=rules.max, exclude=rules.exclude, mapping=rules.map,
                             always=rules.always, text=article.title)
        return compose_post(
            article, account.template_for(article.category_names), site.name, self.publishers[account_id].rule,
            direction=site.text_direction, hashtags=tags, link=link, short_link=short, tz=site.tz,
            date_format=account.date_format,
        )

    def site_url(self, article: Article) -> str:
        try:
            return self.config.site_url_of(self.config.feed(article.feed_id))
        except KeyError:  # its feed has left the config
            return self.config.site.url

    def shortener(self, account: AccountConfig) -> Shortener:
        settings = account.short_link or self.config.site.short_link
        with self._lock:
            session = self._sessions.setdefault("links", new_session())
        return Shortener(
            ShortLinkSettings(settings.kind, settings.api_url, settings.token, settings.domain,
                              settings.timeout.total_seconds(), settings.page_lookup),
            self.store, session, self.config.agent, self.clock)

    def enrich(self, article: Article, article_id: int) -> Article:
        """The article with its real categories, tags and featured image from the WordPress REST API, when
        ``site.wordpress_api`` is on (asked once per article; any failure keeps the feed's labels)."""
        if not self.config.site.wordpress_api:
            return article
        if not self.store.api_checked(article_id):
            pid = post_id(article.guid, article.link)
            now = self.clock.now()
            if pid is None:
                log.info("article %s: no ?p=ID to ask the WordPress API with; using the feed's labels",
                         article.guid)
                self.store.record_api_data(article_id, now)
            else:
                with self._lock:
                    session = self._sessions.setdefault("wordpress", new_session())
                try:
                    post = fetch_post(self.site_url(article), pid, session=session, timeout=5.0,
                                      user_agent=self.config.agent)
                except WordPressError as exc:
                    log.warning("WordPress API failed for post %d, using the feed's labels: %s", pid, exc)
                    self.store.record_api_data(article_id, now)
                else:
                    self.store.record_api_data(article_id, now, post.categories, post.tags, post.featured_image)
        return self.store.article_by_id(article_id)

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
