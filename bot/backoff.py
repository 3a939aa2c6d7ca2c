"""Exponential backoff with jitter, capped. Pure: the random draw is passed in."""

from __future__ import annotations

from datetime import timedelta


def backoff(failures: int, base: timedelta, cap: timedelta, draw: float) -> timedelta:
    """Delay before try number ``failures + 1``: base·2^(failures-1), at most ``cap``, times 0.8–1.2.

    ``draw`` is a number in [0, 1) (``random.random()``), so that many clients do not retry in step.
    """
    if failures < 1:
        return timedelta(0)
    delay = min(cap, base * (1 << min(failures - 1, 30)))
    return delay * (0.8 + 0.4 * draw)
