"""The feed stage: from a site's feeds to stored articles and the deliveries they owe.

- ``fetch``: conditional GET (urllib3, kept-alive), limits, ``file:`` feeds, the body hash
- ``prescan``: split a body into items and hash each, so only new or edited items are parsed
- ``parse``: feedparser into :class:`~bot.models.Article`
- ``poll``: one poll of one feed: lease → fetch → prescan → parse → ``plan_poll`` (pure) → store
- ``wordpress``: the WordPress REST API (real categories and tags, featured image, excerpt)
- ``pages``: an article's own page (``og:`` tags, ``rel=shortlink``), for ``bot post --url``
"""

from bot.feeds.fetch import FeedClient, Fetched, content_hash, fetch, new_session
from bot.feeds.parse import ParsedFeed, parse

__all__ = ["FeedClient", "Fetched", "ParsedFeed", "content_hash", "fetch", "new_session", "parse"]
