"""Alerts: operators are told when something needs them, once when it begins and once when it ends.

The problems (:func:`find_problems`): an account held (its credentials refused, or held by a person), a
feed that failed ``unhealthy_after`` polls in a row, posts in doubt, a token that expires within
``alerts.token_warning``, an X account's budget (80 % spent, or no room for its next post), an article withdrawn
on the site whose posts are still out and not being deleted (flagged, or a deletion given up). At each look
(:meth:`Alerter.run`, every ``alerts.interval`` in the daemon, once per ``bot poll``) they are compared with
the open ones (the store's ``alerts``); then each channel is told what it is owed: the truth now, where its
last word differs (``bot.store.alerts``). A channel that fails is tried again with a growing pause, the others
are not held up, and news no channel took within ``alerts.give_up_after`` is given up and logged. Alerts run
on their own job, with short timeouts: a failing channel never stops or slows posting.

:mod:`bot.alerts.channels` holds the channels (Telegram, email, webhook).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

from bot.alerts.channels import AlertError, Channel, Notice, make_channel
from bot.config import XAccount
from bot.config.alerts import EmailChannel
from bot.models import DeliveryState
from bot.platforms import TokenExpiry
from bot.pricing import budget_wait, cheapest, cycle_words, micro, next_cost, usd
from bot.store import Owed, Problem

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.config import AccountConfig, BotConfig
    from bot.platforms import Publisher
    from bot.store import Store

log = logging.getLogger("bot.alerts")

#: A claim on a message lasts its channels' timeouts and this much more (another process passes it by).
CLAIM_MARGIN = timedelta(seconds=30)
#: A channel that failed is tried again after 1, 2, 4 … minutes, at most this long apart.
MAX_PAUSE = timedelta(minutes=30)
#: The platforms whose publisher says when the account's token expires (``TokenExpiry``).
ASKS_TOKEN_EXPIRY = ("facebook", "instagram", "threads")
#: How often a platform is asked when the account's token expires.
TOKEN_CHECK_EVERY = timedelta(hours=24)
#: … and after a failed ask.
TOKEN_RETRY = timedelta(hours=1)


def find_problems(config: BotConfig, store: Store, now: datetime) -> dict[str, Problem]:
    """What needs a person now, by key. Reads the store only (a few small queries)."""
    problems: dict[str, Problem] = {}
    tz = config.site.tz
    warning = config.alerts.token_warning if config.alerts else timedelta(days=7)
    for account in config.accounts:
        if not account.enabled:
            continue
        state = store.account_state(account.id)
        if state.held:
            key = f"held:{account.id}"
            problems[key] = Problem(
                key, "held", account.id,
                f"account {account.id} ({account.platform}) is held: {state.held_reason}. Its posts wait; when "
                f"it is fixed, release it (bot release {account.id})",
                f"account {account.id} is released: its waiting posts go out")
        expires = _token_expiry(account.token_expires, store.token_state(account.id)[0], tz)
        if expires is not None and expires - now <= warning:
            key = f"token:{account.id}"
            gone = "expired" if expires <= now else "expires"
            when = f"{expires.astimezone(tz):%Y-%m-%d %H:%M %z}"
            problems[key] = Problem(
                key, "token", account.id,
                f"the token of account {account.id} ({account.platform}) {gone} {when}. Make a new one and put it "
                "in the secrets file; the bot reads it at a reload",
                f"the token of account {account.id} no longer expires soon")
        if isinstance(account, XAccount):
            problems.update(_budget_problems(account, store, now, tz))
    configured = {f.id for f in config.feeds}
    for feed in store.feed_states():
        if feed.id in configured and feed.failures >= config.unhealthy_after:
            key = f"feed:{feed.id}"
            problems[key] = Problem(
                key, "feed", feed.id,
                f"feed {feed.id} failed {feed.failures} polls in a row: {feed.last_error}. Its new articles are "
                "posted when it answers again",
                f"feed {feed.id} answers again")
    doubtful: dict[str, list[int]] = defaultdict(list)
    for row in store.deliveries(state=DeliveryState.IN_DOUBT.value):
        doubtful[row.account_id].append(row.id)
    for account_id, ids in sorted(doubtful.items()):
        key = f"in_doubt:{account_id}"
        shown = ", ".join(f"#{i}" for i in ids[:10]) + (" …" if len(ids) > 10 else "")
        problems[key] = Problem(
            key, "in_doubt", account_id,
            f"{len(ids)} post(s) on {account_id} may or may not have gone out ({shown}). Look on the account: "
            "bot skip ID for one that is there, bot retry ID for one that is not",
            f"no post on {account_id} is in doubt any more")
    for w in store.withdrawn(None):  # the site withdrew it: a person must delete its posts (or see why not)
        left = [row for row, owed, _ in w.posts if owed != "delete"]
        if left:
            key = f"withdrawn:{w.article_id}"
            accounts = ", ".join(sorted({row.account_id for row in left}))
            problems[key] = Problem(
                key, "withdrawn", left[0].account_id,
                f"«{w.title}» was withdrawn ({w.why}), but {len(left)} post(s) are still out ({accounts}): bot "
                f"withdraw {left[0].id} deletes them all (bot status says why any could not be)",
                f"the posts of «{w.title}» are no longer out")
    return problems


def _budget_problems(account: XAccount, store: Store, now: datetime, tz: tzinfo) -> dict[str, Problem]:
    """An X account's budget 80 % spent, and spent (no post fits any more), this day or billing cycle."""
    budget = account.budget
    spend = store.x_spend(account, now, tz)
    found: dict[str, Problem] = {}
    periods = ((budget.per_month, spend.cycle, cycle_words(budget.cycle_day)), (budget.per_day, spend.today, "today"))
    for limit, spent, period in periods:
        if not limit:
            continue
        least = next_cost(account, store.next_waiting(account.id, now)) or cheapest(account) or 0
        if spent + least > micro(limit):
            key = f"budget100:{account.id}"
            wait = budget_wait(account, spend, least, now, tz)
            until = f"{wait.until.astimezone(tz):%Y-%m-%d %H:%M %z}" if wait else "its reset"
            found.setdefault(key, Problem(
                key, "budget100", account.id,
                f"X account {account.id}'s budget has no room for its next post ({usd(least)}): {usd(spent)} of "
                f"{usd(micro(limit))} spent {period}. Its posts wait until {until}; to post sooner, raise its "
                "budget in the config",
                f"X account {account.id}'s budget has room again: its posts go out"))
        elif spent >= micro(limit) * 0.8:
            key = f"budget80:{account.id}"
            found.setdefault(key, Problem(
                key, "budget80", account.id,
                f"X account {account.id} has spent 80 % of its budget: {usd(spent)} of {usd(micro(limit))} {period}",
                f"X account {account.id} is under 80 % of its budget again"))
    return found


def _token_expiry(configured: date | None, recorded: datetime | None, tz: tzinfo) -> datetime | None:
    """The sooner of the config's ``token_expires`` (a date: its start in the site's timezone) and what the
    platform said."""
    found = [recorded] if recorded else []
    if configured is not None:
        found.append(datetime.combine(configured, time(0), tzinfo=tz))
    return min(found) if found else None


def span(d: timedelta) -> str:
    """A duration as a person writes it: ``1d``, ``2h30m``, ``45s``."""
    seconds = int(d.total_seconds())
    parts = [(seconds // 86400, "d"), (seconds % 86400 // 3600, "h"), (seconds % 3600 // 60, "m"), (seconds % 60, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"


def _redact(text: str, secrets: list[str]) -> str:
    """Alerts leave the machine: no secret of the config goes with them, whatever an error quoted."""
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class Alerter:
    """Looks for problems, records their beginnings and ends, and tells the channels. One per Bot, which gives
    it its config, store, clock and a maker of publishers (a new one each time: used from the alerts' thread)."""

    def __init__(self, config: BotConfig, store: Store, clock: Clock,
                 publisher_for: Callable[[AccountConfig], Publisher]) -> None:
        self.config, self.store, self.clock, self.publisher_for = config, store, clock, publisher_for
        alerts = config.alerts
        self.channels: list[Channel] = [make_channel(c, config.agent) for c in alerts.channels] if alerts else []
        self._lock = threading.Lock()
        self._secrets = config.secrets()

    def run(self, stop: threading.Event | None = None) -> int:
        """One look: tokens asked where due, problems compared with the open ones, each channel told what it is
        owed. Returns how many problems' news went out to every channel owed it. Never raises for a channel's
        failure. Without ``alerts:`` only the tokens are asked (and refreshed, where the platform's are)."""
        config = self.config
        with self._lock:  # two looks of one Alerter never overlap
            now = self.clock.now()
            self.check_tokens(now, stop)
            if config.alerts is None:
                return 0
            for key, event in self.store.sync_alerts(lambda: find_problems(config, self.store, now), now,
                                                     [c.name for c in self.channels], self._watched):
                log.info("alert %s: %s", key, event)  # (closed: its account or feed left the config)
            return self.deliver(stop)

    def _watched(self, key: str) -> bool:
        """Whether the problem's account or feed is still looked at (an account disabled or removed, a feed
        removed: its problem's end is not news; posts in doubt and a withdrawn article's posts always are)."""
        kind, _, subject = key.partition(":")
        if kind == "feed":
            return any(f.id == subject for f in self.config.feeds)
        if kind in ("in_doubt", "withdrawn"):
            return True
        return any(a.id == subject and a.enabled for a in self.config.accounts)

    def check_tokens(self, now: datetime, stop: threading.Event | None = None) -> None:
        """Ask the platforms that say when a token expires (Facebook; Threads, which refreshes it then), once a
        day per account."""
        for account in self.config.accounts:
            if stop is not None and stop.is_set():
                return
            if not account.enabled or account.platform not in ASKS_TOKEN_EXPIRY:
                continue
            expires, checked = self.store.token_state(account.id)
            if checked is not None and now - checked < TOKEN_CHECK_EVERY:
                continue
            publisher = self.publisher_for(account)  # its own (the dispatcher's sessions are the dispatcher's)
            try:
                if not isinstance(publisher, TokenExpiry):
                    continue
                expires = publisher.token_expiry()
            except Exception as exc:  # any failure to ask: asked again in an hour, the last answer kept
                log.warning("account=%s: cannot learn when its token expires: %s", account.id, exc)
                self.store.record_token(account.id, expires, now - TOKEN_CHECK_EVERY + TOKEN_RETRY)
                continue
            finally:
                publisher.close()
            self.store.record_token(account.id, expires, now)

    def deliver(self, stop: threading.Event | None = None) -> int:
        """Tell every channel what it is owed (one problem at a time, claimed). Returns how many problems' news
        went out to every channel owed it."""
        assert self.config.alerts is not None
        names = [c.name for c in self.channels]
        done, seen = 0, list[str]()
        while not (stop is not None and stop.is_set()):
            owed = self.store.claim_owed(self.clock.now(), names, self._lease, skip=seen)
            if owed is None:
                break
            seen.append(owed.key)
            holder = [owed]  # the claim as last renewed: what is released
            try:
                done += self._tell(holder, stop)
            finally:
                self.store.release_owed(holder[-1])
        return done

    @property
    def _lease(self) -> timedelta:
        """A claim outlasts one channel's try: SMTP's timeout bounds each step (connect, greeting, EHLO,
        STARTTLS, EHLO, login, MAIL, a RCPT per address, DATA, its end, QUIT); the others', a request. It is
        renewed before each channel."""
        assert self.config.alerts is not None
        return CLAIM_MARGIN + max((c.timeout * ((11 + len(c.to)) if isinstance(c, EmailChannel) else 2)
                                   for c in self.config.alerts.channels), default=timedelta())

    def _tell(self, holder: list[Owed], stop: threading.Event | None) -> int:
        """Tell the channels owed ``holder[0]``'s news; each renewal of the claim is appended to ``holder``."""
        config, store, clock = self.config, self.store, self.clock
        owed = holder[0]
        assert config.alerts is not None
        give_up = config.alerts.give_up_after
        notice = Notice(config.site.name, owed.event, owed.key, _redact(owed.text, self._secrets),
                        owed.changed_at.astimezone(config.site.tz))
        told = 0
        for channel in self.channels:
            if channel.name not in owed.channels or (stop is not None and stop.is_set()):
                continue
            now = clock.now()
            if now - owed.changed_at > give_up:  # too old to be news (alerts were off, or the bot down)
                log.error("alert %s (%s) given up on %s: it is older than give_up_after (%s)", owed.key, owed.event,
                          channel.name, span(give_up))
                store.channel_failed(owed, channel.name, "given up: too old", None, now)
                continue
            renewed = store.renew_owed(owed, self._lease)
            if renewed is None:
                log.warning("alert %s: its claim was lost while it was sent", owed.key)
                return 0
            owed = renewed
            holder.append(owed)
            try:
                channel.send(notice)
            except Exception as exc:  # AlertError, or a channel's bug: it must not stop the others, nor posting
                said = str(exc) if isinstance(exc, AlertError) else f"{type(exc).__name__}: {exc}"
                error = _redact(said, self._secrets)
                now = clock.now()
                attempts = owed.attempts.get(channel.name, 0)
                pause = min(MAX_PAUSE, timedelta(minutes=2 ** min(attempts, 10)))
                if now + pause - owed.changed_at > give_up:
                    log.error("alert %s (%s) given up on %s after %s: %s", owed.key, owed.event, channel.name,
                              span(give_up), error)
                    store.channel_failed(owed, channel.name, error, None, now)
                else:
                    log.warning("alert %s (%s) not told on %s: %s; trying again at %s", owed.key, owed.event,
                                channel.name, error,
                                f"{(now + pause).astimezone(config.site.tz):%Y-%m-%d %H:%M:%S%z}")
                    store.channel_failed(owed, channel.name, error, now + pause, now)
                continue
            store.channel_told(owed, channel.name, clock.now())
            told += 1
        return int(told == len(owed.channels))

    def close(self) -> None:
        for channel in self.channels:
            channel.close()
