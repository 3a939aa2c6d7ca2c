"""Composing posts: pure functions of (article, account, platform rules) → text. No I/O here."""

from __future__ import annotations

from bot.compose.fit import fit
from bot.compose.length import LengthRule
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


def compose_post(article: Article, template: str, site_name: str, rule: LengthRule) -> str:
    """The post for one account: the template filled and fitted to the platform's length rule."""
    return fit(template, post_values(article, site_name), rule)


__all__ = ["LengthRule", "compose_post", "fit", "post_values"]
