"""The reviser: makes the changes owed to posts already out, one at a time, after each dispatch pass.

- **update** (a correction on the site, for an account with ``on_edit: update`` on a platform that edits posts):
  the corrected text is composed and fitted from the article as it is now, as a new post would be, and the post
  is edited in place (its link, card and picture stay); a text that says what the post says already is no change.
- **delete** (the site withdrew the article, for an account with ``on_retract: delete``, or a person asked for a
  flagged article's posts): the post and those of its earlier revisions (reposts) are deleted; one already gone
  from the platform counts as deleted; one the platform refuses (or whose id is unknown) stays listed, with why.
- **repost** (a correction came while the post was being sent, for an account that reposts): once it is out, it is
  queued again as a new post (``REPOST``).

Each outcome is kept in the post's history with who or what asked. A rate limit pauses the account; a held account
waits; a failure is tried again with backoff up to :data:`MAX_TRIES` times, then given up, its error kept on the
post (a flagged post stays listed with it, "says where it could not"). A refusal (the platform does not let this
post be changed, or deleted) is given up at once. An edit sent twice leaves the same text, and a delete sent twice
finds the post gone: the reviser's claim (by the database's clock) keeps two replicas off one post, and nothing
worse than a repeated request comes of a claim that lapsed.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from bot.backoff import backoff
from bot.clock import Clock
from bot.config import AccountConfig
from bot.dispatch import Outcome
from bot.errors import AuthFailed, ComposeError, Gone, PlatformError, RateLimited, Rejected
from bot.models import Article, DeliveryState
from bot.platforms.base import Post, Publisher
from bot.policy import approval_reason
from bot.pricing import request_cost
from bot.store import Revision, Store

log = logging.getLogger("bot.revise")

#: How long a reviser's claim lasts: longer than a compose and a few platform calls take.
LEASE = timedelta(minutes=5)
#: Failures (not refusals) after which a change is given up, its error kept on the post.
MAX_TRIES = 8
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)
#: How long a change owed to a held account (or one not posting) waits before it is looked at again.
HELD_WAIT = timedelta(minutes=10)
#: Seconds a reviser's pass may take at most: the rest waits for the next pass.
BUDGET = 30.0


class Reviser:
    """Makes the changes owed to posts out (``Store.claim_revision``), each with the account's publisher."""

    def __init__(self, store: Store, publishers: Mapping[str, Publisher],
                 compose: Callable[[str, Article, int, int], str], clock: Clock, *,
                 policies: Mapping[str, AccountConfig], draw: Callable[[], float] = random.random) -> None:
        self.store = store
        self.publishers = publishers
        self.compose = compose  #: the corrected text of an account's post (``Composer.compose``)
        self.clock = clock
        self.policies = policies
        self.draw = draw

    def run(self, stop: threading.Event | None = None) -> list[Outcome]:
        """Make every change owed and due, for :data:`BUDGET` seconds at most (sends are not held up for longer);
        one cheap query when none is. Changes owed to an account that cannot post now (held, paused, not in the
        config or disabled) wait without costing each pass anything."""
        now = self.clock.now()
        if not self.store.anything_to_revise(now):
            return []
        self.store.withdraw_waiting(now)  # a withdrawn article's post found waiting again never goes
        held = self.store.held_accounts()
        waits = {a: (HELD_WAIT if a in held else self._paused(a, now)) for a in self.store.revising_accounts()}
        for account_id, wait in waits.items():
            if account_id not in self.publishers or wait:
                self.store.defer_revisions([account_id], now, now + (wait or HELD_WAIT))
        ready = [a for a, wait in waits.items() if a in self.publishers and not wait]
        outcomes: list[Outcome] = []
        started = time.monotonic()
        while ready and not (stop and stop.is_set()) and time.monotonic() - started < BUDGET:
            rev = self.store.claim_revision(self.clock.now(), ready, LEASE)
            if rev is None:
                break
            outcomes.append(self._log(self._revise(rev)))
        return outcomes

    def _paused(self, account_id: str, now: datetime) -> timedelta | None:
        """How long the platform asked the account to wait, if it did."""
        until = self.store.account_state(account_id).not_before
        return until - now if until is not None and until > now else None

    def _revise(self, rev: Revision) -> Outcome:
        d = rev.delivery
        publisher = self.publishers[d.account_id]
        try:
            if rev.kind == "update":
                return self._update(rev, publisher)
            if rev.kind == "repost":
                return self._repost(rev)
            return self._delete(rev, publisher)
        except Gone as exc:
            if rev.kind == "delete":
                return self._deleted(rev, f"it was gone from the platform already ({exc.message})")
            return self._give_up(rev, f"the post is not on the platform any more: {exc.message}")
        except RateLimited as exc:
            now = self.clock.now()
            self.store.pause_account(d.account_id, exc.until, now)
            self.store.record_revise_failed(rev, now, f"rate limited: {exc.message}", exc.until, counts=False)
            return Outcome(d.id, d.account_id, "rate_limited", exc.message)
        except AuthFailed as exc:
            now = self.clock.now()
            if self.store.hold_account(d.account_id, exc.message, now):
                log.error("account=%s is HELD: %s. Fix its credentials, then run `bot release %s`.", d.account_id,
                          exc.message, d.account_id)
            self.store.record_revise_failed(rev, now, f"account held: {exc.message}", now + HELD_WAIT, counts=False)
            return Outcome(d.id, d.account_id, "held", exc.message)
        except (Rejected, ComposeError) as exc:
            return self._give_up(rev, str(exc))
        except PlatformError as exc:  # Unavailable, MaybeSent (harmless here), or a kind a publisher should not raise
            return self._again(rev, exc.message)
        except Exception as exc:  # a bug: tried again later, never lost
            log.exception("delivery=%d account=%s: revising the post failed unexpectedly", d.id, d.account_id)
            return self._again(rev, f"internal error: {type(exc).__name__}: {exc}")

    def _update(self, rev: Revision, publisher: Publisher) -> Outcome:
        d = rev.delivery
        account = self.policies[d.account_id]
        if not publisher.can_edit or not d.remote_id:
            why = f"{account.platform} does not let posts be edited" if d.remote_id else "its id on the platform is " \
                "unknown"
            return self._give_up(rev, f"not updated: {why}")
        a = self.store.article_by_id(d.article_id)  # as the site says it now (the compose reads the same row)
        text = self.compose(d.account_id, a, d.article_id, d.priority)
        a = self.store.article_by_id(d.article_id)
        source = a.text_for(account.platform)
        if text == d.text:
            self.store.record_corrected(rev, self.clock.now(), text, source, a.title)
            return Outcome(d.id, d.account_id, "unchanged", "the post already says this", d.remote_url)
        publisher.edit(d.remote_id, Post(d.id, text, a.link, a.title, a.images, a.excerpt or a.summary,
                                         d.created_at, rev.revision, a.names))
        if not self.store.record_corrected(rev, self.clock.now(), text, source, a.title):
            return Outcome(d.id, d.account_id, "lost", "the claim was taken over")
        return Outcome(d.id, d.account_id, "corrected", f"updated by {rev.by}", d.remote_url)

    def _repost(self, rev: Revision) -> Outcome:
        """A post that was being sent when its article was corrected, for an account that reposts: out now, so
        posted again (waiting for approval where its account's approval applies)."""
        d = rev.delivery
        account = self.policies[d.account_id]
        approval = approval_reason(account, self.store.article_by_id(d.article_id))
        if not self.store.record_reposted(rev, self.clock.now(), approval):
            return Outcome(d.id, d.account_id, "lost", "the claim was taken over")
        return Outcome(d.id, d.account_id, "reposted", f"queued again, asked by {rev.by}", d.remote_url)

    def _delete(self, rev: Revision, publisher: Publisher) -> Outcome:
        """Delete the posts of its earlier revisions, then the post itself. A refusal of one does not keep the others
        up: each is tried, and those refused are said (and stay listed)."""
        d = rev.delivery
        account = self.policies.get(d.account_id)
        left = list(rev.earlier)
        refused: list[str] = []
        for remote_id, url in rev.earlier:
            if not remote_id:  # its id was never known (the platform said it had the post already)
                refused.append(f"{url or 'an earlier post'}: its id on the platform is unknown: delete it there by "
                               "hand")
                continue
            try:
                publisher.delete(remote_id)
                self._charge(account, d.id)
            except Gone:
                pass
            except Rejected as exc:
                refused.append(f"{url or remote_id}: {exc.message}")
                continue
            except PlatformError:
                self.store.record_earlier_deleted(rev, left)
                raise
            left.remove((remote_id, url))
        if left != list(rev.earlier):
            self.store.record_earlier_deleted(rev, left)
        gone = d.state != DeliveryState.SENT.value  # the row's own post is not out (a repost that waits)
        if not gone and not d.remote_id:
            refused.append("its id on the platform is unknown (the platform said it had the post already): "
                           "delete it there by hand")
        elif not gone and d.remote_id:
            try:
                publisher.delete(d.remote_id)
                self._charge(account, d.id)
                gone = True
            except Gone:
                gone = True
            except Rejected as exc:
                refused.append(f"{d.remote_url or d.remote_id}: {exc.message}")
        where = d.remote_url or d.remote_id or ", ".join(u or i for i, u in rev.earlier)
        if not refused:
            return self._deleted(rev, f"deleted from the platform (was {where})")
        error = "not deleted: " + "; ".join(refused)
        if gone:  # the post itself is deleted; an earlier one the platform refused stays listed, with why
            self.store.record_deleted(rev, self.clock.now(), f"deleted from the platform (was {where})",
                                      keep=left, error=error)
            return Outcome(d.id, d.account_id, "delete failed", error, d.remote_url)
        return self._give_up(rev, error)

    def _deleted(self, rev: Revision, detail: str) -> Outcome:
        d = rev.delivery
        why = f"{rev.why}: " if rev.why else ""
        self.store.record_deleted(rev, self.clock.now(), f"{why}{detail}")
        return Outcome(d.id, d.account_id, "deleted", f"{detail}; asked by {rev.by}", d.remote_url)

    def _charge(self, account: AccountConfig | None, delivery_id: int) -> None:
        price = request_cost(account, "delete") if account is not None else None
        if price is not None and account is not None:
            self.store.record_charge(account.id, self.clock.now(), price[0], price[1], delivery_id)

    def _give_up(self, rev: Revision, error: str) -> Outcome:
        d = rev.delivery
        self.store.record_revise_failed(rev, self.clock.now(), error, None)
        what = "correction failed" if rev.kind == "update" else "delete failed"
        return Outcome(d.id, d.account_id, what, error, d.remote_url)

    def _again(self, rev: Revision, error: str) -> Outcome:
        if rev.tries >= MAX_TRIES:
            return self._give_up(rev, f"{error} (given up after {rev.tries} tries)")
        now = self.clock.now()
        at = now + backoff(rev.tries, RETRY_BASE, RETRY_CAP, self.draw())
        self.store.record_revise_failed(rev, now, error, at)
        return Outcome(rev.delivery.id, rev.delivery.account_id, "retry", error)

    @staticmethod
    def _log(o: Outcome) -> Outcome:
        level = logging.INFO if o.status in ("corrected", "deleted", "unchanged") else logging.WARNING
        log.log(level, "delivery=%d account=%s status=%s detail=%s%s", o.delivery_id, o.account_id, o.status,
                o.detail, f" url={o.url}" if o.url else "")
        return o
