"""Alerts' state: which problems operators have been told of (open while they last), the outbox of messages
the alert channels drain, and accounts' token expiry.

Each channel hears a problem's news in order, and its last word is the truth: a message is not sent while an
older one about the same problem is still owed, and when a problem begins or ends while its previous news is
still owed to some channels, that news is dropped for them, and so is the new one (they still believe what
is again true). Messages are claimed one at a time, by the database's clock."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy.engine import Connection

from bot.store.accounts import _upsert_account
from bot.store.engine import StoreBase, db_now
from bot.store.records import AlertMessage, Problem
from bot.store.tables import accounts, alert_messages, alerts

log = logging.getLogger("bot.alerts")

#: Key of the PostgreSQL advisory lock under which one replica at a time compares problems with alerts.
_ALERTS_LOCK = 7_413_092_005


class AlertsMixin(StoreBase):
    """The :class:`~bot.store.Store`'s part for alerts: problems begun and ended, messages to send, tokens."""

    def sync_alerts(self, find: Callable[[], Mapping[str, Problem]], now: datetime, channels: Sequence[str],
                    watched: Callable[[str], bool]) -> list[tuple[str, str]]:
        """Compare the problems now (``find()``, asked under the lock) with the ones told: each new one is
        opened and a message queued for it, each that is gone is closed with its ending's message. A problem
        whose account or feed is no longer ``watched`` (disabled, removed) is closed without a word. One
        transaction (one replica at a time on PostgreSQL), so each beginning and end is told once. Returns
        the (key, event) pairs queued (event ``closed`` for a quiet close)."""
        queued: list[tuple[str, str]] = []
        try:
            with self.engine.begin() as c:
                if self.postgres:
                    c.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ALERTS_LOCK})
                problems = find()
                told = {r.key: r for r in c.execute(sa.select(alerts).where(alerts.c.cleared_at.is_(None)))}
                for key, p in problems.items():
                    if key in told:
                        continue
                    c.execute(alerts.delete().where(alerts.c.key == key, alerts.c.cleared_at.is_not(None)))
                    c.execute(alerts.insert().values(key=key, kind=p.kind, subject=p.subject, message=p.message,
                                                     cleared_message=p.cleared, raised_at=now))
                    _queue(c, key, "raised", p.message, now, channels)
                    queued.append((key, "raised"))
                for key, row in told.items():
                    if key in problems:
                        continue
                    ended = c.execute(alerts.update().where(alerts.c.key == key, alerts.c.cleared_at.is_(None))
                                      .values(cleared_at=now)).rowcount
                    if not ended:
                        continue
                    if watched(key):
                        _queue(c, key, "cleared", row.cleared_message, now, channels)
                        queued.append((key, "cleared"))
                    else:  # its account or feed left the config: its end is not news
                        _supersede(c, key, now, channels)
                        queued.append((key, "closed"))
        except sa.exc.IntegrityError as exc:
            # Another process (a bot poll beside the daemon on SQLite) opened the same problem at the same
            # moment and wrote first. Nothing was written here; the next look compares again.
            log.debug("alerts: another process wrote first (%s); comparing again at the next look", exc)
            return []
        except sa.exc.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            log.debug("alerts: the SQLite database was busy (%s); comparing again at the next look", exc)
            return []
        return queued

    def open_alerts(self) -> list[Problem]:
        """The problems told and not yet over, oldest first."""
        with self.engine.connect() as c:
            rows = c.execute(sa.select(alerts).where(alerts.c.cleared_at.is_(None)).order_by(alerts.c.raised_at))
            return [Problem(r.key, r.kind, r.subject, r.message, r.cleared_message, r.raised_at) for r in rows]

    def claim_alert_message(self, now: datetime, lease: timedelta) -> AlertMessage | None:
        """The oldest message due (none older about its problem still owed), claimed for ``lease`` by the
        database's clock: another process passes it by meanwhile. None when nothing is due."""
        older = alert_messages.alias("older")
        with self.engine.begin() as c:
            clock = db_now(c)
            free = sa.or_(alert_messages.c.claimed_until.is_(None), alert_messages.c.claimed_until < clock)
            due = sa.and_(alert_messages.c.done_at.is_(None), free,
                          sa.or_(alert_messages.c.not_before.is_(None), alert_messages.c.not_before <= now),
                          ~sa.exists().where(older.c.alert_key == alert_messages.c.alert_key,
                                             older.c.id < alert_messages.c.id, older.c.done_at.is_(None)))
            # Read whole before writing: an open SQLite read would keep a snapshot the write could not upgrade.
            for r in c.execute(sa.select(alert_messages).where(due).order_by(alert_messages.c.id).limit(5)).all():
                until = clock + lease  # taken only if no one took it meanwhile (the same condition, in the write)
                if c.execute(alert_messages.update().where(alert_messages.c.id == r.id, due)
                             .values(claimed_until=until)).rowcount:
                    return AlertMessage(r.id, r.alert_key, r.event, r.text, r.created_at, tuple(r.told or ()),
                                        r.attempts, claimed_until=until)
        return None

    def alert_message_told(self, message: AlertMessage, channel: str) -> bool:
        """Record that ``channel`` took the message (at once, so a crash does not tell it again). False when
        the claim was lost (the message was superseded or taken over)."""
        with self.engine.begin() as c:
            row = c.execute(sa.select(alert_messages.c.told).where(
                alert_messages.c.id == message.id, alert_messages.c.claimed_until == message.claimed_until)).first()
            if row is None:
                return False
            told = [*(row.told or []), channel]
            return bool(c.execute(alert_messages.update().where(
                alert_messages.c.id == message.id, alert_messages.c.claimed_until == message.claimed_until)
                .values(told=told)).rowcount)

    def alert_message_tried(self, message: AlertMessage, error: str | None, now: datetime,
                            retry_at: datetime | None, *, count: bool = True) -> None:
        """End a try: either when to try the channels left again (``retry_at``) or, with None, that the message
        is done (every channel took it, or it was given up). ``count=False``: not a try (the bot is stopping)."""
        values: dict[str, object] = {"claimed_until": None, "not_before": retry_at,
                                     "done_at": None if retry_at else now}
        if count:
            values.update(last_error=error, attempts=alert_messages.c.attempts + 1)
        with self.engine.begin() as c:
            c.execute(alert_messages.update().where(alert_messages.c.id == message.id,
                                                    alert_messages.c.claimed_until == message.claimed_until,
                                                    alert_messages.c.done_at.is_(None)).values(**values))

    def release_alert_message(self, message: AlertMessage) -> None:
        """Give the claim back untried (the bot is stopping)."""
        with self.engine.begin() as c:
            c.execute(alert_messages.update().where(alert_messages.c.id == message.id,
                                                    alert_messages.c.claimed_until == message.claimed_until)
                      .values(claimed_until=None))

    def alert_messages(self) -> list[AlertMessage]:
        """Every message kept, oldest first (for status and tests)."""
        with self.engine.connect() as c:
            rows = c.execute(sa.select(alert_messages).order_by(alert_messages.c.id))
            return [AlertMessage(r.id, r.alert_key, r.event, r.text, r.created_at, tuple(r.told or ()),
                                 r.attempts, r.last_error, r.done_at) for r in rows]

    def prune_alerts(self, cutoff: datetime) -> None:
        """Forget messages done, or made, before ``cutoff`` (one never finished: alerts turned off) and problems
        that ended before it."""
        with self.engine.begin() as c:
            c.execute(alert_messages.delete().where(sa.or_(alert_messages.c.done_at < cutoff,
                                                           alert_messages.c.created_at < cutoff)))
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


def _supersede(c: Connection, key: str, now: datetime, channels: Sequence[str]) -> list[str]:
    """The problem's news changed again: its message still owed (if not being sent right now) is done, for
    the channels that took it; returns the channels that did not (they never heard it, so their last word is
    what is true again)."""
    clock = db_now(c)
    pending = c.execute(sa.select(alert_messages).where(
        alert_messages.c.alert_key == key, alert_messages.c.done_at.is_(None),
        sa.or_(alert_messages.c.claimed_until.is_(None), alert_messages.c.claimed_until < clock))
        .order_by(alert_messages.c.id.desc())).first()
    if pending is None:
        return []
    c.execute(alert_messages.update().where(alert_messages.c.id == pending.id).values(
        done_at=now, last_error="superseded: the problem changed again before every channel was told"))
    return [ch for ch in channels if ch not in (pending.told or [])]


def _queue(c: Connection, key: str, event: str, text: str, now: datetime, channels: Sequence[str]) -> None:
    skip = _supersede(c, key, now, channels)
    done = now if channels and set(skip) >= set(channels) else None  # no channel needs it
    c.execute(alert_messages.insert().values(alert_key=key, event=event, text=text, created_at=now, told=skip,
                                             attempts=0, done_at=done))
