"""Fitting a post to a length rule without ever cutting the link or a word.

What gives way, in order: the excerpt (cut at a word boundary, then dropped), then the title (cut at a
word boundary with ``…``, trailing punctuation removed first). The link is never touched. If not even the
title's first word and the link fit, :class:`~bot.errors.ComposeError` says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.compose.length import LengthRule
from bot.compose.template import render
from bot.errors import ComposeError

ELLIPSIS = "…"
#: Stripped from the end of a cut text before the ellipsis: no "الحوار،…" or "CENTCOM:…".
TRAILING_PUNCTUATION = " \t,.;:!?،؛؟-–—|/\\([{«‹\"'“‘„*_~…&+"


def cut_words(words: list[str], keep: int, ellipsis: bool) -> str:
    """The first ``keep`` words, with trailing punctuation removed and ``…`` added when asked."""
    text = " ".join(words[:keep])
    stripped = text.rstrip(TRAILING_PUNCTUATION)
    if not stripped:
        stripped = text
    return stripped + ELLIPSIS if ellipsis else stripped


def _largest(lo: int, hi: int, ok: Callable[[int], bool]) -> int | None:
    """The largest k in [lo, hi] with ok(k), assuming ok is true up to some k and false after it."""
    best = None
    while lo <= hi:
        mid = (lo + hi) // 2
        if ok(mid):
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    return best


def _shrink(template: str, values: Mapping[str, str], field: str, rule: LengthRule) -> str | None:
    """The post with ``field`` cut to as many whole words as fit (at least one), or None if none fit."""
    words = values[field].split()

    def with_words(k: int) -> str:
        return render(template, {**values, field: cut_words(words, k, True)})

    k = _largest(1, len(words) - 1, lambda k: rule.fits(with_words(k)))
    return None if k is None else with_words(k)


def fit(template: str, values: Mapping[str, str], rule: LengthRule) -> str:
    current = dict(values)
    text = render(template, current)
    if rule.fits(text):
        return text

    if current.get("excerpt") and "{excerpt}" in template:
        shrunk = _shrink(template, current, "excerpt", rule)
        if shrunk is not None:
            return shrunk
        current["excerpt"] = ""
        text = render(template, current)
        if rule.fits(text):
            return text

    if current.get("title") and "{title}" in template:
        shrunk = _shrink(template, current, "title", rule)
        if shrunk is not None:
            return shrunk

    limit = f"{rule.max_length} {rule.name}"
    raise ComposeError(
        f"the post cannot fit in {limit} without cutting the link or inside a word "
        f"(the template and link alone take {rule.count(render(template, {**current, 'title': ''}))})"
    )
