"""Test time: ``T0``, the moment every fixture is dated on, and ``manual_clock``, the bot's ManualClock set
to it (what the ``clock`` fixture gives a test)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.clock import ManualClock

T0 = datetime(2026, 11, 29, 6, 0, 0, tzinfo=UTC)  # the fixtures are all dated 2026-11-29


def manual_clock(at: datetime = T0) -> ManualClock:
    """A clock that moves only when the test moves it, at ``at`` (T0 unless told)."""
    return ManualClock(at)
