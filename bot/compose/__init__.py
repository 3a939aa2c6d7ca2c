"""Composing posts: pure functions of (article, account, platform rules) → text. No I/O here."""

from __future__ import annotations

import re
import string
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
    tz: tzinfo = UTC, date_format: str = DEFAULT_DATE_FORMAT, post_id: int | None = None,
) -> dict[str, str]:
    """The template fields of an article (``{hashtags}`` is filled while fitting)."""
    pid = post_id if post_id is not None else id_from(article.guid, article.link)
    return {
        "title": article.title,
        "link": link or article.link,
        "short_link": short_link or link or article.link,
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
    date_format: str = DEFAULT_DATE_FORMAT,
) -> str:
    """The post for one account: the template filled and fitted to the platform's length rule; on a
    right-to-left site a post that starts with a left-to-right word gets a RIGHT-TO-LEFT MARK."""
    values = post_values(article, site_name, link=link, short_link=short_link, tz=tz, date_format=date_format)
    values = without_repeats(template, values)
    return fit(template, values, rule, hashtags=hashtags, finish=lambda text: mark_direction(text, direction))


#: What separates a label from the headline it opens: ``عاجل | …``, ``عاجل: …``, ``مباشر - …``.
_LABEL = re.compile(r"^\s*(?P<label>[^|:\-–—]{1,40}?)\s*[|:\-–—]\s+")


def _plain(text: str) -> str:
    """Letters, digits and symbols (emoji) only, for comparing: no spaces, punctuation, diacritics or tatweel."""
    return "".join(ch for ch in text if (ch.isalnum() and ch != "\u0640") or unicodedata.category(ch) == "So")


def without_repeats(template: str, values: dict[str, str]) -> dict[str, str]:
    """The template fields without what the post would say twice: a label the template already puts before
    ``{title}`` (``🔴 عاجل | {title}`` with a headline that opens ``عاجل | …``, or the same emoji), and an excerpt
    that only repeats the headline (WordPress's excerpt often opens with it)."""
    title = values.get("title", "")
    before = next((lit for lit, field, _, _ in string.Formatter().parse(template.split("{title}")[0] + "{title}")
                   if field == "title"), None)
    if before is not None:
        prefix = _plain(before.split("\n")[-1])
        label = _LABEL.match(title)
        if label and prefix and _plain(label["label"]) and _plain(label["label"]) in prefix:
            title = title[label.end():]
        head = title.split(" ", 1)
        while len(head) == 2 and head[0] and not _plain(head[0]).isalnum() and _plain(head[0]) \
                and _plain(head[0]) in prefix:  # a leading emoji the template already has
            title = head[1]
            head = title.split(" ", 1)
    excerpt = values.get("excerpt", "")
    if excerpt and title and _plain(excerpt).startswith(_plain(title)):
        rest = excerpt
        for word in title.split():  # drop the headline's words from the excerpt's start, then what separates
            rest = rest.lstrip(" \t\n").removeprefix(word) if _plain(rest).startswith(_plain(word)) else rest
        excerpt = rest.lstrip(" \t\n.:-–—|،")
    return {**values, "title": title, "excerpt": excerpt}


__all__ = ["LengthRule", "compose_post", "fit", "post_values", "without_repeats"]
