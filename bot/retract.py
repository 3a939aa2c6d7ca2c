"""Retractions: an article the site withdrew (unpublished, made private, trashed, deleted) after the bot posted it.

It is learned two ways:

- the companion plugin's signed notice of ``unpublish``, ``trash`` or ``delete`` (:meth:`Retractions.notice`),
  matched to the articles of the notice's own site; where the REST API is on, one request to that site first asks
  where the post stands, and only an answer that it is published overrides the notice (a publish that came right
  after it); ``publish`` of a withdrawn article publishes it again (:meth:`bot.store.Store.republish`);
- the REST API, every ``site.retract_check``, for the articles posted in the last ``site.retract_window`` (and
  those first seen in it whose posts wait: settling, awaiting approval) (:meth:`Retractions.check`): one request
  lists which of their ids are still published; each one missing is asked for alone (at most :data:`CONFIRM_MAX`
  a check; one found published so is not asked again for :data:`STOOD_KEPT`), and only the REST API's own answer
  that it is not public (``rest_forbidden``), deleted (``rest_post_invalid_id``) or in another status counts. A
  site that does not answer, answers an error or anything but JSON is never taken for a retraction.

A withdrawn article's waiting posts are skipped; its posts out are deleted where the account's ``on_retract`` is
delete (by the reviser, :mod:`bot.revise`), else flagged: ``bot status`` and the console's overview list them
with one action that deletes them all (:meth:`bot.operations.Operations.withdraw`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar
from urllib.parse import urlsplit

import requests

from bot.clock import Clock
from bot.compose.ids import host_key
from bot.config import BotConfig
from bot.feeds.wordpress import MAX_IDS, post_standing, published_ids
from bot.policy import approval_reason, corrections_for
from bot.store import Store

log = logging.getLogger("bot")
T = TypeVar("T")

#: The plugin's events that withdraw an article, and what the history says of each.
WITHDRAWING = {"unpublish": "unpublished on the site", "trash": "trashed on the site", "delete": "deleted on the site"}
#: Posts missing from a check's list that are asked for one by one, at most, per check (the rest wait for the next).
CONFIRM_MAX = 10
#: How long a post the list leaves out, yet found published when asked alone (a plugin filtering the list, a stale
#: cache), is not asked alone again: it must not take the others' turn at every check.
STOOD_KEPT = timedelta(hours=6)
#: Seconds the REST API has to answer each request of a check.
TIMEOUT = 5.0


class Retractions:
    """Learns which articles the site withdrew, and applies it to their posts."""

    def __init__(self, config: BotConfig, store: Store, clock: Clock, *, session: Callable[[str], requests.Session],
                 articles_of: Callable[[int, str, str | None], list[int]]) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.session = session  #: the REST API's kept-alive session (``Bot.session("wordpress")``)
        self._stood: dict[tuple[str, int], datetime] = {}  #: (site, post id) left out of the list yet published
        #: the stored articles of a WordPress post, by its id (on one host, where given) or its address
        self.articles_of = articles_of

    def _delete_accounts(self) -> list[str]:
        return [a.id for a in self.config.accounts if a.enabled and a.on_retract == "delete"]

    def withdraw(self, article_id: int, why: str, by: str) -> tuple[int, int]:
        """Record the article as withdrawn (``why``) and apply it: (posts skipped, posts owed a deletion)."""
        skipped, owed = self.store.retract(article_id, self.clock.now(), why, by, self._delete_accounts())
        if skipped or owed:
            log.warning("article %d was withdrawn (%s): %d waiting post(s) skipped, %d post(s) to delete", article_id,
                        why, skipped, owed)
        return skipped, owed

    def notice(self, event: str, post_id: int, url: str, site: str = "") -> int:
        """The plugin's notice of a change to a post on ``site`` (its home address): a withdrawal, or a publish of a
        withdrawn one. Only that site's articles are matched (its feeds': two sites on one host too), and its REST
        API asked. How many stored articles it changed."""
        feeds = self._feeds_of(site)
        if feeds is None:
            log.warning("a notice for post %d of %s, a site this config does not hold: ignored", post_id, site[:200])
            return 0
        host = host_key(site) if site else None
        found = [a for a in self.articles_of(post_id, url, host)
                 if not feeds or self.store.article_by_id(a).feed_id in feeds]
        if not found:
            return 0
        if event == "publish":
            return sum(self._republish(a, "the plugin's notice") for a in found)
        why = WITHDRAWING.get(event)
        if why is None:
            return 0
        base = self.config.site_url_of(self.config.feed(sorted(feeds)[0])) if feeds else None
        if self.config.site.wordpress_api and post_id > 0 and self._standing(post_id, base) == "publish":
            log.info("post %d: the plugin says %s, but the REST API shows it published: left as it is", post_id, why)
            return 0
        for article_id in found:
            self.withdraw(article_id, f"{why} (the plugin's notice)", "the site")
        return len(found)

    def _feeds_of(self, site: str) -> set[str] | None:
        """The feeds of the site a notice names: those whose site address it is (host and path), else those on its
        host; empty: a notice naming no site (all feeds); None: a site this config does not hold."""
        if not site:
            return set()
        wanted = _where(site)
        exact = {f.id for f in self.config.feeds if _where(self.config.site_url_of(f)) == wanted}
        if exact:
            return exact
        host = host_key(site)
        if host not in {h for feed in self.config.feeds for h in self.config.own_hosts(feed)}:
            return None
        return {f.id for f in self.config.feeds if host_key(self.config.site_url_of(f)) == host} or set()

    def _republish(self, article_id: int, how: str) -> bool:
        article = self.store.article_by_id(article_id)
        accounts = [a for a in self.config.accounts if a.enabled]
        approval = [a.id for a in accounts if approval_reason(a, article)]
        now = self.clock.now()
        again = self.store.republish(article_id, now, f"the site ({how})", approval)
        if again:
            log.info("article %s was published again: %d post(s) wait again", article.guid, again)
        # A headline fixed while it was withdrawn corrects its posts out now (the poll saw it while it was not).
        fixed = self.store.correct(article_id, now, f"the site ({how})",
                                   corrections_for(accounts, article, now, self.config.site.tz))
        return bool(again or fixed or not self.store.is_withdrawn(article_id))

    def _standing(self, post_id: int, site_url: str | None = None) -> str | None:
        return post_standing(site_url or self.config.site.url, post_id, session=self.session("wordpress"),
                             timeout=TIMEOUT, user_agent=self.config.agent, auth=self.config.site.wordpress_auth)

    def check(self) -> int:
        """Ask the REST API whether the articles posted in the last ``retract_window`` still stand; how many were
        found withdrawn. Does nothing where the REST API is off or nothing was posted in the window."""
        site = self.config.site
        if not site.wordpress_api or not site.retract_check:
            return 0
        now = self.clock.now()
        self._stood = {k: t for k, t in self._stood.items() if now - t < STOOD_KEPT}
        recent = self.store.recently_posted(now - site.retract_window)
        by_site: dict[str, list[tuple[int, int, bool]]] = {}
        for article_id, key, feed_id, withdrawn_by_check in recent:
            host, _, number = key.partition("?p=")
            try:  # asked where its own feed's site is (two sites on one host too)
                site_url = self.config.site_url_of(self.config.feed(feed_id))
            except KeyError:
                site_url = self.config.site.url
            if host == host_key(site_url) and number.isdigit():
                by_site.setdefault(site_url, []).append((article_id, int(number), withdrawn_by_check))
        withdrawn = 0
        confirmed = 0
        for site_url, posts in by_site.items():
            for chunk in _chunks(posts, MAX_IDS):
                shown = published_ids(site_url, [p for _, p, _ in chunk], session=self.session("wordpress"),
                                      timeout=TIMEOUT, user_agent=self.config.agent, auth=site.wordpress_auth)
                if shown is None:
                    log.info("retraction check: %s gave no usable answer; nothing is taken as withdrawn", site_url)
                    break
                for article_id, pid, was_withdrawn in chunk:
                    stood = self._stood.get((site_url, pid))
                    asked_before = stood is not None and now - stood < STOOD_KEPT
                    if confirmed >= CONFIRM_MAX or (pid in shown) != was_withdrawn or asked_before:
                        continue
                    confirmed += 1
                    standing = self._standing(pid, site_url)
                    if was_withdrawn:  # listed as published again: it stands again once asked alone
                        if standing == "publish":
                            self._republish(article_id, "the REST API's check")
                        continue
                    if standing == "publish":
                        self._stood[(site_url, pid)] = now
                    if standing is None or standing == "publish":
                        continue
                    self.withdraw(article_id, f"{_words(standing)} (the REST API's check)", "the site")
                    withdrawn += 1
        return withdrawn


def _where(url: str) -> str:
    """A site's address as notices and feeds are compared: host (without ``www.``) and path, no trailing slash."""
    return host_key(url) + urlsplit(url).path.rstrip("/")


def _words(standing: str) -> str:
    return {"deleted": "deleted on the site", "not public": "no longer public on the site",
            "trash": "trashed on the site", "private": "made private on the site",
            "draft": "unpublished on the site (a draft)", "pending": "unpublished on the site (pending review)",
            "future": "unpublished on the site (scheduled again)"}.get(standing, f"{standing} on the site")


def _chunks(items: Sequence[T], n: int) -> list[Sequence[T]]:
    return [items[i:i + n] for i in range(0, len(items), n)]
