"""Time, injectable: the bot reads the time only through a Clock, so tests control it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol


class Clock(Protocol):
    """What tells the time: the system's, or a test's :class:`ManualClock`."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to (for tests and simulations)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        with self._lock:
            self._now += step
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when.astimezone(UTC)


def wall_time(naive: datetime, tz: tzinfo) -> datetime:
    """A time as a person writes it on the clock of ``tz``, made aware; ValueError for a time that clock skips
    (when it goes forward) or shows twice (when it goes back), so a schedule is never silently moved."""
    first, second = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        later = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        if later != naive:
            raise ValueError(f"{naive:%Y-%m-%d %H:%M} does not happen in {tz} (its clocks go forward then)")
        raise ValueError(f"{naive:%Y-%m-%d %H:%M} happens twice in {tz} (its clocks go back then): give the time "
                         "with its UTC offset, or another minute")
    return first
