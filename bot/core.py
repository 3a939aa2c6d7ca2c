"""The Bot: one object that holds the config, the store and the publishers, and runs polls and dispatches.

The CLI and the daemon only build a Bot and call it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, TextIO

import requests

from bot.clock import Clock, SystemClock
from bot.compose import compose_post
from bot.compose.hashtags import make_hashtags, tag_keywords
from bot.compose.ids import post_id, wordpress_short_link
from bot.compose.text import clean_title
from bot.config import AccountConfig, BotConfig
from bot.dispatch import Dispatcher, Outcome
from bot.errors import ComposeError, FeedError, UsageError, WordPressError
from bot.feeds import FeedClient, fetch, new_session, parse
from bot.feeds.pages import read_page
from bot.feeds.poll import PollResult, newest, poll_feed
from bot.feeds.wordpress import WordPressPost, fetch_post
from bot.links import Shortener, add_utm
from bot.models import Article, DeliveryState, Validators
from bot.platforms import Publisher, make_publisher
from bot.policy import next_send
from bot.store import DeliveryRow, Store, database_url

log = logging.getLogger("bot")

RETRYABLE = (DeliveryState.FAILED.value, DeliveryState.IN_DOUBT.value, DeliveryState.SKIPPED.value)
SKIPPABLE = (DeliveryState.QUEUED.value, DeliveryState.IN_DOUBT.value, DeliveryState.FAILED.value)


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


@dataclass(frozen=True)
class ManualResult:
    account: str
    status: str
    detail: str | None
    length: int | None = None
    limit: int | None = None


def status_why(bot: Bot, account_id: str) -> str:
    """Why an account's post waits now (held, rate limit, limits, quiet hours)."""
    state = bot.store.account_state(account_id)
    if state.held:
        return f"the account is held: {state.held_reason} (--force sends anyway)"
    now = bot.clock.now()
    if state.not_before and state.not_before > now:
        return f"the platform's rate limit, until {state.not_before:%Y-%m-%d %H:%M}Z"
    wait = next_send(bot.account(account_id), now, bot.config.site.tz,
                     bot.store.sent_times(account_id, now - timedelta(days=1)))
    return f"{wait[1]}, until {wait[0]:%Y-%m-%d %H:%M}Z (--force sends anyway)" if wait else "queued"


class Bot:
    def __init__(self, config: BotConfig, store: Store, clock: Clock | None = None,
                 stream: TextIO | None = None) -> None:
        self.config = config
        self.store = store
        self.clock = clock or SystemClock()
        self._stream = stream
        self._sessions: dict[str, requests.Session] = {}
        self.feed_client = FeedClient()  #: every poll's HTTP, keep-alive per host
        self._publishers: dict[str, Publisher] | None = None
        self._lock = threading.Lock()

    @classmethod
    def open(cls, config: BotConfig, clock: Clock | None = None, stream: TextIO | None = None) -> Bot:
        store = Store.open(database_url(config.database, config.data_dir), migrate=config.migrate_on_start)
        return cls(config, store, clock, stream)

    @property
    def publishers(self) -> dict[str, Publisher]:
        with self._lock:
            if self._publishers is None:
                self._publishers = {a.id: self._make_publisher(a) for a in self.config.accounts if a.enabled}
            return self._publishers

    def _make_publisher(self, account: AccountConfig) -> Publisher:
        return make_publisher(account, stream=self._stream, clock=self.clock, user_agent=self.config.agent)

    def _session(self, key: str) -> requests.Session:
        """One HTTP session each for links, the REST API and article pages (polls use ``feed_client``)."""
        with self._lock:
            if key not in self._sessions:
                self._sessions[key] = new_session()
            return self._sessions[key]

    def account(self, account_id: str) -> AccountConfig:
        for a in self.config.accounts:
            if a.id == account_id:
                return a
        known = ", ".join(a.id for a in self.config.accounts) or "none"
        raise UsageError(f"no account {account_id!r} in the config; accounts: {known}")

    def compose(self, account_id: str, article: Article, article_id: int | None = None) -> str:
        """The text an account posts for an article (raises ComposeError when nothing fits). May ask the
        WordPress REST API (once per article) and a shortener (once per link): both fall back quietly."""
        account = self.account(account_id)
        site = self.config.site
        link = add_utm(article.link, account.utm.model_dump(exclude_none=True) if account.utm else {}) \
            if article.link else ""
        short = self.shortener(account).short_link(link, article.guid, self.site_url(article)) if link else ""
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
        return Shortener(settings, self.store, session, self.config.agent, self.clock)

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
                fetched = fetch(feed.url, Validators(), client=self.feed_client, user_agent=self.config.agent,
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

    # What operators do.

    def _row(self, delivery_id: int) -> DeliveryRow:
        row = self.store.delivery(delivery_id)
        if row is None:
            raise UsageError(f"there is no delivery {delivery_id} (bot status lists them)")
        return row

    def retry(self, delivery_id: int, by: str) -> str:
        """Send a failed, skipped or in-doubt delivery again. An in-doubt one keeps its frozen text (so a
        platform's duplicate check still applies); the others are composed afresh."""
        row = self._row(delivery_id)
        keep_text = row.state == DeliveryState.IN_DOUBT
        values: dict[str, Any] = {"state": DeliveryState.QUEUED.value, "not_before": None, "claimed_until": None,
                                  "note": f"retry asked by {by}"}
        if not keep_text:
            values["text"] = None
        if not self.store.operator_set(delivery_id, self.clock.now(), RETRYABLE, "retry", by, **values):
            raise UsageError(f"delivery {delivery_id} is {row.state}; only {', '.join(RETRYABLE)} deliveries "
                             "can be retried")
        return f"delivery {delivery_id} ({row.account_id}) is queued again"

    def skip(self, delivery_id: int, by: str) -> str:
        row = self._row(delivery_id)
        if not self.store.operator_set(delivery_id, self.clock.now(), SKIPPABLE, "skip", by,
                                       state=DeliveryState.SKIPPED.value, claimed_until=None,
                                       note=f"skipped by {by}"):
            raise UsageError(f"delivery {delivery_id} is {row.state}; only {', '.join(SKIPPABLE)} deliveries "
                             "can be skipped")
        return f"delivery {delivery_id} ({row.account_id}) is skipped"

    def unpost(self, delivery_id: int, by: str) -> str:
        """Delete a post the bot made, on its platform, and record it."""
        row = self._row(delivery_id)
        if row.state != DeliveryState.SENT or not row.remote_id:
            raise UsageError(f"delivery {delivery_id} is {row.state}"
                             + ("" if row.state != DeliveryState.SENT else " but its post's id is unknown")
                             + "; only posts the bot made and knows can be deleted")
        publisher = self.publisher_for(self.account(row.account_id))
        publisher.delete(row.remote_id)  # raises a PlatformError kind when the platform refuses
        self.store.operator_set(delivery_id, self.clock.now(), [DeliveryState.SENT.value], "unpost", by,
                                state=DeliveryState.DELETED.value,
                                note=f"deleted by {by} (was {row.remote_url or row.remote_id})")
        return f"deleted {row.remote_url or row.remote_id} ({row.account_id})"

    def manual_post(self, *, text: str | None, url: str | None, account_ids: Sequence[str], link: str | None,
                    image: str | None, dry_run: bool, force: bool, by: str) -> list[ManualResult]:
        """A post made by hand, composed and fitted per account like a feed post. With ``url``, the article
        is read from its page and recorded under the key the feed will use, so the feed does not post it
        again. Sent now, unless ``dry_run``; holds, limits and quiet hours apply unless ``force``."""
        accounts = [self.account(a) for a in account_ids] if account_ids else \
            [a for a in self.config.accounts if a.enabled]
        now = self.clock.now()
        if url:
            page = read_page(url, session=self._session("pages"), timeout=10.0, user_agent=self.config.agent,
                             site_name=self.config.site.name)
            short = page.shortlink and wordpress_short_link(page.shortlink, self.config.site.url)
            base = Article(feed_id="manual", guid=short or page.canonical, title=page.title,
                           link=page.canonical, summary=page.description, published=now,
                           image_urls=tuple(u for u in (image, page.image) if u))
            copies = [replace(base, feed_id=f.id) for f in self.config.feeds] or [base]
        else:
            if not text or not text.strip():
                raise UsageError("give the text to post, or --url ARTICLE_URL")
            base = Article(feed_id="manual", guid=f"manual:{uuid.uuid4()}", title=clean_title(text),
                           link=link or "", published=now, image_urls=(image,) if image else ())
            copies = [base]
        if dry_run:
            results = []
            for account in accounts:
                rule = self.publisher_for(account).rule
                try:
                    composed = self.compose(account.id, base)
                except ComposeError as exc:
                    results.append(ManualResult(account.id, "does not fit", str(exc)))
                    continue
                results.append(ManualResult(account.id, "dry run", composed, rule.count(composed), rule.max_length))
            return results
        made, had = self.store.add_manual(copies, [a.id for a in accounts], now, by)
        outcomes = {o.account_id: o for o in self.dispatcher().run(only=made, force=force)}
        results = [ManualResult(a, "already posted", "this article was posted there before") for a in had]
        for row in self.store.deliveries(ids=made):
            o = outcomes.get(row.account_id)
            if o is None:
                why = status_why(self, row.account_id)
                results.append(ManualResult(row.account_id, "waiting", why))
            else:
                results.append(ManualResult(row.account_id, o.status, o.url or o.detail))
        return results

    def hold(self, account_id: str, by: str) -> bool:
        self.account(account_id)
        return self.store.hold_account(account_id, f"held by {by}", self.clock.now())

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
        return poll_feed(feed, self.config, self.store, self.clock, self.feed_client, stop=stop, force=force,
                         scheduled=scheduled)

    def poll_all(self, *, stop: threading.Event | None = None, force: bool = False) -> list[PollResult]:
        return [self.poll(f.id, stop=stop, force=force) for f in self.config.feeds
                if not (stop and stop.is_set())]

    def dispatch(self, *, stop: threading.Event | None = None) -> list[Outcome]:
        return self.dispatcher().run(stop=stop)

    def dispatcher(self) -> Dispatcher:
        return Dispatcher(self.store, self.publishers, self.compose, self.clock, lease=self.config.dispatch_lease,
                          policies={a.id: a for a in self.config.accounts}, tz=self.config.site.tz)

    def prune(self) -> tuple[int, int]:
        """Apply ``retention``: returns (deliveries, articles) deleted."""
        gone, dropped = self.store.prune(self.clock.now() - self.config.retention)
        if gone or dropped:
            log.info("retention %s: deleted %d finished deliveries and %d articles", self.config.retention,
                     gone, dropped)
        return gone, dropped

    def close(self) -> None:
        for s in self._sessions.values():
            s.close()
        self.feed_client.close()
        for p in (self._publishers or {}).values():
            p.close()
        self.store.close()
