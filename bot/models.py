"""The records that move between the modules: plain frozen dataclasses, no ORM objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Article:
    """One entry of a feed, normalised."""

    feed_id: str  #: the config's id of the feed it came from
    guid: str  #: the entry's id (WordPress: ``https://site/?p=ID`` or the permalink), else its link
    title: str  #: plain text: entities decoded, tags stripped, white space collapsed
    link: str  #: the article's address
    summary: str = ""  #: plain text of the entry's summary, without "Continue reading"
    author: str = ""
    published: datetime | None = None  #: UTC; None when the feed gives no date
    labels: tuple[str, ...] = ()  #: WordPress's <category> elements: categories and tags together
    image_urls: tuple[str, ...] = ()  #: candidate images, best first
    categories: tuple[str, ...] | None = None  #: from WordPress's REST API; None: unknown, use labels
    tags: tuple[str, ...] | None = None  #: from WordPress's REST API; None: unknown, use labels
    featured_image: str | None = None  #: from WordPress's REST API
    excerpt: str | None = None  #: the post's own excerpt, from WordPress's REST API (else the summary is used)
    # The editor's say in the companion plugin's panel, from the REST API (``bot.feeds.wordpress.EditorSay``).
    share: bool | None = None  #: False: the editor chose not to share it; None: nothing said
    custom_text: str = ""  #: posted in place of the headline ('': the headline)
    custom_texts: tuple[tuple[str, str], ...] = ()  #: (platform, text): in place of ``custom_text`` there
    breaking: bool = False  #: marked as breaking news in the panel

    @property
    def category_names(self) -> tuple[str, ...]:
        return self.labels if self.categories is None else self.categories

    @property
    def tag_names(self) -> tuple[str, ...]:
        return self.labels if self.tags is None else self.tags

    @property
    def images(self) -> tuple[str, ...]:
        """Its image candidates, best first: the featured image, then the feed's (each once)."""
        return tuple(dict.fromkeys(u for u in (self.featured_image, *self.image_urls) if u))

    def text_for(self, platform: str) -> str:
        """What the post of this article says in place of its headline on a platform: the editor's text for
        that network, else for all, else the headline."""
        return dict(self.custom_texts).get(platform) or self.custom_text or self.title

    @property
    def names(self) -> tuple[str, ...]:
        """Its categories, then its tags (each once): what a card's breaking label is looked for in."""
        return tuple(dict.fromkeys((*self.category_names, *self.tag_names)))


@dataclass(frozen=True, slots=True)
class Validators:
    """What a feed's server told us last time, for a conditional GET and the unchanged-body check."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None  #: of the last body without its build date (feeds.content_hash): not parsed again


class DeliveryState(StrEnum):
    """Where a delivery (one article × one account) stands. See DESIGN.md, "Delivery states"."""

    AWAITING_APPROVAL = "awaiting_approval"  #: waits for a person to approve it (the account's ``approval:``)
    QUEUED = "queued"  #: waits to be sent (maybe not before ``not_before``)
    SENDING = "sending"  #: claimed; its text is frozen; a publisher call may be under way
    SENT = "sent"
    FAILED = "failed"  #: the platform refused this post, or no post could fit
    SKIPPED = "skipped"
    IN_DOUBT = "in_doubt"  #: interrupted mid-call where a resend could post twice: the operator decides
    DELETED = "deleted"  #: posted, then deleted on the platform by `bot unpost`
