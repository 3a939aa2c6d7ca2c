"""The records at the store's edge: what it hands out and takes in. No SQLAlchemy objects leave the store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.models import Article


@dataclass(frozen=True)
class FeedState:
    id: str
    url: str
    initialized: bool
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    failures: int
    next_poll_at: datetime | None
    lease_owner: str | None = None
    leased_until: datetime | None = None


@dataclass(frozen=True)
class KnownArticle:
    id: int
    article: Article
    item_hash: str | None = None


@dataclass(frozen=True)
class PlannedDelivery:
    guid: str
    account_id: str
    priority: int = 0
    skip: str | None = None  #: why the account does not take it (recorded as skipped)


@dataclass(frozen=True)
class PollPlan:
    """What a poll decided: articles to add or update, the deliveries the new ones get, and the sent
    deliveries to send again because the headline was edited (``repost_on_edit``)."""

    new: Sequence[Article] = ()
    edited: Sequence[Article] = ()
    deliveries: Sequence[PlannedDelivery] = ()
    reposts: Sequence[tuple[str, str]] = ()  #: (guid, account id)


@dataclass(frozen=True)
class DeliveryForDispatch:
    id: int
    account_id: str
    attempts: int  #: including the attempt this claim starts
    text: str | None  #: frozen at the first attempt; None when this is the first
    article: Article
    article_id: int
    created_at: datetime | None = None


@dataclass(frozen=True)
class DeliveryRow:
    """A delivery as status and tests see it."""

    id: int
    account_id: str
    feed_id: str
    guid: str
    title: str
    state: str
    attempts: int
    text: str | None
    not_before: datetime | None
    remote_id: str | None
    remote_url: str | None
    note: str | None
    last_error: str | None
    sent_at: datetime | None
    created_at: datetime | None = None
    created_by: str | None = None
    priority: int = 0
    published: datetime | None = None


@dataclass(frozen=True)
class Event:
    at: datetime
    event: str
    detail: str | None
    by: str | None


@dataclass(frozen=True)
class AccountState:
    id: str
    held: bool
    held_reason: str | None
    held_at: datetime | None
    not_before: datetime | None


def _article_values(a: Article) -> dict[str, Any]:
    return {"guid": a.guid, "title": a.title, "link": a.link, "summary": a.summary, "author": a.author,
            "labels": list(a.labels), "image_urls": list(a.image_urls)}


def _article(r: Any) -> Article:
    return Article(
        feed_id=r["feed_id"], guid=r["guid"], title=r["title"], link=r["link"], summary=r["summary"],
        author=r["author"], published=r["published_at"], labels=tuple(r["labels"] or ()),
        image_urls=tuple(r["image_urls"] or ()),
        categories=None if r["categories"] is None else tuple(r["categories"]),
        tags=None if r["tags"] is None else tuple(r["tags"]),
        featured_image=r["featured_image"],
        excerpt=r["excerpt"],
    )
