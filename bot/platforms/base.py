"""The one small interface every platform implements.

A publisher turns a :class:`Post` into a post on its platform and returns a :class:`Published`
reference, or raises one of the :class:`~bot.errors.PlatformError` kinds, which say what happens next:
``Unavailable`` (retry later), ``RateLimited`` (not before a time), ``Rejected`` (this post fails),
``Duplicate`` (already there: counted as sent), ``AuthFailed`` (hold the account).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from bot.compose.length import LengthRule

#: The platforms whose API lets the bot change a post's text in place (``on_edit: update``); the others' posts
#: are left as they are or posted again (``on_edit_fallback``). Each publisher's ``can_edit`` says the same.
EDITABLE_PLATFORMS = frozenset({"telegram", "facebook", "mastodon", "discord", "console"})


@dataclass(frozen=True)
class Post:
    """What to post: one delivery's text and the article it comes from."""

    delivery_id: int  #: stable across retries: platforms that take an idempotency key use it
    text: str  #: final, fitted text (frozen on the delivery at its first attempt)
    link: str  #: the article's link (for link previews and cards)
    title: str  #: the article's headline (for alt text and cards)
    image_urls: tuple[str, ...] = ()  #: the article's image candidates, best first (featured image first)
    summary: str = ""  #: the article's excerpt (for link cards)
    queued_at: datetime | None = None  #: when the delivery (or its repost) was queued: stable across retries
    revision: int = 0  #: 0 for the first post of the delivery, then 1, 2 … for reposts of an edited headline
    labels: tuple[str, ...] = ()  #: the article's categories and tags (a card's breaking band)

    @property
    def key(self) -> str:
        """The post's idempotency key: the same for every attempt of this post, another for a repost."""
        base = f"wp-social-bot-delivery-{self.delivery_id}"
        return base if self.revision == 0 else f"{base}-r{self.revision}"


@dataclass(frozen=True)
class Published:
    """Where a post went: the platform's reference to it, returned by :meth:`Publisher.publish`."""

    remote_id: str | None  #: the platform's id of the post, when known
    url: str | None = None  #: where a person can see the post
    note: str | None = None


class Publisher(Protocol):
    """One account on one platform: posts, checks and deletes, and says what failed as a PlatformError kind."""

    account_id: str
    #: the platform's length rule, used to fit posts for this account
    rule: LengthRule
    #: True where sending the same delivery twice cannot make two posts (idempotency keys, duplicate
    #: rejection): a send interrupted by a crash is then retried instead of being marked in_doubt.
    resend_is_safe: bool
    #: How long after the first attempt a resend stays safe (an idempotency key's lifetime), or None: always.
    resend_window: timedelta | None
    #: Whether the platform's API lets a post's text be changed in place (``edit``): see EDITABLE_PLATFORMS.
    can_edit: bool

    def publish(self, post: Post) -> Published:
        """Post ``post`` on the platform (raises a PlatformError kind when it did not post)."""
        ...

    def check(self) -> str:
        """Who the account is on its platform (``@handle``); raises a PlatformError kind when it cannot post."""
        ...

    def delete(self, remote_id: str) -> None:
        """Delete a post this account made (raises a PlatformError kind when the platform refuses; ``Gone`` when
        the post is not there any more)."""
        ...

    def edit(self, remote_id: str, post: Post) -> None:
        """Replace the text of a post this account made with ``post.text``, composed and fitted as a new post
        would be (its link, card and picture stay as they are). Raises ``Rejected`` where the platform does not
        let posts be edited (``can_edit`` False) or refuses this text, ``Gone`` when the post is not there any
        more, another PlatformError kind when the call failed (``MaybeSent`` is harmless here: an edit sent
        twice leaves the same text)."""
        ...

    def close(self) -> None:
        """Release the publisher's connections."""
        ...


@runtime_checkable
class TokenExpiry(Protocol):
    """A publisher whose platform says when the account's token expires (Facebook's ``debug_token``)."""

    def token_expiry(self) -> datetime | None:
        """When the token expires (None: never); raises a PlatformError kind when the platform cannot say."""
        ...
