"""Composing posts: pure functions of (article, account, platform rules) → text. No I/O here."""

from __future__ import annotations

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
    return fit(template, values, rule, hashtags=hashtags, finish=lambda text: mark_direction(text, direction))


__all__ = ["LengthRule", "compose_post", "fit", "post_values"]
