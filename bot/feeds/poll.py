"""A poll of one feed: fetch → parse → decide (pure) → store, in one transaction. Nothing is sent here."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.backoff import backoff
from bot.clock import Clock
from bot.compose.ids import host_key
from bot.config import AccountConfig, BotConfig, FeedConfig
from bot.errors import FeedError
from bot.feeds import FeedClient, ParsedFeed, fetch, parse
from bot.feeds.prescan import split_items
from bot.models import Article, Validators
from bot.policy import approval_reason, corrections_for, priority_of, skip_reason
from bot.store import FeedState, KnownArticle, PlannedDelivery, PollPlan, Store

log = logging.getLogger("bot.poll")

#: However long a feed has been failing, it is tried again at least this often (or at its interval).
MAX_FEED_BACKOFF = timedelta(minutes=15)

PollStatus = Literal["ok", "not_modified", "unchanged", "error", "backoff", "elsewhere"]
#: A scheduled poll is skipped when any replica polled the feed within this share of its interval.
DUE_SHARE = 0.7  # below 1 - 2 × the scheduler's jitter (10 %)
#: How long a poll asked for by name (a ping, `bot poll`) waits while another replica polls the feed.
LEASE_WAIT_POLL = 0.2


@dataclass(frozen=True)
class PollResult:
    """What one poll of one feed did (one log line and one metric each)."""

    feed_id: str
    status: PollStatus
    entries: int = 0  #: entries in the feed
    new: int = 0  #: articles seen for the first time
    edited: int = 0  #: known articles whose data changed
    queued: int = 0  #: deliveries created (and posts out owed a correction, or reposted)
    first_start: bool = False
    parsed: bool = False  #: whether the body went through the parser
    parsed_items: int = 0  #: how many of its items did (the others were stored already in exactly that form)
    error: str | None = None
    next_try: datetime | None = None
    ms: int = 0


def _differs(old: Article, new: Article) -> bool:
    """Whether the feed's version of an article differs from the stored one (ignoring what only the
    REST API supplies, and a date the feed no longer gives)."""
    def feed_view(a: Article) -> Article:
        return replace(a, published=None, categories=None, tags=None, featured_image=None, excerpt=None)

    return feed_view(old) != feed_view(new) or (new.published is not None and old.published != new.published)


def newest(articles: Sequence[Article], n: int) -> list[Article]:
    """The n newest by publish time; undated ones count as newest in feed order (feeds list newest first)."""
    if n <= 0:
        return []
    def key(i: int) -> tuple[bool, float, int]:
        published = articles[i].published
        return (published is not None, -published.timestamp() if published else 0.0, i)

    return [articles[i] for i in sorted(range(len(articles)), key=key)[:n]]


def oldest_first(articles: Sequence[Article]) -> list[Article]:
    """Publication order, so a queue's numbers follow the news; undated ones last, in reverse feed order."""
    def key(i: int) -> tuple[bool, float, int]:
        published = articles[i].published
        return (published is None, published.timestamp() if published else 0.0, -i)

    return [articles[i] for i in sorted(range(len(articles)), key=key)]


def foreign_link(link: str, own_hosts: set[str]) -> str | None:
    """Why a link may not be posted: its host is not one of the site's own (None: it may)."""
    host = host_key(link)
    if any(host == h or host.endswith("." + h) for h in own_hosts):
        return None
    return f"the link goes to {host or 'no host'}, not to the site's own hosts (add it to site.allowed_hosts if it is)"


#: Articles in one poll that look new yet are older than the newest one known — at least this many, and at
#: least half the feed's items: not news, but old articles under new guids (a site moved to another address,
#: a search-and-replace): held back, not posted. (One or two are a backdated post: posted.)
FLOOD = 3


def held_back(new: Sequence[Article], newest_known: datetime | None, now: datetime,
              retention: timedelta | None, items: int = 0, tz: tzinfo | None = None) -> dict[str, str]:
    """Articles that look new but are not news, by guid, with why: published before the retention period
    (their record may have been pruned), or — ``FLOOD`` or more, and half the feed's ``items`` or more, in
    one poll — before the newest known article (their guid changed). Genuinely new articles, newer than
    every known one, are never held back."""
    why: dict[str, str] = {}
    if retention is not None:
        for a in new:
            if a.published and a.published < now - retention:
                shown = a.published.astimezone(tz) if tz else a.published
                why[a.guid] = (f"older than the retention period (published {shown:%Y-%m-%d}): it may have been "
                               "posted before its record was pruned, so it is not posted (bot retry ID posts it)")
    older = [a for a in new if a.guid not in why and a.published and newest_known and a.published < newest_known]
    if len(older) >= max(FLOOD, items / 2):
        for a in older:
            why[a.guid] = ("it looks new but is older than articles already posted (its guid changed?): not "
                           "posted (bot retry ID posts it)")
    return why


def plan_poll(
    in_feed: Sequence[Article], known: Mapping[str, KnownArticle], accounts: Sequence[AccountConfig], *,
    first_start: bool, backfill: int, now: datetime, own_hosts: set[str] | None = None,
    newest_known: datetime | None = None, retention: timedelta | None = None, items: int | None = None,
    tz: tzinfo | None = None,
) -> PollPlan:
    """Decide what a poll changes. On a feed's first start, what it holds is only marked seen (or the
    ``backfill`` newest are posted); later, every article not seen before goes to every account, or is
    recorded as skipped there with the reason (its filters; or :func:`held_back`: older articles under new
    guids). A post the account's ``approval:`` names waits for a person's approval (a repost too), and a queued
    one first waits the account's ``settle``. An edited headline is a correction of the posts out, which each
    account takes as its ``on_edit`` says (``policy.corrections_for``). ``items``: how many items the feed's body
    holds (``in_feed`` may be only its new and edited ones)."""
    new = [a for a in in_feed if a.guid not in known]
    edited = [a for a in in_feed if a.guid in known and _differs(known[a.guid].article, a)]
    chosen = oldest_first(newest(new, backfill) if first_start else new)
    held = {} if first_start else held_back(chosen, newest_known, now, retention,
                                                        max(items or 0, len(in_feed)), tz)
    deliveries = [PlannedDelivery(a.guid, acc.id, priority_of(acc, a),
                                  held.get(a.guid)
                                  or (foreign_link(a.link, own_hosts) if own_hosts is not None else None)
                                  or skip_reason(acc, a, now, tz), approval_reason(acc, a), acc.settle)
                  for a in chosen for acc in accounts]
    retitled = [a for a in edited if a.title != known[a.guid].article.title]
    corrections = {a.guid: corrections_for(accounts, a, now, tz) for a in retitled}
    return PollPlan(new=new, edited=edited, deliveries=deliveries, corrections=corrections, held_back=tuple(held))


def poll_feed(
    feed: FeedConfig, config: BotConfig, store: Store, clock: Clock, client: FeedClient, *,
    stop: threading.Event | None = None, force: bool = False, draw: Callable[[], float] = random.random,
    scheduled: bool = False,
) -> PollResult:
    """Poll one feed once and record the outcome. Never raises for a feed's own problems.

    Replicas sharing a database take the feed's poll lease first, so a feed is never polled twice at
    once. A ``scheduled`` poll is skipped when another replica holds the lease or polled the feed less than
    ``DUE_SHARE`` of an interval ago; a poll asked for by name (a ping, ``bot poll``) waits for the lease
    instead, since the other replica's poll may have started before the news it was asked for."""
    started = time.monotonic()
    # Longer than a fetch can take (its whole-body deadline), with a margin; each catch-up page renews it.
    lease_for = feed.timeout * 2 + timedelta(seconds=30)
    while True:
        now = clock.now()
        polled_before = now - feed.interval * DUE_SHARE if scheduled else None
        state = store.lease_feed(feed.id, feed.url, now, now + lease_for, polled_before=polled_before)
        if state is not None:
            break
        if scheduled or (stop and stop.is_set()) or time.monotonic() - started > lease_for.total_seconds():
            log.debug("feed=%s status=elsewhere (another replica polls it, or just did)", feed.id)
            return PollResult(feed.id, "elsewhere", ms=_ms(started))
        time.sleep(LEASE_WAIT_POLL)
    def renew() -> None:
        store.lease_feed(feed.id, feed.url, clock.now(), clock.now() + lease_for)

    try:
        result = _poll_leased(feed, config, store, clock, client, state, now, started, stop=stop, force=force,
                              draw=draw, renew=renew)
    except BaseException:
        store.release_feed(feed.id)
        raise
    if result.status == "backoff":
        store.release_feed(feed.id)  # nothing was written; every other outcome's record ended the lease
    return result


def _poll_leased(
    feed: FeedConfig, config: BotConfig, store: Store, clock: Clock, client: FeedClient, state: FeedState,
    now: datetime, started: float, *, stop: threading.Event | None, force: bool, draw: Callable[[], float],
    renew: Callable[[], None],
) -> PollResult:
    same_url = state.url == feed.url
    # A failing feed is retried at the first scheduled poll that is at most half an interval early.
    if same_url and state.next_poll_at and now + feed.interval / 2 < state.next_poll_at and not force:
        log.debug("feed=%s status=backoff next_try=%s", feed.id, state.next_poll_at.isoformat(timespec="seconds"))
        return PollResult(feed.id, "backoff", error=state.last_error, next_try=state.next_poll_at)
    known = Validators(state.etag, state.last_modified, state.body_hash) if same_url else Validators()
    pending = state.catch_up_since if same_url and state.initialized else None  # a catch-up to go on with
    parsed = partial = False
    parsed_count = 0
    entries: int | None = None
    present: tuple[str, ...] = ()  # the hash of every item in the body
    try:
        fetched = fetch(feed.url, known, client=client, user_agent=config.agent,
                        timeout=feed.timeout.total_seconds(), max_size=feed.max_size, stop=stop)
        if fetched.body is not None and fetched.status == "ok":
            body = fetched.body
            hashes: tuple[str, ...] = ()
            split = split_items(body)
            todo: list[int] | None = None
            if split is not None:
                entries, hashes = len(split.items), split.hashes
                present = split.hashes
                if state.initialized and same_url:
                    # Parse only the items not stored in exactly this form: new ones, edited ones.
                    seen = store.known_item_hashes(feed.id, split.hashes)
                    todo = [i for i, h in enumerate(split.hashes) if h not in seen]
                    partial = len(todo) < len(split.items)
                    if partial:
                        body, hashes = split.only(todo), tuple(split.hashes[i] for i in todo)
            if todo != []:
                parsed_feed = parse(body, feed_id=feed.id, url=fetched.url or feed.url,
                                    content_type=fetched.content_type, item_hashes=hashes)
                parsed, parsed_count = True, len(parsed_feed.articles) + len(parsed_feed.skipped)
            else:  # every item as stored: nothing to parse; but one may have left the feed
                store.mark_present(feed.id, split.hashes if split else (), now)
                fetched = replace(fetched, status="unchanged")
    except Exception as exc:
        if not isinstance(exc, FeedError):  # a parser or library failure: still only this feed's problem
            log.exception("feed=%s: unexpected error while reading the feed", feed.id)
            exc = FeedError(feed.url, f"unexpected error: {type(exc).__name__}: {exc}")
        failures = (state.failures if same_url else 0) + 1
        delay = backoff(failures, feed.interval, max(feed.interval, MAX_FEED_BACKOFF), draw())
        next_try = now + delay
        store.record_feed_error(feed.id, feed.url, now, exc.message, failures, next_try)
        result = PollResult(feed.id, "error", parsed=parsed, error=exc.message, next_try=next_try, ms=_ms(started))
        _log(result, failures=failures)
        return result

    # Catch up when every item was new (none was skipped as already stored), or to finish one that did not.
    complete = True
    if state.initialized and same_url and feed.catch_up_pages > 1 and (pending or (parsed and not partial)):
        parsed_feed, complete = _catch_up(feed, config, store, client, parsed_feed if parsed else ParsedFeed([]),
                                          stop, renew, pending)
        parsed = True
    if not parsed:  # 304, or the very body parsed last time
        store.record_not_modified(feed.id, feed.url, now, fetched.validators)
        result = PollResult(feed.id, fetched.status, entries=entries or 0, ms=_ms(started))
        _log(result)
        return result
    for reason in parsed_feed.skipped:
        log.warning("feed=%s skipped an entry: %s", feed.id, reason)
    if parsed_feed.bozo:
        log.warning("feed=%s is not well-formed, used the %d entries found: %s",
                    feed.id, len(parsed_feed.articles), parsed_feed.bozo)
    accounts = config.accounts_for(feed.id)
    newest_known = store.newest_published(feed.id, pending)  # a resumed catch-up: as it was when it began
    # An unfinished catch-up is not a complete poll: what it found is queued, but the feed's validators are
    # not kept, so the next poll reads the feed again and goes on with the catch-up.
    plan, first_start, queued = store.apply_poll(
        feed.id, feed.url, now, fetched.validators if complete else Validators(), parsed_feed.articles,
        lambda known_articles, first: plan_poll(parsed_feed.articles, known_articles, accounts,
                                                first_start=first, backfill=feed.backfill, now=now,
                                                own_hosts=config.own_hosts(feed), newest_known=newest_known,
                                                retention=config.retention, items=entries,
                                                tz=config.site.tz),
        parsed_feed.item_hashes, present=present, catch_up_since=None if complete else (pending or now),
    )
    if not complete:
        log.warning("feed=%s: the catch-up over older pages did not finish; the next poll goes on with it", feed.id)
    if plan.held_back:
        log.warning("feed=%s: %d article(s) look new but are older than what was already posted (a changed guid, "
                    "a pruned record): not posted; bot status lists them, bot retry ID posts one", feed.id,
                    len(plan.held_back))
    result = PollResult(
        feed.id, "ok", entries=max(entries or 0, len(parsed_feed.articles)), new=len(plan.new),
        edited=len(plan.edited),
        queued=queued, first_start=first_start, parsed=True, parsed_items=parsed_count, ms=_ms(started),
    )
    _log(result)
    return result


def paged(url: str, page: int) -> str:
    """WordPress's page N of a feed: ``?paged=N`` (kept beside the feed's own query)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "paged"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("paged", str(page))], safe="/")))


def _catch_up(feed: FeedConfig, config: BotConfig, store: Store, client: FeedClient, first: ParsedFeed,
              stop: threading.Event | None, renew: Callable[[], None],
              since: datetime | None) -> tuple[ParsedFeed, bool]:
    """After downtime, when every item of the feed is new, older ones may have scrolled off it: read pages
    2, 3 … until one holds an article already known (or ``catch_up_pages`` is reached, or the feed ends).
    ``since``: a catch-up that began then and did not finish goes on, to an article known before it began.
    Returns what was found, and whether the catch-up finished (a page that failed, or a stop, did not)."""
    articles = list(first.articles)
    seen = {a.guid for a in articles}

    def known(page: Sequence[Article]) -> bool:
        guids = [a.guid for a in page]
        return store.known_before(feed.id, guids, since) if since else bool(store.known_guids(feed.id, guids))

    page_articles = first.articles
    for page in range(2, feed.catch_up_pages + 1):
        if (since is None or page > 2) and (not page_articles or known(page_articles)):
            return replace(first, articles=articles), True
        if stop is not None and stop.is_set():
            log.info("feed=%s catch-up stopped at page %d: the bot is stopping", feed.id, page)
            return replace(first, articles=articles), False
        url = paged(feed.url, page)
        renew()  # the poll lease lasts for one more page
        try:
            fetched = fetch(url, Validators(), client=client, user_agent=config.agent,
                            timeout=feed.timeout.total_seconds(), max_size=feed.max_size, stop=stop)
            assert fetched.body is not None
            page_articles = parse(fetched.body, feed_id=feed.id, url=fetched.url or url,
                                  content_type=fetched.content_type).articles
        except FeedError as exc:
            if exc.status == 404:  # WordPress's answer past its last page: the feed has no more
                log.info("feed=%s catch-up: page %d is past the last one", feed.id, page)
                return replace(first, articles=articles), True
            log.warning("feed=%s catch-up stopped at page %d: %s", feed.id, page, exc.message)
            return replace(first, articles=articles), False
        log.info("feed=%s catch-up: page %d has %d entries", feed.id, page, len(page_articles))
        articles += [a for a in page_articles if a.guid not in seen]
        seen.update(a.guid for a in page_articles)
    if page_articles and not known(page_articles):
        log.warning("feed=%s: %d pages read and no known article yet; older new articles may be missed "
                    "(raise catch_up_pages)", feed.id, feed.catch_up_pages)
    return replace(first, articles=articles), True


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _log(r: PollResult, failures: int = 0) -> None:
    if r.status == "error":
        log.warning("feed=%s status=error failures=%d next_try=%s error=%s ms=%d",
                    r.feed_id, failures, r.next_try.isoformat(timespec="seconds") if r.next_try else "-",
                    r.error, r.ms)
    elif r.status == "ok":
        extra = "" if not r.first_start else f" first_start=yes (backfill: the {r.queued} newest queued, the rest " \
            "marked seen)" if r.queued else " first_start=yes (existing entries marked seen)"
        log.info("feed=%s status=ok entries=%d new=%d edited=%d queued=%d ms=%d%s",
                 r.feed_id, r.entries, r.new, r.edited, r.queued, r.ms, extra)
    else:
        log.info("feed=%s status=%s new=0 ms=%d", r.feed_id, r.status, r.ms)
