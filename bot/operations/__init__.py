"""Every operator action, once: what the CLI (and the console) call, and nothing below it.

Retry, skip and unpost are named transitions of a delivery (``bot.lifecycle``), each kept in the delivery's
history with who did it; so are approve and reject, and an editor's own text (``editing``, with the measure of
a text and the history searched); hold and release act on an account; a manual post is composed and fitted per
account like a feed post, recorded under the key the feed will use, and sent now or at its time; a preview and
a check only read; why a post waits and the status report come from one place (``report``). Person-made
mistakes raise :class:`~bot.errors.UsageError` with what is allowed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.compose.fit import ELLIPSIS
from bot.compose.ids import wordpress_short_link
from bot.compose.text import clean_title
from bot.config import AccountConfig, BotConfig, XAccount
from bot.config.database import database_url
from bot.core import Bot
from bot.errors import ComposeError, FeedError, PlatformError, UsageError
from bot.feeds import fetch, parse
from bot.feeds.pages import read_page
from bot.feeds.poll import newest
from bot.lifecycle import RETRY, SKIP, UNPOST
from bot.models import Article, DeliveryState, Validators
from bot.operations import report
from bot.operations.editing import EditingMixin, TextMeasure
from bot.operations.pictures import preview_picture
from bot.operations.users import UsersOperations
from bot.policy import needs_approval, priority_of
from bot.pricing import MICRO, post_cost, request_cost, usd
from bot.store import DeliveryRow, Store
from bot.store.records import MANUAL_PRIORITY


@dataclass(frozen=True)
class Preview:
    """The post an account would get for an article."""

    feed: str  #: the feed's id
    guid: str  #: the article's
    account: str  #: the account's id
    platform: str
    text: str  #: the post, as it would go ("" when none can be made)
    length: int | None  #: as the platform counts it
    limit: int | None  #: the platform's maximum
    fits: bool
    error: str | None = None  #: why no post can be made
    cost_usd: float | None = None  #: what the post would cost (X's pay-per-use); None: not charged
    picture: str | None = None  #: the picture it would carry: ``image: URL`` or ``card: PATH`` (drawn now)


@dataclass(frozen=True)
class ManualResult:
    """What became of a post made by hand, per account."""

    account: str  #: the account's id
    status: str  #: dry run | does not fit | already posted | scheduled | waiting | a dispatch outcome (sent, …)
    detail: str | None  #: the text (dry run), the post's URL, when it is scheduled for, or why
    length: int | None = None  #: dry run: the text's length as the platform counts it
    limit: int | None = None  #: dry run: the platform's maximum
    cut: bool = False  #: the editor's own text was cut to fit the platform
    cost_usd: float | None = None  #: dry run: what the post would cost (X's pay-per-use)
    image: str | None = None  #: dry run: the article's image the post would carry (its address)
    card: str | None = None  #: dry run: the card the post would carry (its file in data_dir/cards)


@dataclass(frozen=True)
class CheckResult:
    """What an account's platform said when asked who the account is."""

    account: str  #: the account's id
    platform: str
    status: str  #: ok | failed | disabled
    detail: str  #: who the account is (``@handle``), or why it cannot post


def _cut(text: str | None, title: str, posted: str | None) -> bool:
    """Whether an editor's own text (not an article's headline) lost words to fit the platform."""
    return bool(text) and posted is not None and title not in posted and ELLIPSIS in posted \
        and ELLIPSIS not in title


def check_manual_post(text: str | None, url: str | None) -> None:
    """A post by hand is a text or an article's URL, not both and not neither (checked before anything opens)."""
    if bool(text) == bool(url):
        raise UsageError("give either the text to post or --url ARTICLE_URL")


def migrate(config: BotConfig) -> tuple[str | None, str]:
    """Bring the configured database up to this bot's schema (``bot migrate``), or create it when empty:
    (the revision found, the revision now). Raises StoreError when it cannot."""
    return Store.migrate(database_url(config.database, config.data_dir))


log = logging.getLogger("bot")


class Operations(EditingMixin, UsersOperations):
    """The operator actions over one :class:`~bot.core.Bot` (those on waiting posts' approval and text, and the
    history, from :class:`~bot.operations.editing.EditingMixin`; the console's users and sign-in from
    :class:`~bot.operations.users.UsersOperations`)."""

    def __init__(self, bot: Bot, wake: Callable[[], None] | None = None) -> None:
        self.bot = bot
        self.wake = wake

    # Deliveries.

    def retry(self, delivery_id: int, by: str) -> str:
        """Send a failed, skipped or in-doubt delivery again (RETRY). An in-doubt one keeps its frozen text (so
        a platform's duplicate check still applies); the others are composed afresh. Then dispatch."""
        row = self._row(delivery_id)
        for_approval = row.state == DeliveryState.SKIPPED and self._needs_approval(row)
        if not self.bot.store.retry(delivery_id, self.bot.clock.now(), by, for_approval=for_approval):
            raise self._not_allowed(row, RETRY, "retried")
        if for_approval:
            return f"delivery {delivery_id} ({row.account_id}) awaits approval again (its account's approval applies)"
        self._send([delivery_id])
        return f"delivery {delivery_id} ({row.account_id}) is queued again"

    def _needs_approval(self, row: DeliveryRow) -> bool:
        """Whether the row's account asks approval for its article (a retried skip goes back to approval)."""
        account = next((a for a in self.bot.config.accounts if a.id == row.account_id), None)
        return account is not None and needs_approval(account, self.bot.store.article_by_id(row.article_id))

    def skip(self, delivery_id: int, by: str) -> str:
        """Never send a waiting, failed or in-doubt delivery (SKIP)."""
        row = self._row(delivery_id)
        if not self.bot.store.skip(delivery_id, self.bot.clock.now(), by):
            raise self._not_allowed(row, SKIP, "skipped")
        return f"delivery {delivery_id} ({row.account_id}) is skipped"

    def unpost(self, delivery_id: int, by: str) -> str:
        """Delete a post the bot made, on its platform, and record it (UNPOST)."""
        row = self._row(delivery_id)
        if not UNPOST.allows(row.state) or not row.remote_id:
            raise UsageError(f"delivery {delivery_id} is {row.state}"
                             + ("" if row.state != DeliveryState.SENT else " but its post's id is unknown")
                             + "; only posts the bot made and knows can be deleted")
        if row.account_id in self.bot.config.unset_secrets():
            raise UsageError(f"account {row.account_id}'s secrets are not set: set them to delete its posts")
        account = self.bot.account(row.account_id)
        publisher = self.bot.publisher_for(account)
        publisher.delete(row.remote_id)  # raises a PlatformError kind when the platform refuses
        self._charge(account, "delete", delivery_id)
        where = row.remote_url or row.remote_id
        self.bot.store.unposted(delivery_id, self.bot.clock.now(), by, where)
        return f"deleted {where} ({row.account_id})"

    def withdraw(self, delivery_id: int, by: str, *, withdrawn_only: bool = False) -> str:
        """Delete every post out of this delivery's article, on every platform that allows it (the one action on a
        withdrawn article's flagged posts): each is owed a deletion, made by the reviser and kept in its history
        with who asked. Here (the CLI) they are made at once and told; from the console the daemon makes them.
        ``withdrawn_only`` (an editor's, in the console): refused unless the site withdrew the article."""
        row = self._row(delivery_id)
        if withdrawn_only and not self.bot.store.is_withdrawn(row.article_id):
            raise UsageError(f"delivery {delivery_id}'s article was not withdrawn on the site: delete its posts one "
                             "by one (bot unpost)")
        owed = self.bot.store.withdraw_posts(row.article_id, self.bot.clock.now(), by)
        if not owed:
            raise UsageError(f"delivery {delivery_id}'s article has no post out the bot made: nothing to delete")
        if self.wake is not None:
            self.wake()
            return f"{len(owed)} post(s) of «{row.title}» will be deleted"
        outcomes = [o for o in self.bot.reviser().run() if o.delivery_id in owed]
        done = [o for o in outcomes if o.status == "deleted"]
        left = [f"{o.account_id}: {o.status}: {o.detail}" for o in outcomes if o.status != "deleted"]
        return f"deleted {len(done)} of {len(owed)} post(s) of «{row.title}»" + (
            "; not deleted: " + "; ".join(left) if left else "")

    def _charge(self, account: AccountConfig, request: str, delivery_id: int | None = None) -> int | None:
        """Record what a request the platform charges for cost (X: a check's read, a delete)."""
        price = request_cost(account, request)
        if price is None:
            return None
        self.bot.store.record_charge(account.id, self.bot.clock.now(), price[0], price[1], delivery_id)
        return price[0]

    # Accounts.

    def hold(self, account_id: str, by: str, reason: str | None = None) -> bool:
        """Hold an account: its posts wait, in order. False when it was held already."""
        self.bot.account(account_id)  # a UsageError names the accounts when there is no such one
        why = f"held by {by}" + (f": {reason}" if reason else "")
        return self.bot.store.hold_account(account_id, why, self.bot.clock.now())

    def release(self, account_id: str, by: str = "operator", reason: str | None = None) -> bool:
        """Release a held account: its waiting posts go out in order (a running daemon reloads its credentials
        first). False when it was not held."""
        self.bot.account(account_id)
        released = self.bot.store.release_account(account_id, self.bot.clock.now())
        if released:
            log.info("account=%s released by %s%s", account_id, by, f": {reason}" if reason else "")
        return released

    def check(self, account_ids: Sequence[str] = ()) -> Iterator[CheckResult]:
        """Ask each account's platform (or only these accounts') who the account is and whether it can post
        (one answer at a time)."""
        accounts = [self.bot.account(a) for a in account_ids] if account_ids else self.bot.config.accounts
        for account in accounts:
            if not account.enabled:
                yield CheckResult(account.id, account.platform, "disabled", "")
                continue
            try:
                who = self.bot.publisher_for(account).check()
            except PlatformError as exc:
                yield CheckResult(account.id, account.platform, "failed", exc.message)
            else:
                cost = self._charge(account, "check")
                yield CheckResult(account.id, account.platform, "ok", who + (f" (this check cost {usd(cost)})"
                                                                           if cost is not None else ""))

    # What waits, and why.

    def why_waiting(self, account_id: str) -> str:
        """Why the account's next post waits now, in words (with what ``--force`` would do)."""
        bot = self.bot
        now = bot.clock.now()
        account = bot.account(account_id)
        wait = report.account_wait(account, bot.store.account_state(account_id),
                                   bot.store.sent_times(account_id, now - timedelta(days=1)), now, bot.config.site.tz)
        if wait is None and isinstance(account, XAccount):
            budget = report.x_spend(account, bot.store, now, bot.config.site.tz)[1]
            if budget is not None:
                wait = report.Wait(budget.why, budget.until)
        if wait is None:
            return "queued"
        force = " (--force sends anyway)" if wait.forceable else ""
        until = "" if wait.until is None else f", until {wait.until.astimezone(bot.config.site.tz):%Y-%m-%d %H:%M%z}"
        return f"{wait.why}{until}{force}"

    def status(self, limit: int = 10) -> dict[str, Any]:
        """The status report as plain data: feeds, accounts, the queue and why each post waits, recent posts,
        problems (``report.render`` lays it out for a terminal)."""
        return report.collect(self.bot.config, self.bot.store, self.bot.clock, limit=limit)

    # Posts that are not (yet) in the outbox.

    def preview(self, feed_ids: Sequence[str] = (), account_ids: Sequence[str] = (),
                limit: int = 5) -> tuple[list[Preview], list[str]]:
        """For the newest articles of each feed (read now; no state changes), the post each account would
        get. Returns the previews and the feeds that could not be read."""
        bot = self.bot
        for name, ids in (("feed", {f.id for f in bot.config.feeds}), ("account", {a.id for a in bot.config.accounts})):
            unknown = [x for x in (feed_ids if name == "feed" else account_ids) if x not in ids]
            if unknown:
                raise UsageError(f"no {name} {unknown[0]!r} in the config; {name}s: {', '.join(sorted(ids)) or 'none'}")
        if limit < 1:
            raise UsageError("--limit must be at least 1")
        previews: list[Preview] = []
        errors: list[str] = []
        for feed in bot.config.feeds:
            if feed_ids and feed.id not in feed_ids:
                continue
            accounts = [a for a in bot.config.accounts if (a.id in account_ids if account_ids else a.enabled)
                        and (a.feeds is None or feed.id in a.feeds)]
            try:
                fetched = fetch(feed.url, Validators(), client=bot.feed_client, user_agent=bot.config.agent,
                                timeout=feed.timeout.total_seconds(), max_size=feed.max_size)
                assert fetched.body is not None
                articles = parse(fetched.body, feed_id=feed.id, url=fetched.url or feed.url,
                                 content_type=fetched.content_type).articles
            except FeedError as exc:
                errors.append(f"feed {feed.id}: {exc.message}")
                continue
            for article in newest(articles, limit):
                for account in accounts:
                    rule = bot.publisher_for(account).rule
                    try:
                        text = bot.composer.compose(account.id, article, priority=priority_of(account, article))
                    except ComposeError as exc:
                        previews.append(Preview(feed.id, article.guid, account.id, account.platform, "", None,
                                                rule.max_length, False, str(exc)))
                        continue
                    cost = post_cost(account, text)
                    picture = preview_picture(bot, account, article, text)
                    previews.append(Preview(feed.id, article.guid, account.id, account.platform, text,
                                            rule.count(text), rule.max_length, rule.fits(text),
                                            cost_usd=None if cost is None else cost / MICRO,
                                            picture=None if picture is None else str(picture)))
        return previews, errors

    def card(self, *, title: str | None, url: str | None, label: str | None = None, image: str | None = None,
             size: str = "landscape", fmt: str = "auto") -> bytes:
        """A headline card as PNG or JPEG bytes (``fmt``: png, jpeg, or auto: :func:`bot.cards.card_format`):
        for ``title`` (with ``image``, a file path or URL), or for the article at ``url`` (its page's headline and
        image). Drawn with the config's ``cards:`` template, cached under ``data_dir``. Raises CardError, or
        UsageError for a person's mistake."""
        from pathlib import Path

        from bot.cards import Card, cached
        from bot.errors import MediaError
        from bot.media import find_image

        bot = self.bot
        if bool(title) == bool(url):
            raise UsageError("give either --title TEXT or --url ARTICLE_URL")
        candidates = [image] if image else []
        page_url = url or bot.config.site.url
        if url:
            page = read_page(url, session=bot.session("pages"), timeout=10.0, user_agent=bot.config.agent,
                             site_name=bot.config.site.name)
            title = page.title
            candidates += [page.image] if page.image else []
        data: bytes | None = None
        if candidates:
            first = candidates[0]
            if "://" not in first:
                first = Path(first).resolve().as_uri()
            try:
                data = find_image([first, *candidates[1:]], page_url, session=bot.session("pages"), timeout=10.0,
                                  user_agent=bot.config.agent).data
            except MediaError as exc:
                if image:  # the one a person named: say why it cannot be used
                    raise UsageError(f"--image: {exc}") from exc
        card = Card(clean_title(title or ""), label, data, bot.config.site.name)
        return cached(card, bot.config.cards, size, bot.pictures.cache_dir, fmt)

    def manual_post(self, *, text: str | None, url: str | None, account_ids: Sequence[str], link: str | None,
                    image: str | None, dry_run: bool, force: bool, by: str,
                    at: datetime | None = None, key: str | None = None) -> list[ManualResult]:
        """A post made by hand, composed and fitted per account like a feed post (it needs no approval: an
        editor made it). With ``url``, the article is read from its page and recorded under the key the feed
        will use, so the feed does not post it again. Sent now, unless ``dry_run``, or ``at`` (UTC-aware, in the
        future): then it is scheduled, and the dispatcher sends it from that time on (``stale_after`` counts from
        then). Holds, limits and quiet hours apply unless ``force`` (only
        for a post sent now). ``key`` names a text post once (a form sent twice, a double click): a second post
        with the same key is "already posted" (a URL's post is named by its article)."""
        bot = self.bot
        check_manual_post(text, url)
        now = bot.clock.now()
        if at is not None:
            if at.tzinfo is None:
                raise UsageError("a post's time needs a timezone")
            if at <= now:
                raise UsageError(f"{at.astimezone(bot.config.site.tz):%Y-%m-%d %H:%M%z} is in the past (it is now "
                                 f"{now.astimezone(bot.config.site.tz):%Y-%m-%d %H:%M%z}): give a time to come")
            if force:
                raise UsageError("--force is for a post sent now; a scheduled post goes at its time like any other")
        accounts = [bot.account(a) for a in account_ids] if account_ids else \
            [a for a in bot.config.accounts if a.enabled]
        if url:
            page = read_page(url, session=bot.session("pages"), timeout=10.0, user_agent=bot.config.agent,
                             site_name=bot.config.site.name)
            short = page.shortlink and wordpress_short_link(page.shortlink, bot.config.site.url)
            # Published now, even when scheduled: a date to come would make the feeds' new articles look old.
            base = Article(feed_id="manual", guid=short or page.canonical, title=page.title,
                           link=page.canonical, summary=page.description, published=now,
                           image_urls=tuple(u for u in (image, page.image) if u))
            copies = [replace(base, feed_id=f.id) for f in bot.config.feeds] or [base]
        else:
            if not text or not text.strip():
                raise UsageError("give the text to post, or --url ARTICLE_URL")
            base = Article(feed_id="manual", guid=f"manual:{key or uuid.uuid4()}", title=clean_title(text),
                           link=link or "", published=at or now, image_urls=(image,) if image else ())
            copies = [base]
        if dry_run:
            results = []
            for account in accounts:
                rule = bot.publisher_for(account).rule
                try:
                    composed = bot.composer.compose(account.id, base, priority=MANUAL_PRIORITY)
                except ComposeError as exc:
                    results.append(ManualResult(account.id, "does not fit", str(exc)))
                    continue
                cost = post_cost(account, composed)
                picture = preview_picture(bot, account, base, composed)
                results.append(ManualResult(account.id, "dry run", composed, rule.count(composed), rule.max_length,
                                            cut=_cut(text, base.title, composed),
                                            cost_usd=None if cost is None else cost / MICRO,
                                            image=picture.where if picture and picture.kind == "article" else None,
                                            card=picture.where if picture and picture.kind == "card" else None))
            return results
        made, had = bot.store.add_manual(copies, [a.id for a in accounts], now, by, not_before=at)
        results = [ManualResult(a, "already posted", "this article was posted there before") for a in had]
        if at is not None:
            when = f"for {at.astimezone(bot.config.site.tz):%Y-%m-%d %H:%M%z}"
            return results + [ManualResult(row.account_id, "scheduled", when)
                              for row in (bot.store.deliveries(ids=made) if made else [])]
        sent = self._send(made, force=force) if made else []
        outcomes = {o.account_id: o for o in sent or []}
        for row in bot.store.deliveries(ids=made) if made else []:  # (no ids would mean every delivery)
            o = outcomes.get(row.account_id)
            cut = _cut(text, base.title, row.text)
            if sent is None:
                results.append(ManualResult(row.account_id, "queued", "the daemon sends it now", cut=cut))
            elif o is None:
                results.append(ManualResult(row.account_id, "waiting", self.why_waiting(row.account_id), cut=cut))
            else:
                results.append(ManualResult(row.account_id, o.status, o.url or o.detail, cut=cut))
        return results


__all__ = ["CheckResult", "ManualResult", "Operations", "Preview", "TextMeasure", "check_manual_post", "migrate",
           "report"]
