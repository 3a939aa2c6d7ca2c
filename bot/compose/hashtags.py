"""Hashtags from categories and tags, made so that X (and every other platform) sees each one whole.

An Arabic category name becomes a hashtag by dropping diacritics (U+064B–U+065F, U+0670) and tatweel
(U+0640), turning spaces and hyphens into ``_``, and dropping punctuation (``«»،؛؟`` among it): what is
left is letters, digits and ``_``, with at least one letter. ``الشرق الأوسط`` → ``#الشرق_الأوسط``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import regex

from bot.compose.text import clean_text

_DIACRITICS = regex.compile(r"[\u064B-\u065F\u0670\u0640]")
_SEPARATORS = regex.compile(r"[\s\-\u2010-\u2015\u2212_]+")
_NOT_TAG = regex.compile(r"[^\p{L}\p{M}\p{Nd}_\u200c]+")  # marks of other scripts and ZWNJ stay

# twitter-text's hashtag grammar (the characters X accepts inside a hashtag).
_X_SPECIAL = "_\u200c\u200d\ua67e\u05be\u05f3\u05f4\uff5e\u301c\u309b\u309c\u30a0\u30fb\u3003\u0f0b\u0f0c\u00b7"
_X_ALNUM = rf"[\p{{L}}\p{{M}}\p{{Nd}}{_X_SPECIAL}]"
_X_HASHTAG = regex.compile(rf"[#＃](?!\ufe0f|\u20e3){_X_ALNUM}*[\p{{L}}\p{{M}}]{_X_ALNUM}*")
_X_HASHTAG_IN_TEXT = regex.compile(
    rf"(?<![&\p{{L}}\p{{M}}\p{{Nd}}{_X_SPECIAL}])[#＃](?!\ufe0f|\u20e3)({_X_ALNUM}*[\p{{L}}\p{{M}}]{_X_ALNUM}*)"
)


def is_x_hashtag(text: str) -> bool:
    """Whether the whole of ``text`` is one hashtag as X recognises it (``#1st`` yes, ``#12345`` no)."""
    return _X_HASHTAG.fullmatch(text) is not None


def hashtag_spans(text: str) -> list[tuple[int, int, str]]:
    """Where X-style hashtags stand in a text: (start, end, tag without #), in characters."""
    return [(m.end() - len(m.group(1)) - 1, m.end(), m.group(1)) for m in _X_HASHTAG_IN_TEXT.finditer(text)]


def count_hashtags(text: str) -> int:
    """How many hashtags a text has, every one counted (a tag written twice counts twice), found as X finds them
    (Instagram, which limits them, does not document its own grammar; letters, digits and ``_`` after ``#`` are
    a hashtag on both)."""
    return sum(1 for _ in _X_HASHTAG_IN_TEXT.finditer(text))


def hashtags_in(text: str) -> set[str]:
    """The hashtags X would find in a text, without ``#``, case-folded."""
    return {m.group(1).casefold() for m in _X_HASHTAG_IN_TEXT.finditer(text)}


def hashtag(name: str) -> str | None:
    """``#tag`` for a category or tag name, or None when nothing usable is left (no letter in it)."""
    text = _DIACRITICS.sub("", clean_text(name).lstrip("#＃"))
    text = _SEPARATORS.sub("_", text)
    text = _NOT_TAG.sub("", text)
    text = regex.sub("_+", "_", text).strip("_")
    if not regex.search(r"\p{L}", text):
        return None
    return "#" + text


def make_hashtags(
    names: Iterable[str], *, limit: int | None = None, exclude: Iterable[str] = (),
    mapping: Mapping[str, str] | None = None, always: Iterable[str] = (), text: str = "",
) -> list[str]:
    """Hashtags for a post: ``always`` first, then one per name (``mapping`` renames, ``exclude`` drops),
    no duplicates, none the post's ``text`` already has (a title with ``#العراق``), at most ``limit``."""
    mapping = mapping or {}
    excluded = {_key(e) for e in exclude}
    present = hashtags_in(text)
    out: list[str] = []
    seen: set[str] = set()
    for name in [*always, *names]:
        if _key(name) in excluded:
            continue
        tag = hashtag(mapping.get(name, name))
        if tag is None:
            continue
        folded = tag[1:].casefold()
        if folded in seen or folded in present:
            continue
        seen.add(folded)
        out.append(tag)
    return out if limit is None else out[:limit]


def tag_keywords(title: str, keywords: Iterable[str]) -> str:
    """The title with the first whole-word occurrence of each keyword made a hashtag:
    ``("العراق يوقع اتفاقاً", ["العراق"])`` → ``#العراق يوقع اتفاقاً``. A keyword inside a longer word
    (``والعراق``) is left alone, and so is one the title already has as a hashtag."""
    for keyword in keywords:
        tag = hashtag(keyword)
        if tag is None or tag[1:].casefold() in hashtags_in(title):
            continue
        words = r"\s+".join(regex.escape(w) for w in clean_text(keyword).split())
        pattern = regex.compile(rf"(?<![\p{{L}}\p{{M}}\p{{Nd}}_#＃]){words}(?![\p{{L}}\p{{M}}\p{{Nd}}_])",
                                regex.IGNORECASE)
        title = pattern.sub(lambda m: "#" + regex.sub(r"\s+", "_", m.group(0)), title, count=1)
    return title


def same_name(a: str, b: str) -> bool:
    """Whether two category names are the same, ignoring diacritics, tatweel, case and a leading #."""
    return _key(a) == _key(b)


def _key(name: str) -> str:
    """Names compare without diacritics, tatweel, case or a leading #."""
    return _DIACRITICS.sub("", clean_text(name).lstrip("#＃")).casefold()
