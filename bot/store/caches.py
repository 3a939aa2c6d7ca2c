"""What the store keeps to save asking again (short links, the WordPress REST API's answer per article),
and retention: pruning what is finished and old."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.models import DeliveryState
from bot.store.engine import (
    StoreBase,
)
from bot.store.tables import articles, deliveries, events, feeds, short_links


class CachesMixin(StoreBase):
    """The :class:`~bot.store.Store`'s part for caches (short links, the REST API's answers) and retention."""

    # The WordPress REST API's answer, cached on the article.

    def api_checked(self, article_id: int) -> bool:
        with self.engine.connect() as c:
            return c.execute(sa.select(articles.c.api_checked_at).where(
                articles.c.id == article_id)).scalar() is not None

    def record_api_data(self, article_id: int, now: datetime, categories: Sequence[str] | None = None,
                        tags: Sequence[str] | None = None, featured_image: str | None = None,
                        excerpt: str | None = None, say: tuple[bool, str, dict[str, str], bool] | None = None) -> None:
        """Note that the REST API was asked; with what it said when it answered, and the editor's say (share,
        text, texts per network, breaking) in the same write: no send ever sees the one without the other."""
        values: dict[str, Any] = {"api_checked_at": now}
        if say is not None:
            share, text, texts, breaking = say
            values.update(editor_share=share, editor_text=text or None, editor_texts=dict(texts) or None,
                          editor_breaking=breaking)
        if categories is not None:
            values["categories"] = list(categories)
        if tags is not None:
            values["tags"] = list(tags)
        if featured_image is not None:
            values["featured_image"] = featured_image
        if excerpt:
            values["excerpt"] = excerpt
        with self.engine.begin() as c:
            c.execute(articles.update().where(articles.c.id == article_id).values(**values))

    # Retention.

    def prune(self, cutoff: datetime) -> tuple[int, int]:
        """Delete finished deliveries (sent, failed, skipped, deleted) last changed before ``cutoff``, and
        articles first seen and published before it, not in their feed since, that no delivery needs any more.
        Nothing waiting or in doubt is touched, and nothing still in a feed. Returns (deliveries, articles)
        deleted."""
        finished = [DeliveryState.SENT.value, DeliveryState.FAILED.value, DeliveryState.SKIPPED.value,
                    DeliveryState.DELETED.value]
        with self.engine.begin() as c:
            old = sa.select(deliveries.c.id).where(deliveries.c.state.in_(finished), deliveries.c.updated_at < cutoff)
            c.execute(events.delete().where(events.c.delivery_id.in_(old)))
            gone = c.execute(deliveries.delete().where(deliveries.c.state.in_(finished),
                                                       deliveries.c.updated_at < cutoff)).rowcount or 0
            needed = sa.select(deliveries.c.article_id)
            # An article still in its feed (its item was in the last body read) is kept however old: pruned,
            # it would be new again. So is one seen in its feed within the retention period.
            in_feed = sa.exists().where(feeds.c.id == articles.c.feed_id, feeds.c.last_body_at.is_not(None),
                                        articles.c.last_seen_at >= feeds.c.last_body_at)
            dropped = c.execute(articles.delete().where(
                articles.c.first_seen_at < cutoff, articles.c.published_at < cutoff,
                sa.or_(articles.c.last_seen_at.is_(None), articles.c.last_seen_at < cutoff), ~in_feed,
                articles.c.id.not_in(needed))).rowcount or 0
            c.execute(short_links.delete().where(short_links.c.created_at < cutoff))
        return int(gone), int(dropped)

    # Short links (a cache: the same long link gets the same short link on every account and retry).

    def cached_short_link(self, kind: str, url: str) -> str | None:
        with self.engine.connect() as c:
            short: str | None = c.execute(sa.select(short_links.c.short).where(
                short_links.c.kind == kind, short_links.c.url == url)).scalar()
        return short

    def cache_short_link(self, kind: str, url: str, short: str, now: datetime) -> None:
        with self.engine.begin() as c:
            if c.execute(sa.select(short_links.c.short).where(
                    short_links.c.kind == kind, short_links.c.url == url)).first() is None:
                c.execute(short_links.insert().values(kind=kind, url=url, short=short, created_at=now))
