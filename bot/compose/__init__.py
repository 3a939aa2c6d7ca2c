"""Composing posts: pure functions of (article, account, platform rules) → text. No I/O here."""

from __future__ import annotations

from collections.abc import Sequence

from bot.compose.fit import fit
from bot.compose.length import LengthRule
from bot.compose.text import mark_direction
from bot.models import Article


def post_values(article: Article, site_name: str) -> dict[str, str]:
    """The template fields of an article."""
    return {
        "title": article.title,
        "link": article.link,
        "short_link": article.link,
        "excerpt": article.summary,
        "site_name": site_name,
    }


def compose_post(
    article: Article, template: str, site_name: str, rule: LengthRule, *, direction: str = "ltr",
    hashtags: Sequence[str] = (),
) -> str:
    """The post for one account: the template filled and fitted to the platform's length rule; on a
    right-to-left site a post that starts with a left-to-right word gets a RIGHT-TO-LEFT MARK."""
    return fit(template, post_values(article, site_name), rule, hashtags=hashtags,
               finish=lambda text: mark_direction(text, direction))


__all__ = ["LengthRule", "compose_post", "fit", "post_values"]
