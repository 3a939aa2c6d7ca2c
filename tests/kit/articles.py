"""Articles for the unit tests that skip the feed (store, dispatch, replicas): ``site_article(n, title)`` is post
``n`` of the sample site, with its guid and link ``https://news.example/?p=N``."""

from __future__ import annotations

from datetime import datetime

from bot.models import Article

from .wordpress import SITE


def site_article(n: int, title: str, *, feed: str = "main", published: datetime | None = None) -> Article:
    """Post ``n`` of the sample site as the feed ``feed`` gives it."""
    return Article(feed_id=feed, guid=f"{SITE}/?p={n}", title=title, link=f"{SITE}/?p={n}", published=published)
