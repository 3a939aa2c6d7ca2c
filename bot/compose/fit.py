"""Fitting a post to a length rule without ever cutting the link or a word.

What gives way, in order: the hashtags (the last first), the excerpt (cut at a word boundary, then
dropped), then the title (cut at a word boundary with ``…``, trailing punctuation removed first). The
link is never touched. If not even the title's first word and the link fit,
:class:`~bot.errors.ComposeError` says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

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


def fit(
    template: str, values: Mapping[str, str], rule: LengthRule, *, hashtags: Sequence[str] = (),
    finish: Callable[[str], str] = lambda text: text,
) -> str:
    """The template filled and fitted to ``rule``. ``hashtags`` fill ``{hashtags}`` (the last ones go first
    when room is short); ``finish`` is applied to the whole text before it is measured (a direction mark)."""
    current = {**values, "hashtags": " ".join(hashtags)}

    def build(changes: Mapping[str, str]) -> str:
        return finish(render(template, {**current, **changes}))

    def ok(text: str) -> bool:
        return rule.fits(text)

    text = build({})
    if ok(text):
        return text

    if hashtags and "{hashtags}" in template:
        k = _largest(0, len(hashtags) - 1, lambda k: ok(build({"hashtags": " ".join(hashtags[:k])})))
        if k is not None:
            return build({"hashtags": " ".join(hashtags[:k])})
        current["hashtags"] = ""

    for field, keep_at_least in (("excerpt", 0), ("title", 1)):
        if not current.get(field) or "{" + field + "}" not in template:
            continue
        words = current[field].split()

        def with_words(k: int, field: str = field, words: list[str] = words) -> str:
            return build({field: cut_words(words, k, True) if k else ""})

        k = _largest(max(1, keep_at_least), len(words) - 1, lambda k: ok(with_words(k)))
        if k is not None:
            return with_words(k)
        if keep_at_least == 0:
            current[field] = ""
            text = build({})
            if ok(text):
                return text

    limit = f"{rule.max_length} {rule.name}"
    raise ComposeError(
        f"the post cannot fit in {limit} without cutting the link or inside a word "
        f"(the template and link alone take {rule.count(build({'title': '', 'excerpt': '', 'hashtags': ''}))})"
    )
