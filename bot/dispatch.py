"""The outbox: claim due deliveries, send them, and record what the platform said.

Each claim freezes the delivery's text (composed from the latest article data at its first attempt, or an
editor's own text, sent as it is); every later attempt sends exactly that text. Outcomes map onto delivery
states as DESIGN.md says; each that may have reached the platform marks the row so (its text never changes).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo

from bot.backoff import backoff
from bot.clock import Clock
from bot.config import AccountConfig, XAccount
from bot.errors import (
    AuthFailed,
    ComposeError,
    Duplicate,
    MaybeSent,
    PlatformError,
    RateLimited,
    Rejected,
    SayPending,
    Unavailable,
)
from bot.lifecycle import NOT_SHARED_NOTE
from bot.models import Article
from bot.platforms.base import Post, Publisher
from bot.policy import next_send
from bot.pricing import budget_wait, has_budget, micro, next_cost, post_charge, post_cost, usd
from bot.store import DeliveryForDispatch, Store

log = logging.getLogger("bot.dispatch")

#: How long a claim lasts: longer than any publisher call can take (their timeouts are shorter).
LEASE = timedelta(minutes=2)
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)
#: How soon a post whose editor's say could not be read asks again.
SAY_RETRY = timedelta(seconds=30)
#: The shortest wait after a rate limit, even when the platform's reset time has passed (clock skew).
MIN_WAIT = timedelta(seconds=5)


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery in one dispatch pass."""

    delivery_id: int
    account_id: str
    status: str  #: sent | duplicate | retry | rate_limited | budget | held | failed | in_doubt | skipped
    detail: str | None = None
    url: str | None = None


class Dispatcher:
    """Sends the outbox: claims due deliveries one at a time (priority, then publish order), composes
    and freezes a first attempt's text, calls the account's publisher, and records the outcome as DESIGN.md's
    delivery states say. ``run`` is one pass; a crash mid-pass loses nothing (claims expire)."""

    def __init__(
        self, store: Store, publishers: Mapping[str, Publisher], compose: Callable[[str, Article, int, int], str],
        clock: Clock, *, lease: timedelta = LEASE, draw: Callable[[], float] = random.random,
        policies: Mapping[str, AccountConfig] | None = None, tz: tzinfo = UTC,
        enrich: Callable[[Article, int], Article] | None = None,
    ) -> None:
        self.policies = policies or {}
        #: the article as the site's REST API tells it (``Composer.enrich``): the editor's say is read from it
        self.enrich = enrich
        self.tz = tz
        self.store = store
        self.publishers = publishers
        self.compose = compose
        self.clock = clock
        self.lease = lease
        self.draw = draw
        self._force = False

    def run(self, stop: threading.Event | None = None, *, only: Iterable[int] | None = None,
            force: bool = False) -> list[Outcome]:
        """Send every due delivery (or just ``only`` these); stop between sends when ``stop`` is set.
        ``force`` ignores holds, limits and quiet hours (a post made by hand with --force)."""
        # The usual idle pass: one cheap query (posts awaiting approval count where they may go stale).
        if not self.store.anything_to_send(awaiting=any(p.stale_after and p.approval.enabled
                                                         for p in self.policies.values())):
            return []
        self._force = force
        requeued, doubtful = self.store.recover_expired(self.clock.now(), self._resend_safe)
        if requeued or doubtful:
            log.warning("recovered interrupted sends: %d queued again with their frozen text, %d in doubt "
                        "(check those accounts, then retry or skip)", requeued, doubtful)
        outcomes: list[Outcome] = []
        for account_id, policy in self.policies.items():
            if policy.stale_after and account_id in self.publishers:
                stale = self.store.skip_stale(account_id, self.clock.now() - policy.stale_after, self.clock.now())
                if stale:
                    log.warning("account=%s skipped %d stale post(s) (stale_after %s)", account_id, stale,
                                policy.stale_after)
        while not (stop and stop.is_set()):
            ready = list(self.publishers) if force else self.ready_accounts()
            claimed = self.store.claim_next(self.clock.now(), ready, self.lease,
                                            only=None if only is None else list(only), ignore_holds=force,
                                            still_ready=None if force else self._ready)
            if claimed is None:
                break
            with self._renewing(claimed):  # the claim lasts as long as its compose and send take
                editors = claimed.text is not None and claimed.first_tried_at is None
                if editors:
                    # An editor's own text, never tried: sent as it is, as a first attempt (not a resend).
                    text = self._freeze(claimed, claimed.text or "", source="")
                    claimed = replace(claimed, text=None)
                else:
                    said = self._editor_say(claimed) if claimed.text is None else claimed
                    if isinstance(said, Outcome):
                        outcomes.append(said)
                        continue
                    claimed = said
                    text = claimed.text if claimed.text is not None else self._compose(claimed)
                if isinstance(text, Outcome):
                    outcomes.append(text)
                else:
                    outcomes.append(self._send(claimed, text, editors=editors))
        return outcomes

    def _resend_safe(self, account_id: str, first_tried: datetime | None) -> bool:
        """Whether a delivery whose send was interrupted may be sent again without the risk of a second post."""
        publisher = self.publishers.get(account_id)
        if publisher is None or not publisher.resend_is_safe:
            return False
        window = publisher.resend_window
        return window is None or first_tried is None or self.clock.now() - first_tried < window

    @contextmanager
    def _renewing(self, d: DeliveryForDispatch) -> Iterator[None]:
        """Renew the claim on ``d`` every third of its lease while the block runs (a send can chain a
        shortener, the REST API, a page, an image, an upload and the post itself: longer than one lease)."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(self.lease.total_seconds() / 3):
                try:
                    if not self.store.renew_claim(d.id, d.attempts, self.lease):
                        log.warning("delivery=%d account=%s: its claim was taken over mid-send", d.id, d.account_id)
                        return
                except Exception:  # the database is away: the claim may lapse; its outcome is fenced anyway
                    log.exception("delivery=%d: renewing its claim failed", d.id)

        beat = threading.Thread(target=renew, name=f"claim-{d.id}", daemon=True)
        beat.start()
        try:
            yield
        finally:
            done.set()
            beat.join(5)

    def ready_accounts(self) -> list[str]:
        """The accounts whose limits and quiet hours let them send now."""
        return [account_id for account_id in self.publishers if self._ready(account_id)]

    def _ready(self, account_id: str) -> bool:
        policy = self.policies.get(account_id)
        if policy is not None and self._budget_full(policy):
            return False
        limits = policy.limits if policy else None
        if policy is None or limits is None or not (limits.per_day or limits.per_hour or limits.min_interval
                                                    or policy.quiet_hours):
            return True  # nothing limits it: no query
        now = self.clock.now()
        return next_send(policy, now, self.tz, self.store.sent_times(account_id, now - timedelta(days=1))) is None

    def _budget_full(self, account: AccountConfig) -> bool:
        """Whether the account's next post (in claim order) does not fit its budget now: then nothing of it is
        claimed (priority first: a cheaper, lesser post never overtakes it) until the day or the billing cycle
        begins again, or the budget is raised (the config is read at each check). Checked before composing."""
        if not isinstance(account, XAccount) or not has_budget(account):
            return False
        now = self.clock.now()
        cost = next_cost(account, self.store.next_waiting(account.id, now))
        if not cost:
            return False  # nothing waits, or a resend (counted already)
        return budget_wait(account, self.store.x_spend(account, now, self.tz), cost, now, self.tz) is not None

    def _over_budget(self, d: DeliveryForDispatch, text: str) -> Outcome | None:
        """A post just composed whose text costs more than its link policy implied (a headline naming a domain)
        and so no longer fits: back to the queue, its text kept; its account then waits (``_budget_full``).
        A resend is never held back: its cost is counted since its first send. ``--force`` goes over."""
        account = self.policies.get(d.account_id)
        if self._force or _resend(d) or not isinstance(account, XAccount) or not has_budget(account):
            return None
        now = self.clock.now()
        cost = post_cost(account, text) or 0
        whole = [micro(v) for v in (account.budget.per_day, account.budget.per_month) if v]
        if cost > min(whole):  # it would never fit: it must not hold the account's other posts back for ever
            why = (f"this post costs {usd(cost)} (X counts a URL in it), more than the account's whole budget "
                   f"({usd(min(whole))}): not posted; raise the budget, then bot retry {d.id}")
            self.store.record_failed(d, now, why)
            return self._log(Outcome(d.id, d.account_id, "failed", why))
        wait = budget_wait(account, self.store.x_spend(account, now, self.tz, exclude=d.id), cost, now, self.tz)
        if wait is None:
            return None
        self.store.record_retry(d, now, None, None, count_attempt=False, waits=wait.why)
        return self._log(Outcome(d.id, d.account_id, "budget", wait.why))

    def _editor_say(self, d: DeliveryForDispatch) -> DeliveryForDispatch | Outcome:
        """Before a first send, the article as the site tells it now, with the editor's say (the companion
        plugin's): not shared → skipped (a post made by hand goes all the same: a person asked for it); not
        readable yet → back to the queue for a little while (``SayPending``). The delivery with that article."""
        if self.enrich is None or d.created_by is not None:
            return d  # a post made by hand: a person asked for it, and its compose reads the site without waiting
        try:
            article = self.enrich(d.article, d.article_id)
        except SayPending as exc:
            now = self.clock.now()
            self.store.record_retry(d, now, now + SAY_RETRY, None, count_attempt=False,
                                    waits=f"waiting for the editor's say: {exc}")
            return self._log(Outcome(d.id, d.account_id, "retry", str(exc)))
        except Exception:  # a bug must not hold the post: it goes as the feed tells it
            log.exception("delivery=%d account=%s: reading the article's REST data failed", d.id, d.account_id)
            return d
        if article.share is False:
            if self.store.record_not_shared(d, self.clock.now()):
                return self._log(Outcome(d.id, d.account_id, "skipped", NOT_SHARED_NOTE))
            return Outcome(d.id, d.account_id, "lost", "the claim was taken over")
        return replace(d, article=article)

    def _compose(self, d: DeliveryForDispatch) -> str | Outcome:
        """Compose a delivery's text from the latest article data (outside any transaction: short links and
        the WordPress API may be asked) and freeze it; or the outcome when no post can be made."""
        try:
            text = self.compose(d.account_id, d.article, d.article_id, d.priority)
        except ComposeError as exc:
            self.store.record_failed(d, self.clock.now(), str(exc))
            return self._log(Outcome(d.id, d.account_id, "failed", str(exc)))
        except Exception as exc:  # a bug: the post is not lost, it is tried again later
            log.exception("delivery=%d account=%s: composing the post failed unexpectedly", d.id, d.account_id)
            now = self.clock.now()
            self.store.record_retry(d, now, now + backoff(d.attempts, RETRY_BASE, RETRY_CAP, self.draw()),
                                    f"internal error while composing: {type(exc).__name__}: {exc}")
            return Outcome(d.id, d.account_id, "retry", str(exc))
        return self._freeze(d, text)

    def _freeze(self, d: DeliveryForDispatch, text: str, source: str | None = None) -> str | Outcome:
        """Freeze the text of a first attempt on the claim's row, with what it was composed from (``source``; by
        default the article's text for the account's platform: a later correction is a change of it); the text to
        send, or the outcome when the claim was lost meanwhile."""
        if source is None:
            policy = self.policies.get(d.account_id)
            source = d.article.text_for(policy.platform) if policy is not None else d.article.title
        frozen = self.store.freeze_text(d, text, self.clock.now(), d.article.title, source)
        if frozen is None:  # the claim lapsed while composing and another took the row: it sends, not this one
            log.warning("delivery=%d account=%s: its claim was taken over while composing; not sent here",
                        d.id, d.account_id)
            return Outcome(d.id, d.account_id, "lost", "the claim was taken over")
        return frozen


    def _send(self, d: DeliveryForDispatch, text: str, *, editors: bool = False) -> Outcome:
        publisher = self.publishers[d.account_id]
        if (waiting := self._over_budget(d, text)) is not None:
            return waiting
        # The headline frozen with the text (a retry's card says what its text says), else the article's now.
        post = Post(d.id, text, d.article.link, d.title or d.article.title, d.article.images,
                    d.article.excerpt or d.article.summary, d.created_at, d.revision,
                    d.article.names)
        store, acc = self.store, d.account_id
        if d.text is not None and publisher.resend_window is not None:  # a resend: is its key still known?
            now = self.clock.now()
            if d.first_tried_at is None or now - d.first_tried_at >= publisher.resend_window:
                said = ("not resent: its first attempt may have posted, and the platform's idempotency window "
                        "has passed (a resend could post twice)")
                store.record_in_doubt(d, now, said)
                return self._log(Outcome(d.id, acc, "in_doubt", said))
        try:
            published = publisher.publish(post)
        except Duplicate as exc:  # an earlier try's post: that try was charged (X); a first try's is not
            if editors:  # an editor's text never sent from here: the platform has it from another post
                said = f"the platform already has this exact text from another post ({exc.message}): edit it"
                store.record_failed(d, self.clock.now(), said)
                return self._log(Outcome(d.id, acc, "failed", said))
            cost, charged = self._cost(acc, text) if _resend(d) else (None, None)
            store.record_sent(d, self.clock.now(), exc.remote_id, None,
                              note=f"the platform already had this post ({exc.message})"
                              + ("" if exc.remote_id else "; its id is unknown"), cost=cost, charged=charged)
            return self._log(Outcome(d.id, acc, "duplicate", exc.message))
        except RateLimited as exc:
            now = self.clock.now()
            until = max(exc.until, now + MIN_WAIT)
            store.pause_account(acc, until, now)
            store.record_retry(d, now, until, f"rate limited: {exc.message}", count_attempt=False)
            return self._log(Outcome(d.id, acc, "rate_limited", f"{exc.message}; next try {self._local(until)}"))
        except Unavailable as exc:
            if isinstance(exc, MaybeSent) and not publisher.resend_is_safe:  # it may be posted: never guess
                where = f"{exc.message}; check {exc.check}" if exc.check else exc.message
                store.record_in_doubt(d, self.clock.now(), where)
                return self._log(Outcome(d.id, acc, "in_doubt", where))
            now = self.clock.now()
            at = exc.after if exc.after and exc.after > now else \
                now + backoff(d.attempts, RETRY_BASE, RETRY_CAP, self.draw())
            if publisher.resend_window is not None:  # a resend is safe only while the platform keeps its key
                deadline = (d.first_tried_at or now) + publisher.resend_window
                if now >= deadline:
                    said = f"{exc.message}; the platform's idempotency window has passed, so a resend could post twice"
                    store.record_in_doubt(d, now, said)
                    return self._log(Outcome(d.id, acc, "in_doubt", said))
                at = min(at, deadline)
            # Where a resend is safe, the publishers do not tell a request that never left from an answer lost: the
            # platform may have it, and its text must not change.
            maybe = isinstance(exc, MaybeSent) or publisher.resend_is_safe
            store.record_retry(d, now, at, exc.message, maybe_posted=maybe)
            return self._log(Outcome(d.id, acc, "retry", f"{exc.message}; next try {self._local(at)}"))
        except AuthFailed as exc:
            now = self.clock.now()
            if store.hold_account(acc, exc.message, now):
                log.error("account=%s is HELD: %s. Its posts wait in the queue; fix its credentials, then "
                          "run `bot release %s`.", acc, exc.message, acc)
            store.record_retry(d, now, None, f"account held: {exc.message}", count_attempt=False)
            return self._log(Outcome(d.id, acc, "held", exc.message))
        except Rejected as exc:
            store.record_failed(d, self.clock.now(), exc.message)
            return self._log(Outcome(d.id, acc, "failed", exc.message))
        except PlatformError as exc:  # a kind the publisher should not raise: treat as "try again"
            now = self.clock.now()
            store.record_retry(d, now, now + backoff(d.attempts, RETRY_BASE, RETRY_CAP, self.draw()),
                               exc.message, maybe_posted=True)
            return self._log(Outcome(d.id, acc, "retry", exc.message))
        except Exception as exc:  # a bug: never guess whether it posted
            log.exception("delivery=%d account=%s: the publisher failed unexpectedly", d.id, acc)
            now = self.clock.now()
            message = f"internal error: {type(exc).__name__}: {exc}"
            if publisher.resend_is_safe:
                store.record_retry(d, now, now + backoff(d.attempts, RETRY_BASE, RETRY_CAP, self.draw()),
                                   message, maybe_posted=True)
                return Outcome(d.id, acc, "retry", message)
            store.record_in_doubt(d, now, message)
            return Outcome(d.id, acc, "in_doubt", message)
        cost, charged = self._cost(acc, text)
        store.record_sent(d, self.clock.now(), published.remote_id, published.url, published.note, cost=cost,
                          charged=charged)
        spent = f" cost={usd(cost)}" if cost is not None else ""
        return self._log(Outcome(d.id, acc, "sent", f"id={published.remote_id or 'unknown'}{spent}", published.url))

    def _cost(self, account_id: str, text: str) -> tuple[int | None, str | None]:
        """What posting ``text`` cost the account (micro-dollars) and X's name of that price; (None, None): free."""
        account = self.policies.get(account_id)
        charge = post_charge(account, text) if account is not None else None
        return (None, None) if charge is None else charge

    def _local(self, when: datetime) -> str:
        """A time as a person reads it: in the site's timezone, with its offset."""
        return when.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S%z")

    @staticmethod
    def _log(o: Outcome) -> Outcome:
        level = logging.INFO if o.status in ("sent", "duplicate", "skipped") else logging.WARNING
        if o.status == "failed":
            level = logging.ERROR
        log.log(level, "delivery=%d account=%s status=%s%s%s", o.delivery_id, o.account_id, o.status,
                f" {o.detail}" if o.status == "sent" else f" detail={o.detail}" if o.detail else "",
                f" url={o.url}" if o.url else "")
        return o


def _resend(d: DeliveryForDispatch) -> bool:
    """Whether this claim resends a text an earlier claim froze and tried (its answer lost): that try may have
    posted, and been charged."""
    return d.text is not None and d.attempts > 1
