"""Alerts' state: which problems operators have been told of (open while they last), the outbox of messages
the alert channels drain, and accounts' token expiry."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.exc

from bot.store.accounts import _upsert_account
from bot.store.engine import StoreBase
from bot.store.records import AlertMessage, Problem
from bot.store.tables import accounts, alert_messages, alerts

log = logging.getLogger("bot.alerts")

#: Key of the PostgreSQL advisory lock under which one replica at a time compares problems with alerts.
_ALERTS_LOCK = 7_413_092_005


class AlertsMixin(StoreBase):
    """The :class:`~bot.store.Store`'s part for alerts: problems begun and ended, messages to send, tokens."""

    def sync_alerts(self, problems: Mapping[str, Problem], now: datetime) -> list[tuple[str, str]]:
        """Compare the problems now with the ones told: each new one is opened and a message queued for it,
        each that is gone is closed with its ending's message. One transaction (one replica at a time on
        PostgreSQL), so each beginning and end is told once. Returns the (key, event) pairs queued."""
        queued: list[tuple[str, str]] = []
        try:
            with self.engine.begin() as c:
                if self.postgres:
                    c.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ALERTS_LOCK})
                told = {r.key: r for r in c.execute(sa.select(alerts).where(alerts.c.cleared_at.is_(None)))}
                for key, p in problems.items():
                    if key in told:
                        continue
                    c.execute(alerts.delete().where(alerts.c.key == key, alerts.c.cleared_at.is_not(None)))
                    c.execute(alerts.insert().values(key=key, kind=p.kind, subject=p.subject, message=p.message,
                                                     cleared_message=p.cleared, raised_at=now))
                    c.execute(alert_messages.insert().values(alert_key=key, event="raised", text=p.message,
                                                             created_at=now, told=[], attempts=0))
                    queued.append((key, "raised"))
                for key, row in told.items():
                    if key in problems:
                        continue
                    ended = c.execute(alerts.update().where(alerts.c.key == key, alerts.c.cleared_at.is_(None))
                                      .values(cleared_at=now)).rowcount
                    if ended:
                        c.execute(alert_messages.insert().values(alert_key=key, event="cleared",
                                                                 text=row.cleared_message, created_at=now, told=[],
                                                                 attempts=0))
                        queued.append((key, "cleared"))
        except (sa.exc.IntegrityError, sa.exc.OperationalError) as exc:
            # SQLite: another process (a bot poll beside the daemon) compared at the same moment and wrote
            # first. Nothing was written here; the next look compares again.
            log.debug("alerts: another process wrote first (%s); comparing again at the next look", exc)
            return []
        return queued

    def open_alerts(self) -> list[Problem]:
        """The problems told and not yet over, oldest first."""
        with self.engine.connect() as c:
            rows = c.execute(sa.select(alerts).where(alerts.c.cleared_at.is_(None)).order_by(alerts.c.raised_at))
            return [Problem(r.key, r.kind, r.subject, r.message, r.cleared_message, r.raised_at) for r in rows]

    def claim_alert_messages(self, now: datetime, lease: timedelta, limit: int = 20) -> list[AlertMessage]:
        """The messages due to be sent, oldest first, claimed for ``lease`` (another replica passes them by)."""
        due = sa.and_(alert_messages.c.done_at.is_(None),
                      sa.or_(alert_messages.c.not_before.is_(None), alert_messages.c.not_before <= now))
        claimed: list[AlertMessage] = []
        with self.engine.begin() as c:
            rows = list(c.execute(sa.select(alert_messages).where(due).order_by(alert_messages.c.id).limit(limit)))
            for r in rows:  # each taken only if no one took it meanwhile (the same condition, in the write)
                if c.execute(alert_messages.update().where(alert_messages.c.id == r.id, due)
                             .values(not_before=now + lease)).rowcount:
                    claimed.append(AlertMessage(r.id, r.alert_key, r.event, r.text, r.created_at,
                                                tuple(r.told or ()), r.attempts))
        return claimed

    def alert_message_tried(self, message_id: int, told: list[str], error: str | None, now: datetime,
                            retry_at: datetime | None) -> None:
        """Record a try: the channels that have taken the message so far, and either when to try the rest again
        (``retry_at``) or, with None, that it is done (every channel took it, or it was given up)."""
        with self.engine.begin() as c:
            c.execute(alert_messages.update().where(alert_messages.c.id == message_id).values(
                told=told, last_error=error, attempts=alert_messages.c.attempts + 1,
                not_before=retry_at, done_at=None if retry_at else now))

    def alert_messages(self) -> list[AlertMessage]:
        """Every message kept, oldest first (for status and tests)."""
        with self.engine.connect() as c:
            rows = c.execute(sa.select(alert_messages).order_by(alert_messages.c.id))
            return [AlertMessage(r.id, r.alert_key, r.event, r.text, r.created_at, tuple(r.told or ()),
                                 r.attempts, r.last_error, r.done_at) for r in rows]

    def prune_alerts(self, cutoff: datetime) -> None:
        """Forget messages done before ``cutoff`` and problems that ended before it."""
        with self.engine.begin() as c:
            c.execute(alert_messages.delete().where(alert_messages.c.done_at < cutoff))
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
