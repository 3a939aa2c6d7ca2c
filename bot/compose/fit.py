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


def fit(template: str, values: Mapping[str, str], rule: LengthRule) -> str:
    current = dict(values)
    text = render(template, current)
    if rule.fits(text):
        return text

    excerpt = current.get("excerpt", "")
    if excerpt and "{excerpt}" in template:
        words = excerpt.split()

        def excerpt_ok(k: int) -> bool:
            return rule.fits(render(template, {**current, "excerpt": cut_words(words, k, True)}))

        k = _largest(1, len(words) - 1, excerpt_ok)
        if k is not None:
            return render(template, {**current, "excerpt": cut_words(words, k, True)})
        current["excerpt"] = ""
        text = render(template, current)
        if rule.fits(text):
            return text

    title = current.get("title", "")
    if title and "{title}" in template:
        words = title.split()

        def title_ok(k: int) -> bool:
            return rule.fits(render(template, {**current, "title": cut_words(words, k, True)}))

        k = _largest(1, len(words) - 1, title_ok)
        if k is not None:
            return render(template, {**current, "title": cut_words(words, k, True)})

    limit = f"{rule.max_length} {rule.name}"
    raise ComposeError(
        f"the post cannot fit in {limit} without cutting the link or inside a word "
        f"(the template and link alone take {rule.count(render(template, {**current, 'title': ''}))})"
    )
