"""The Bot: one object that holds the config, the store and the publishers, and runs polls and dispatches.

The CLI and the daemon only build a Bot and call it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TextIO

import requests

from bot.clock import Clock, SystemClock
from bot.compose import compose_post
from bot.compose.hashtags import make_hashtags, tag_keywords
from bot.config import AccountConfig, BotConfig
from bot.dispatch import Dispatcher, Outcome
from bot.errors import ComposeError, FeedError, WordPressError
from bot.feeds import fetch, new_session, parse
from bot.links import Shortener, ShortLinkSettings, add_utm, post_id
from bot.models import Article, Validators
from bot.platforms import Publisher, make_publisher
from bot.poll import PollResult, newest, poll_feed
from bot.store import Store, database_url
from bot.wordpress import WordPressPost, fetch_post

log = logging.getLogger("bot")


@dataclass(frozen=True)
class Preview:
    """The post an account would get for an article."""

    feed: str
    guid: str
    account: str
    platform: str
    text: str
    length: int | None  #: as the platform counts it
    limit: int | None
    fits: bool
    error: str | None = None  #: why no post can be made


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
                self._publishers = {a.id: self._make_publisher(a) for a in self.config.accounts if a.enabled}
            return self._publishers

    def _make_publisher(self, account: AccountConfig) -> Publisher:
        return make_publisher(account, stream=self._stream, clock=self.clock, user_agent=self.config.agent)

    def _session(self, key: str) -> requests.Session:
        """One HTTP session per feed (polls of a feed never overlap), and one each for links and the API."""
        with self._lock:
            if key not in self._sessions:
                self._sessions[key] = new_session()
            return self._sessions[key]

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
        link = add_utm(article.link, account.utm.model_dump(exclude_none=True) if account.utm else {})
        short = self.shortener(account).short_link(link, article.guid, self.site_url(article))
        article = self.enrich(article, article_id)
        rules = account.hashtags
        if rules.keywords:
            article = replace(article, title=tag_keywords(article.title, rules.keywords))
        names = {"categories": article.category_names, "tags": article.tag_names,
                 "both": (*article.category_names, *article.tag_names)}[rules.source]
        tags = make_hashtags(names, limit=rules.max, exclude=rules.exclude, mapping=rules.map,
                             always=rules.always, text=article.title)
        return compose_post(
            article, account.template_for(article.category_names), site.name, self.publisher_for(account).rule,
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
        session = self._session("links")
        return Shortener(
            ShortLinkSettings(settings.kind, settings.api_url, settings.token, settings.domain,
                              settings.timeout.total_seconds(), settings.page_lookup),
            self.store, session, self.config.agent, self.clock)

    def enrich(self, article: Article, article_id: int | None = None) -> Article:
        """The article with its real categories, tags and featured image from the WordPress REST API, when
        ``site.wordpress_api`` is on (asked once per stored article; any failure keeps the feed's labels)."""
        if not self.config.site.wordpress_api:
            return article
        if article_id is None:  # not stored (a preview): ask, keep nothing
            post = self._api_post(article)
            return article if post is None else replace(
                article, categories=post.categories, tags=post.tags, featured_image=post.featured_image,
                excerpt=post.excerpt or None)
        if not self.store.api_checked(article_id):
            post = self._api_post(article)
            if post is None:
                self.store.record_api_data(article_id, self.clock.now())
            else:
                self.store.record_api_data(article_id, self.clock.now(), post.categories, post.tags,
                                           post.featured_image, post.excerpt)
        return self.store.article_by_id(article_id)

    def _api_post(self, article: Article) -> WordPressPost | None:
        # The id is in a ?p=ID guid, or in the page's rel=shortlink when a short link was made from it.
        pid = post_id(article.guid, article.link) or post_id(
            self.store.cached_short_link("wordpress-page", article.link) or "")
        if pid is None:
            log.info("article %s: no ?p=ID to ask the WordPress API with; using the feed's labels", article.guid)
            return None
        session = self._session("wordpress")
        try:
            return fetch_post(self.site_url(article), pid, session=session, timeout=5.0,
                              user_agent=self.config.agent)
        except WordPressError as exc:
            log.warning("WordPress API failed for post %d, using the feed's labels: %s", pid, exc)
            return None

    def preview(self, feed_ids: Sequence[str] = (), account_ids: Sequence[str] = (),
                limit: int = 5) -> tuple[list[Preview], list[str]]:
        """For the newest articles of each feed (read now; no state changes), the post each account would
        get. Returns the previews and the feeds that could not be read."""
        previews: list[Preview] = []
        errors: list[str] = []
        for feed in self.config.feeds:
            if feed_ids and feed.id not in feed_ids:
                continue
            accounts = [a for a in self.config.accounts if (a.id in account_ids if account_ids else a.enabled)
                        and (a.feeds is None or feed.id in a.feeds)]
            try:
                session = self._session(feed.id)
                fetched = fetch(feed.url, Validators(), session=session, user_agent=self.config.agent,
                                timeout=feed.timeout.total_seconds(), max_size=feed.max_size)
                assert fetched.body is not None
                articles = parse(fetched.body, feed_id=feed.id, url=fetched.url or feed.url,
                                 content_type=fetched.content_type).articles
            except FeedError as exc:
                errors.append(f"feed {feed.id}: {exc.message}")
                continue
            for article in newest(articles, limit):
                for account in accounts:
                    rule = self.publisher_for(account).rule
                    try:
                        text = self.compose(account.id, article)
                    except ComposeError as exc:
                        previews.append(Preview(feed.id, article.guid, account.id, account.platform, "", None,
                                                rule.max_length, False, str(exc)))
                        continue
                    previews.append(Preview(feed.id, article.guid, account.id, account.platform, text,
                                            rule.count(text), rule.max_length, rule.fits(text)))
        return previews, errors

    def publisher_for(self, account: AccountConfig) -> Publisher:
        if account.id in self.publishers:
            return self.publishers[account.id]
        with self._lock:  # a disabled account asked for by name (preview)
            if self._publishers is not None and account.id not in self._publishers:
                self._publishers[account.id] = self._make_publisher(account)
        return self.publishers[account.id]

    def poll(self, feed_id: str, *, stop: threading.Event | None = None, force: bool = False) -> PollResult:
        feed = self.config.feed(feed_id)
        session = self._session(feed_id)
        return poll_feed(feed, self.config, self.store, self.clock, session, stop=stop, force=force)

    def poll_all(self, *, stop: threading.Event | None = None, force: bool = False) -> list[PollResult]:
        return [self.poll(f.id, stop=stop, force=force) for f in self.config.feeds
                if not (stop and stop.is_set())]

    def dispatch(self, *, stop: threading.Event | None = None) -> list[Outcome]:
        return self.dispatcher().run(stop=stop)

    def dispatcher(self) -> Dispatcher:
        return Dispatcher(self.store, self.publishers, self.compose, self.clock,
                          policies={a.id: a for a in self.config.accounts}, tz=self.config.site.tz)

    def close(self) -> None:
        for s in self._sessions.values():
            s.close()
        for p in (self._publishers or {}).values():
            p.close()
        self.store.close()
