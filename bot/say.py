"""The editor's say, from the companion WordPress plugin (``wordpress/wp-social-bot``), on the bot's side.

The plugin keeps three choices per post as post meta — share it or not, a custom text (for every network, or
per network), breaking news — which the REST API shows to an editor (``site.wordpress_user`` and an application
password; :mod:`bot.feeds.wordpress`). They are read:

- when a poll finds new articles: at once, before the first send where the dispatcher gets there first (at most
  :data:`EAGER_MAX` articles and :data:`EAGER_BUDGET` seconds a poll; the rest are read at their first send);
- at a delivery's first send, when not read yet (the dispatcher: :meth:`bot.composer.Composer.enrich`);
- again on the plugin's notice of an edit (or a publish) of a post the bot knows.

What they say is applied to the article's deliveries that have not gone out (:meth:`Store.apply_say`): not
shared → skipped with the reason "the editor chose not to share"; shared again → back in the queue; breaking →
each account's priority for it. A custom text is used when a post is composed; one changed after a post went out
is a correction of it (``on_edit``, :func:`bot.store.revise.correct`). Posts made by hand, and sends
that may have reached a platform, are never moved.

:meth:`Say.status` answers the plugin's "where it went" panel: each account's delivery of the post.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from bot.clock import Clock
from bot.compose.ids import link_key
from bot.composer import Composer
from bot.config import BotConfig
from bot.models import Article, DeliveryState
from bot.policy import approval_reason, corrections_for, priority_of
from bot.store import Store

log = logging.getLogger("bot")

#: New articles a poll reads the editor's say of, at most, and the seconds it may spend on them.
EAGER_MAX = 10
EAGER_BUDGET = 10.0
#: Why a delivery's reason is its platform's error rather than its note.
_ERROR_STATES = (DeliveryState.FAILED.value, DeliveryState.IN_DOUBT.value)


class Say:
    """Reads and applies the editor's say; answers the plugin's status panel."""

    def __init__(self, config: BotConfig, store: Store, composer: Composer, clock: Clock) -> None:
        self.config = config
        self.store = store
        self.composer = composer
        self.clock = clock

    @property
    def on(self) -> bool:
        """Whether the editor's say is read at all (the REST API, as an editor)."""
        return self.config.site.wordpress_api and self.config.site.wordpress_auth is not None

    def read_new(self, feed_id: str, since: datetime) -> int:
        """Read the say of the feed's articles first seen since ``since`` and not read yet; how many were."""
        if not self.on:
            return 0
        started = time.monotonic()
        done = 0
        for article_id in self.store.unread_articles(feed_id, since, EAGER_MAX):
            if time.monotonic() - started > EAGER_BUDGET:
                break
            done += self.refresh(article_id)
        return done

    def refresh(self, article_id: int) -> bool:
        """Ask the site for the article's say now and apply it; False when the site did not answer."""
        try:
            article = self.composer.refresh(article_id, pending=False)
        except Exception:  # never the poll's or the notice's failure: the first send asks again
            log.exception("article %d: reading the editor's say failed", article_id)
            return False
        if article is None:
            return False
        self.apply(article_id, article)
        return True

    def apply(self, article_id: int, article: Article) -> None:
        accounts = [a for a in self.config.accounts if a.enabled]
        skipped, restored = self.store.apply_say(
            article_id, self.clock.now(), article.share is not False,
            {a.id: priority_of(a, article) for a in accounts},
            [a.id for a in accounts if approval_reason(a, article)])
        if skipped:
            log.info("article %s: the editor chose not to share it: %d post(s) skipped", article.guid, skipped)
        if restored:
            log.info("article %s: the editor chose to share it: %d post(s) queued again", article.guid, restored)
        # A custom text changed after the posts went out is a correction of them, as a corrected headline is.
        if self.store.correct(article_id, self.clock.now(), "the editor's text in the plugin",
                              corrections_for(accounts, article, self.clock.now(), self.config.site.tz)):
            log.info("article %s: the editor's text changed: its posts out take it as their on_edit says", article.guid)

    def post_articles(self, post_id: int, url: str, host: str | None = None) -> list[int]:
        """The stored articles of a WordPress post, by its id on the site's hosts (only on ``host``, the notice's
        site, where given) or by its address."""
        hosts = {h for feed in self.config.feeds for h in self.config.own_hosts(feed)}
        if host is not None:
            hosts = {host} & hosts
        keys = sorted(f"{h}?p={post_id}" for h in hosts) if post_id > 0 else []
        return self.store.post_articles(keys, link_key(url) if url else None)

    def notice(self, event: str, post_id: int, url: str) -> int:
        """A plugin's notice of a change to a post: an edit (or a publish of a post already known) reads its say
        again. How many articles were read."""
        if not self.on or event not in ("publish", "update"):
            return 0
        return sum(self.refresh(a) for a in self.post_articles(post_id, url))

    def status(self, post_id: int, url: str) -> dict[str, Any]:
        """Where the post went: each account's latest delivery of it (the plugin's panel)."""
        found = self.post_articles(post_id, url)
        if not found:
            return {"post_id": post_id, "found": False, "title": "", "accounts": []}
        title = self.store.article_by_id(found[0]).title
        platforms = {a.id: a.platform for a in self.config.accounts}
        latest: dict[str, Any] = {}
        for row in self.store.article_deliveries(found):
            if row.account_id not in latest or row.id > latest[row.account_id].id:
                latest[row.account_id] = row
        tz = self.config.site.tz
        accounts = [{
            "account": row.account_id, "platform": platforms.get(row.account_id, ""), "state": row.state,
            "reason": (row.last_error or row.note) if row.state in _ERROR_STATES else row.note,
            "url": row.remote_url if row.state == DeliveryState.SENT.value else None,
            "at": row.sent_at.astimezone(tz).isoformat(timespec="seconds") if row.sent_at else None,
        } for row in sorted(latest.values(), key=lambda r: r.id)]
        return {"post_id": post_id, "found": True, "title": title, "accounts": accounts}
