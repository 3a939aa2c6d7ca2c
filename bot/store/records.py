"""The records at the store's edge: what it hands out and takes in. No SQLAlchemy objects leave the store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.compose.ids import link_key, post_key
from bot.models import Article


@dataclass(frozen=True)
class FeedState:
    """A feed's row: what its polls left behind (validators, errors, backoff) and who polls it now."""

    id: str  #: the config's id of the feed
    url: str  #: its address at the last poll
    initialized: bool  #: its first successful poll is done (the first start marks what it holds as seen)
    etag: str | None  #: the server's ETag, for the next conditional GET
    last_modified: str | None  #: the server's Last-Modified, likewise
    body_hash: str | None  #: of the last body without what moves on its own (``feeds.fetch.content_hash``)
    last_poll_at: datetime | None  #: the last poll, successful or not
    last_success_at: datetime | None  #: the last poll that read the feed
    last_error: str | None  #: why the last poll failed; None after a success
    failures: int  #: failed polls in a row
    next_poll_at: datetime | None  #: while backing off after failures: not before this
    lease_owner: str | None = None  #: the process polling it now (``host:pid:tag``)
    leased_until: datetime | None = None  #: until when that poll lease holds
    catch_up_since: datetime | None = None  #: a catch-up over older pages began then and has not finished
    last_body_at: datetime | None = None  #: the last poll that read a body (its articles are in the feed)


@dataclass(frozen=True)
class KnownArticle:
    """An article the store has already, as a poll's decision sees it."""

    id: int  #: its row's id
    article: Article  #: as stored
    item_hash: str | None = None  #: of the feed item it was last parsed from (``feeds.prescan``)


@dataclass(frozen=True)
class PlannedDelivery:
    """One delivery a poll decided on: an article for an account."""

    guid: str  #: the article's
    account_id: str
    priority: int = 0  #: higher goes first when an account's quota is short
    skip: str | None = None  #: why the account does not take it (recorded as skipped)
    approval: str | None = None  #: why it waits for a person's approval (``policy.approval_reason``); None: no wait
    settle: timedelta = timedelta(0)  #: how long it waits for quick fixes on the site first (the account's ``settle``)


@dataclass(frozen=True)
class Correcting:
    """What one account does with a correction on the site of an article it posted (``policy.edit_action``)."""

    account_id: str
    platform: str  #: the post's text is compared with the article's text for it (``Article.text_for``)
    action: str  #: update | repost | ignore
    why: str  #: the config that says so (``on_edit: update``, ``X cannot edit posts: on_edit_fallback: repost``)
    approval: str | None = None  #: a repost waits for approval, and why


@dataclass(frozen=True)
class PollPlan:
    """What a poll decided: articles to add or update, the deliveries the new ones get, and what each account
    does with a correction of an article it posted."""

    new: Sequence[Article] = ()  #: articles seen for the first time
    edited: Sequence[Article] = ()  #: known articles whose feed item changed
    deliveries: Sequence[PlannedDelivery] = ()  #: for the new ones
    corrections: Mapping[str, Sequence[Correcting]] = field(default_factory=dict)  #: by guid: headline changed

    held_back: Sequence[str] = ()  #: guids that look new but are not news (recorded as skipped, not posted)


#: A post made by hand goes before the feed's (and carries its link under an X account's link policy).
MANUAL_PRIORITY = 100


@dataclass(frozen=True)
class DeliveryForDispatch:
    """A delivery the dispatcher has claimed, with what it needs to send it."""

    id: int  #: the delivery's id (publishers derive idempotency keys from it)
    account_id: str
    attempts: int  #: including the attempt this claim starts
    text: str | None  #: frozen at the first attempt; None when this is the first
    article: Article  #: the latest article data (an editor's fix reaches a post not yet tried)
    article_id: int  #: its row's id
    created_at: datetime | None = None  #: when the delivery (or its repost) was queued
    revision: int = 0  #: which post of the delivery this is (a repost of an edited headline is a new one)
    first_tried_at: datetime | None = None  #: when its text was frozen (its first attempt)
    priority: int = 0  #: its priority (an X account's link policy reads it)
    title: str | None = None  #: the headline frozen with its text (None before its first attempt)
    created_by: str | None = None  #: who made it by hand (None: the feed's)


@dataclass(frozen=True)
class DeliveryRow:
    """A delivery as status and tests see it."""

    id: int  #: the delivery's id (``bot retry ID``)
    account_id: str
    feed_id: str  #: the feed its article came from ("manual" for a post by hand without a feed)
    guid: str  #: its article's
    title: str  #: its article's headline
    state: str  #: a :class:`~bot.models.DeliveryState` value
    attempts: int  #: sends tried (a rate limit or a held account does not count)
    text: str | None  #: frozen at the first attempt
    not_before: datetime | None  #: waits until then (a retry's backoff, a platform's rate limit)
    remote_id: str | None  #: the platform's id of the post
    remote_url: str | None  #: where the post can be seen
    note: str | None  #: what happened last, in words
    last_error: str | None  #: the platform's own message of the last failure
    sent_at: datetime | None
    created_at: datetime | None = None
    created_by: str | None = None  #: who made a post by hand
    priority: int = 0  #: higher goes first
    published: datetime | None = None  #: its article's publication
    updated_at: datetime | None = None  #: its last change (the history is ordered and filtered by it)
    article_id: int = 0  #: its article's row (``Store.article_by_id``)
    maybe_posted: bool = False  #: a send of its text may have reached the platform: the text never changes


@dataclass(frozen=True)
class Event:
    """One line of a delivery's history (what an operator did, or a post made by hand)."""

    at: datetime
    event: str  #: post, schedule, retry, skip, unpost, approve, reject, edit, send now
    detail: str | None  #: in words
    by: str | None  #: who


@dataclass(frozen=True)
class AccountState:
    """An account's row: held or not, and paused by its platform or not."""

    id: str  #: the config's id of the account
    held: bool  #: its posts wait until an operator releases it
    held_reason: str | None  #: why (the platform's words, or who held it)
    held_at: datetime | None
    not_before: datetime | None  #: the platform asked for no request before this (a rate limit)


@dataclass(frozen=True)
class Problem:
    """Something that needs a person (a held account, a failing feed, posts in doubt, a token near its end),
    as alerts tell it: once when it begins, once when it ends."""

    key: str  #: names the problem, the same at every look while it lasts: ``held:x``, ``feed:main``
    kind: str  #: held | feed | in_doubt | token
    subject: str  #: the account's or the feed's id
    message: str  #: what operators are told when it begins
    cleared: str  #: what they are told when it ends
    since: datetime | None = None  #: when it was told (for a problem read back from the store)


@dataclass(frozen=True)
class AccountToken:
    """A token a platform gave an account in place of the config's (a refreshed long-lived token)."""

    account_id: str  #: the account it belongs to
    token: str  #: the platform's refreshed token: used in place of the config's
    source: str  #: SHA-256 of the config's token it was refreshed from
    expires_at: datetime | None  #: when the platform says it ends
    refreshed_at: datetime  #: when it was refreshed


def _article_values(a: Article) -> dict[str, Any]:
    return {"guid": a.guid, "title": a.title, "link": a.link, "summary": a.summary, "author": a.author,
            "labels": list(a.labels), "image_urls": list(a.image_urls),
            "post_key": post_key(a.guid, a.link), "link_key": link_key(a.link)}


def _article(r: Any) -> Article:
    return Article(
        feed_id=r["feed_id"], guid=r["guid"], title=r["title"], link=r["link"], summary=r["summary"],
        author=r["author"], published=r["published_at"], labels=tuple(r["labels"] or ()),
        image_urls=tuple(r["image_urls"] or ()),
        categories=None if r["categories"] is None else tuple(r["categories"]),
        tags=None if r["tags"] is None else tuple(r["tags"]),
        featured_image=r["featured_image"],
        excerpt=r["excerpt"],
        share=r["editor_share"],
        custom_text=r["editor_text"] or "",
        custom_texts=tuple(sorted((str(k), str(v)) for k, v in (r["editor_texts"] or {}).items())),
        breaking=bool(r["editor_breaking"]),
    )


@dataclass(frozen=True)
class Revision:
    """A change the reviser claimed for a post out: its update with the corrected text, or its deletion."""

    delivery: DeliveryRow  #: the post as it stands (its text, its id on the platform)
    kind: str  #: update | delete
    by: str  #: who or what asked (the history says it)
    tries: int  #: including this claim's
    claimed_until: datetime  #: the claim's end, by the database's clock (it fences the outcome)
    earlier: tuple[tuple[str, str | None], ...] = ()  #: the posts of its earlier revisions (id, address)
    revision: int = 0  #: which post of the delivery is out (a repost is another)
    why: str | None = None  #: how the article's withdrawal was learned (for a deletion)


@dataclass(frozen=True)
class Withdrawn:
    """An article the site withdrew, with its posts still out: (the post, the change owed it, the last error)."""

    article_id: int  #: its row's id
    title: str  #: its headline
    link: str  #: its address
    at: datetime  #: when the bot learned it
    why: str  #: how (the plugin's notice of a trash, the REST API …)
    posts: Sequence[tuple[DeliveryRow, str | None, str | None]]  #: each post out, the change owed, the last error
