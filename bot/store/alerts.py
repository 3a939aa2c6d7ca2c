"""Alerts' state: the problems (open while they last) and, per problem and channel, the last word that channel
was told; and accounts' token expiry.

A channel is owed a problem's news when what it was last told differs from what is true now: "raised" while
the problem lasts, "cleared" once it ended (a channel never told anything counts as told "cleared"). So each
channel hears a problem's beginnings and ends in order and its last word converges on the truth: a channel
that missed a beginning (it failed, then the problem ended) is told nothing; a channel added later hears of the
problems open now, not of old ones. A problem is claimed (by the database's clock) while its news is sent, so
two processes do not send it at once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy.engine import Connection

from bot.store.accounts import _upsert_account
from bot.store.engine import StoreBase, _insert, db_now
from bot.store.records import Problem
from bot.store.tables import accounts, alert_channels, alerts

log = logging.getLogger("bot.alerts")

#: Key of the PostgreSQL advisory lock under which one replica at a time compares problems with alerts.
_ALERTS_LOCK = 7_413_092_005


@dataclass(frozen=True)
class Owed:
    """A problem whose news some channels are owed, claimed for sending."""

    key: str  #: the problem's key (``held:x``)
    event: str  #: raised | cleared: what is true now
    text: str  #: what to say
    changed_at: datetime  #: when it began or ended
    channels: tuple[str, ...]  #: the channels owed it, and due now
    attempts: dict[str, int]  #: each one's tries so far
    claimed_until: datetime  #: the claim (its fence)


class AlertsMixin(StoreBase):
    """The :class:`~bot.store.Store`'s part for alerts: problems begun and ended, what each channel was told."""

    def sync_alerts(self, find: Callable[[], Mapping[str, Problem]], now: datetime, channels: Sequence[str],
                    watched: Callable[[str], bool]) -> list[tuple[str, str]]:
        """Compare the problems now (``find()``, looked at under the write lock) with the open ones: each new one
        is opened, each that is gone is closed. A problem whose account or feed is no longer ``watched``
        (disabled, removed) is closed without a word (every channel is counted as told). One transaction, one
        process at a time. Returns the (key, event) changes (event ``closed`` for a quiet close)."""
        changed: list[tuple[str, str]] = []
        try:
            with self.engine.begin() as c:
                if self.postgres:
                    c.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ALERTS_LOCK})
                else:  # take SQLite's write lock first: the problems are looked at under it
                    c.execute(alerts.update().where(sa.false()).values(key=alerts.c.key))
                problems = find()
                open_ = {r.key: r for r in c.execute(sa.select(alerts).where(alerts.c.cleared_at.is_(None))).all()}
                for key, p in problems.items():
                    if key in open_:
                        continue
                    if c.execute(sa.select(alerts.c.key).where(alerts.c.key == key)).first() is None:
                        c.execute(alerts.insert().values(key=key, kind=p.kind, subject=p.subject, message=p.message,
                                                         cleared_message=p.cleared, raised_at=now, changed_at=now,
                                                         claims=0))
                    else:  # it happened before: opened again, in today's words
                        c.execute(alerts.update().where(alerts.c.key == key).values(
                            kind=p.kind, subject=p.subject, message=p.message, cleared_message=p.cleared,
                            raised_at=now, changed_at=now, cleared_at=None))
                    changed.append((key, "raised"))
                for key in open_:
                    if key in problems:
                        continue
                    c.execute(alerts.update().where(alerts.c.key == key).values(cleared_at=now, changed_at=now))
                    if watched(key):
                        changed.append((key, "cleared"))
                    else:  # its account or feed left the config: its end is not news
                        for channel in channels:
                            _told(c, key, channel, "cleared", now)
                        changed.append((key, "closed"))
        except sa.exc.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            log.warning("alerts: the SQLite database stayed busy (%s); comparing again at the next look", exc)
            return []
        return changed

    def open_alerts(self) -> list[Problem]:
        """The problems open now, oldest first."""
        with self.engine.connect() as c:
            rows = c.execute(sa.select(alerts).where(alerts.c.cleared_at.is_(None)).order_by(alerts.c.raised_at))
            return [Problem(r.key, r.kind, r.subject, r.message, r.cleared_message, r.raised_at) for r in rows]

    def claim_owed(self, now: datetime, channels: Sequence[str], lease: timedelta,
                   skip: Sequence[str] = ()) -> Owed | None:
        """A problem some channel is owed news of (and due to be tried: not pausing after a failure, not given
        up), claimed for ``lease`` by the database's clock; None when there is none. ``skip``: keys already
        handled in this pass."""
        if not channels:
            return None
        with self.engine.begin() as c:
            clock = db_now(c)
            free = sa.or_(alerts.c.claimed_until.is_(None), alerts.c.claimed_until < clock)
            rows = c.execute(sa.select(alerts).where(free, alerts.c.key.not_in(list(skip)) if skip else sa.true())
                             .order_by(alerts.c.changed_at)).all()
            told = _told_rows(c, [r.key for r in rows])
            for r in rows:
                event = "raised" if r.cleared_at is None else "cleared"
                due, attempts = [], {}
                for channel in channels:
                    t = told.get((r.key, channel))
                    last = t.told_event if t is not None and t.told_event else "cleared"
                    if last == event:
                        continue
                    if t is not None and t.given_up_at is not None and t.given_up_at >= r.changed_at:
                        continue  # given up on this news
                    if t is not None and t.not_before is not None and t.not_before > now:
                        continue  # pausing after a failure
                    due.append(channel)
                    attempts[channel] = t.attempts if t is not None else 0
                if not due:
                    continue
                until = clock + lease
                # Taken only if no one claimed it since it was read (a claim that came and went since, and told
                # the channels, would leave it free again: its count tells).
                taken = c.execute(alerts.update().where(alerts.c.key == r.key, free, alerts.c.claims == r.claims)
                                  .values(claimed_until=until, claims=alerts.c.claims + 1)).rowcount
                if taken:
                    return Owed(r.key, event, r.message if event == "raised" else r.cleared_message, r.changed_at,
                                tuple(due), attempts, until)
        return None

    def renew_owed(self, owed: Owed, lease: timedelta) -> Owed | None:
        """Renew the claim before the next channel (a slow one must not let it lapse); None when it was lost."""
        with self.engine.begin() as c:
            until = db_now(c) + lease
            if not c.execute(alerts.update().where(alerts.c.key == owed.key, alerts.c.claimed_until ==
                                                   owed.claimed_until).values(claimed_until=until)).rowcount:
                return None
        return Owed(owed.key, owed.event, owed.text, owed.changed_at, owed.channels, owed.attempts, until)

    def channel_told(self, owed: Owed, channel: str, now: datetime) -> None:
        """The channel took the news (what it now believes is ``owed.event``)."""
        with self.engine.begin() as c:
            _told(c, owed.key, channel, owed.event, now)

    def channel_failed(self, owed: Owed, channel: str, error: str, retry_at: datetime | None, now: datetime) -> None:
        """The channel did not take it: tried again from ``retry_at``, or (None) given up on this news."""
        with self.engine.begin() as c:
            _ensure(c, owed.key, channel)
            c.execute(alert_channels.update().where(alert_channels.c.key == owed.key,
                                                    alert_channels.c.channel == channel).values(
                attempts=alert_channels.c.attempts + 1, last_error=error, not_before=retry_at,
                given_up_at=None if retry_at is not None else now))

    def release_owed(self, owed: Owed) -> None:
        """End the claim."""
        with self.engine.begin() as c:
            c.execute(alerts.update().where(alerts.c.key == owed.key, alerts.c.claimed_until == owed.claimed_until)
                      .values(claimed_until=None))

    def told_channels(self) -> dict[tuple[str, str], str]:
        """What each channel was last told of each problem (for tests and status)."""
        with self.engine.connect() as c:
            return {(r.key, r.channel): r.told_event for r in c.execute(sa.select(alert_channels))
                    if r.told_event}

    def prune_alerts(self, cutoff: datetime) -> None:
        """Forget problems that ended before ``cutoff``, with what their channels were told."""
        with self.engine.begin() as c:
            old = sa.select(alerts.c.key).where(alerts.c.cleared_at < cutoff)
            c.execute(alert_channels.delete().where(alert_channels.c.key.in_(old)))
            c.execute(alerts.delete().where(alerts.c.cleared_at < cutoff))

    # Tokens.

    def record_token(self, account_id: str, expires_at: datetime | None, now: datetime) -> None:
        """What the platform said of the account's token: when it expires (None: never, or it does not say)."""
        with self.engine.begin() as c:
            _upsert_account(c, account_id, {"token_expires_at": expires_at, "token_checked_at": now}, now)

    def token_state(self, account_id: str) -> tuple[datetime | None, datetime | None]:
        """(when the account's token expires, when that was last asked), as recorded."""
        with self.engine.connect() as c:
            row = c.execute(sa.select(accounts.c.token_expires_at, accounts.c.token_checked_at)
                            .where(accounts.c.id == account_id)).first()
        return (row.token_expires_at, row.token_checked_at) if row else (None, None)


def _told_rows(c: Connection, keys: Sequence[str]) -> dict[tuple[str, str], sa.Row[tuple[object, ...]]]:
    if not keys:
        return {}
    return {(r.key, r.channel): r for r in c.execute(sa.select(alert_channels)
                                                    .where(alert_channels.c.key.in_(list(keys)))).all()}


def _ensure(c: Connection, key: str, channel: str) -> None:
    c.execute(_insert(c, alert_channels).values(key=key, channel=channel, attempts=0).on_conflict_do_nothing())


def _told(c: Connection, key: str, channel: str, event: str, now: datetime) -> None:
    _ensure(c, key, channel)
    c.execute(alert_channels.update().where(alert_channels.c.key == key, alert_channels.c.channel == channel)
              .values(told_event=event, told_at=now, attempts=0, not_before=None, last_error=None, given_up_at=None))
