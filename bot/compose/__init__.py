"""Composing posts: pure functions of (article, account, platform rules) → text. No I/O here."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import tzinfo
from zoneinfo import ZoneInfo

from bot.compose.fit import fit
from bot.compose.ids import post_id as id_from
from bot.compose.length import LengthRule
from bot.compose.text import mark_direction
from bot.models import Article

DEFAULT_DATE_FORMAT = "%Y-%m-%d %H:%M"
UTC = ZoneInfo("UTC")


def post_values(
    article: Article, site_name: str, *, link: str | None = None, short_link: str | None = None,
    tz: tzinfo = UTC, date_format: str = DEFAULT_DATE_FORMAT, post_id: int | None = None, with_link: bool = True,
) -> dict[str, str]:
    """The template fields of an article (``{hashtags}`` is filled while fitting). ``with_link=False``: the
    link fields are empty (a line of only them is dropped), for a post that goes without its link."""
    pid = post_id if post_id is not None else id_from(article.guid, article.link)
    return {
        "title": article.title,
        "link": (link or article.link) if with_link else "",
        "short_link": (short_link or link or article.link) if with_link else "",
        "excerpt": article.excerpt or article.summary,
        "site_name": site_name,
        "author": article.author,
        "date": article.published.astimezone(tz).strftime(date_format) if article.published else "",
        "categories": "، ".join(article.category_names),
        "id": "" if pid is None else str(pid),
    }


def compose_post(
    article: Article, template: str, site_name: str, rule: LengthRule, *, direction: str = "ltr",
    hashtags: Sequence[str] = (), link: str | None = None, short_link: str | None = None, tz: tzinfo = UTC,
    date_format: str = DEFAULT_DATE_FORMAT, with_link: bool = True,
) -> str:
    """The post for one account: the template filled and fitted to the platform's length rule; on a
    right-to-left site a post that starts with a left-to-right word gets a RIGHT-TO-LEFT MARK. Without its
    link (``with_link=False``) the headline may use the room the link took."""
    values = post_values(article, site_name, link=link, short_link=short_link, tz=tz, date_format=date_format,
                         with_link=with_link)
    if not with_link:
        template = without_link_lines(template)
    values = without_repeats(template, values)
    return fit(template, values, rule, hashtags=hashtags, finish=lambda text: mark_direction(text, direction))


#: A template field that shows the article's link (``{link}``, ``{short_link}``, WP Twitter Auto Publish's
#: ``{PERMALINK}``, with or without a format).
_LINK_FIELD = re.compile(r"(?<!\{)\{(?:link|short_link|PERMALINK)(?:[!:][^}]*)?\}(?!\})")

_FIELD = re.compile(r"(?<!\{)\{[A-Za-z_]+(?:[!:][^}]*)?\}(?!\})")


def without_link_lines(template: str) -> str:
    """The template for a post that goes without its link: a line that only shows the link goes, whatever it
    says around it ("🔗 {short_link}", "اقرأ المزيد: {link}"); in a line with other fields, only the link field
    goes ("{title} {short_link}")."""
    kept = []
    for line in template.split("\n"):
        if not _LINK_FIELD.search(line):
            kept.append(line)
        elif any(not _LINK_FIELD.fullmatch(f) for f in _FIELD.findall(line)):
            kept.append(_LINK_FIELD.sub("", line).rstrip())
    return "\n".join(kept)


def with_link_line(template: str, line: str | None) -> str:
    """The template for a platform whose links are not clickable (Instagram): where it shows the article's link,
    the post says ``line`` instead ("🔗 الرابط في الملف الشخصي", or "🔗 {short_link}" for the bare address). A line
    that only shows the link, whatever it says around it, becomes ``line``; in a line with other fields the link
    field is replaced by it. ``line`` None: the link lines go, as for a post without its link."""
    if line is None:
        return without_link_lines(template)
    kept = []
    for text in template.split("\n"):
        if _LINK_FIELD.search(text) and all(_LINK_FIELD.fullmatch(f) for f in _FIELD.findall(text)):
            kept.append(line)
        else:
            kept.append(_LINK_FIELD.sub(lambda _m: line, text))
    return "\n".join(kept)


#: What separates a label from the headline it opens: ``عاجل | …``, ``عاجل: …``, ``مباشر - …``.
_LABEL = re.compile(r"^\s*(?P<label>[^|:\-–—]{1,40}?)\s*[|:\-–—]\s+")


def _plain(text: str) -> str:
    """Letters, digits and symbols (emoji) only, for comparing: no spaces, punctuation, diacritics or tatweel."""
    return "".join(ch for ch in text if (ch.isalnum() and ch != "\u0640") or unicodedata.category(ch) == "So")


def _words(text: str) -> list[str]:
    """A text's words, each as :func:`_plain` compares it (separators and empty words left out)."""
    return [w for w in (_plain(t) for t in re.split(r"[\s|:\-–—،.]+", text)) if w]


def without_repeats(template: str, values: dict[str, str]) -> dict[str, str]:
    """The template fields without what the post would say twice: a label the template already puts before
    ``{title}`` (``🔴 عاجل | {title}`` with a headline that opens ``عاجل | …``, or the same emoji), and an excerpt
    that only repeats the headline (WordPress's excerpt often opens with it). Whole words only."""
    title = values.get("title", "")
    before = template.split("{title}")[0] if "{title}" in template else None
    if before is not None:
        line = before.split("\n")[-1]
        prefix_words = _words(line)
        label = _LABEL.match(title)
        if label and prefix_words and _words(label["label"]) and \
                " ".join(_words(label["label"])) in {" ".join(prefix_words[i:i + len(_words(label["label"]))])
                                                    for i in range(len(prefix_words))}:
            title = title[label.end():]
        tokens = line.split()
        head = title.split(" ", 1)
        while len(head) == 2 and head[0] in tokens and not any(ch.isalnum() for ch in head[0]):
            title = head[1]  # a leading emoji, exactly as the template already has it
            head = title.split(" ", 1)
    excerpt = values.get("excerpt", "")
    title_words, excerpt_tokens = _words(title), excerpt.split()
    if excerpt and title_words:
        taken, kept = 0, 0
        for i, token in enumerate(excerpt_tokens):  # the excerpt's first words, word for word the headline's
            words = _words(token)
            if not words:
                continue
            if title_words[taken:taken + len(words)] != words:
                break
            taken += len(words)
            kept = i + 1
            if taken == len(title_words):
                excerpt = " ".join(excerpt_tokens[kept:]).lstrip(" .:-–—|،")
                break
    return {**values, "title": title, "excerpt": excerpt}


__all__ = ["LengthRule", "compose_post", "fit", "post_values", "with_link_line", "without_link_lines",
           "without_repeats"]
