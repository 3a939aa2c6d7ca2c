"""A post's picture: the article's image, a headline card, or the one when there is not the other; and, for the
platforms that fetch a post's image themselves (Instagram, Threads), a public address for it.

``image:`` on an account says which (:data:`bot.config.values.ImageMode`): ``article`` (the featured image,
the feed's media, the first real ``<img>``, else the page's ``og:image``), ``card`` (the headline drawn with the
``cards:`` template over the article's image or the brand colour, :mod:`bot.cards`), ``article_or_card``. A
post never fails or waits because of its picture (:func:`bot.media.image_or_none`): it goes without one, and
the log says why; the publishers that cannot post without one (Instagram) refuse the post with that reason.

A card's label is the first of the article's categories and tags that the template's ``breaking`` names (the
red band). Pillow is imported only when a card is drawn.
"""

from __future__ import annotations

import hashlib
import io
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import requests

from bot.config.cards import CardsConfig
from bot.errors import BotError, MediaError
from bot.media import Image, image_or_none

log = logging.getLogger("bot.pictures")

#: How long a hosted image stays at its public address: Meta fetches it while the container is made.
HOSTED_FOR = timedelta(hours=1)
#: The kinds of image served as they are; any other (an SVG, which could carry script) is made a JPEG first.
SERVED = ("image/jpeg", "image/png", "image/gif", "image/webp")
#: The largest image a platform is given at a public address (Instagram's own limit for a JPEG is 8 MB).
MAX_HOSTED_BYTES = 8 * 1024 * 1024


class Post(Protocol):
    """What of a post (:class:`bot.platforms.base.Post`) its picture needs."""

    @property
    def delivery_id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def link(self) -> str: ...
    @property
    def image_urls(self) -> tuple[str, ...]: ...
    @property
    def labels(self) -> tuple[str, ...]: ...


def card_label(names: Sequence[str], breaking: Sequence[str]) -> str | None:
    """The first of ``breaking`` (in the template's order) that the article has among its categories and tags."""
    from bot.compose.hashtags import same_name

    return next((label for label in breaking if any(same_name(label, n) for n in names)), None)


class PicturedAccount(Protocol):
    """What of an account its posts' pictures need (every platform's account that carries one)."""

    @property
    def id(self) -> str: ...
    @property
    def image(self) -> str: ...
    @property
    def card_size(self) -> str: ...
    @property
    def timeout(self) -> timedelta: ...


class ImageStore(Protocol):
    """Where hosted images are kept (the :class:`~bot.store.Store`: every replica's HTTP side can serve them)."""

    def host_image(self, key: str, data: bytes, content_type: str, expires_at: datetime, now: datetime) -> None: ...

    def drop_hosted(self, key: str) -> None: ...


def hosted_key(token: str) -> str:
    """What the store keeps of a hosted image's token: its SHA-256 (the address itself is never stored)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Hosted:
    """An image at a public address, until ``expires_at`` or until it is withdrawn."""

    url: str
    key: str
    expires_at: datetime


class ImageHost:
    """Puts images at an unguessable, expiring address on the bot's HTTP side (``{public_url}/media/…``),
    for the platforms that fetch a post's image from a URL (Instagram, Threads)."""

    def __init__(self, store: ImageStore, public_url: str, now: Any) -> None:
        self.store = store
        self.public_url = public_url.rstrip("/")
        self.now = now  #: a callable returning the time (the bot's clock)

    def put(self, image: Image, *, jpeg: bool = False, ttl: timedelta = HOSTED_FOR) -> Hosted:
        """The image at a new public address (as a JPEG when ``jpeg``: Instagram takes nothing else). Raises
        MediaError when it cannot be converted or is too large."""
        keep = image.content_type == "image/jpeg" or (not jpeg and image.content_type in SERVED)
        data, kind = (image.data, image.content_type) if keep else (as_jpeg(image.data), "image/jpeg")
        if len(data) > MAX_HOSTED_BYTES:
            raise MediaError(f"the image is {len(data):,} bytes, over the limit of {MAX_HOSTED_BYTES:,}")
        token = secrets.token_urlsafe(32)
        ext = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}.get(kind, "img")
        now = self.now()
        key = hosted_key(token)
        self.store.host_image(key, data, kind, now + ttl, now)
        return Hosted(f"{self.public_url}/media/{token}.{ext}", key, now + ttl)

    def drop(self, hosted: Hosted) -> None:
        """Withdraw the image (once the platform has it)."""
        try:
            self.store.drop_hosted(hosted.key)
        except Exception as exc:  # it expires anyway
            log.warning("could not withdraw a hosted image: %s", exc)


def as_jpeg(data: bytes) -> bytes:
    """The image re-encoded as a JPEG (raises MediaError when Pillow cannot read it)."""
    from PIL import Image as PILImage

    from bot.cards import MAX_PIXELS

    try:
        with PILImage.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise MediaError(f"the image is {img.width}×{img.height} pixels, too large to convert")
            out = io.BytesIO()
            img.convert("RGB").save(out, format="JPEG", quality=90)
            return out.getvalue()
    except (OSError, ValueError, PILImage.DecompressionBombError) as exc:
        raise MediaError(f"the image cannot be converted to JPEG: {exc}") from exc


@dataclass
class Pictures:
    """Draws cards with the config's template (cached under ``cache_dir``) and knows where images can be put
    at a public address (``host``: None without ``server.public_url``). One per bot, shared by its publishers."""

    cards: CardsConfig
    site: str = ""
    cache_dir: Path | None = None
    host: ImageHost | None = None

    def image(self, post: Post, mode: str, size: str = "landscape", *, session: requests.Session, timeout: float,
              user_agent: str, account_id: str) -> Image | None:
        """The post's picture for ``mode`` (none, article, card, article_or_card), or None with the reason logged."""
        if mode == "none":
            return None
        context = f"account={account_id} delivery={post.delivery_id}"
        if mode in ("article", "article_or_card"):
            article = image_or_none(post.image_urls, post.link, session=session, timeout=timeout,
                                    user_agent=user_agent, context=context)
            if article is not None or mode == "article":
                return article
            photo = None  # the article has none: the card goes on the brand colour
        else:
            photo = self._quiet_photo(post, session=session, timeout=timeout, user_agent=user_agent) \
                if self.cards.photo else None
        return self.card(post, size, photo.data if photo is not None else None, context=context)

    def for_account(self, post: Post, account: PicturedAccount, *, session: requests.Session, user_agent: str,
                    mode: str | None = None) -> Image | None:
        """:meth:`image` as ``account``'s posts carry it: its ``image:`` (or ``mode``), its card size, its timeout."""
        return self.image(post, account.image if mode is None else mode, account.card_size, session=session,
                          timeout=account.timeout.total_seconds(), user_agent=user_agent, account_id=account.id)

    def card(self, post: Post, size: str, photo: bytes | None, *, context: str) -> Image | None:
        """The post's headline card (None, logged, when it cannot be drawn)."""
        from bot.cards import Card, CardError, cache_path, cached, content_type

        card = Card(post.title, card_label(post.labels, self.cards.breaking), photo, self.site)
        try:
            data = cached(card, self.cards, size, self.cache_dir)
        except CardError as exc:
            log.warning("%s posts without a card: %s", context, exc)
            return None
        except Exception as exc:  # a bug, or a machine out of memory: the post goes, without its card
            log.exception("%s posts without a card: drawing it failed (%s)", context, type(exc).__name__)
            return None
        kind = content_type(data)
        where = cache_path(card, self.cards, size, self.cache_dir).resolve().as_uri() if self.cache_dir else \
            f"card-{post.delivery_id}.{'jpg' if kind == 'image/jpeg' else 'png'}"
        return Image(where, data, kind, card=True)

    def _quiet_photo(self, post: Post, *, session: requests.Session, timeout: float,
                     user_agent: str) -> Image | None:
        """The article's image behind a card: none is no news (the card goes on the brand colour)."""
        from bot.media import find_image

        try:
            return find_image(post.image_urls, post.link, session=session, timeout=timeout, user_agent=user_agent)
        except MediaError:
            return None

    def public(self, image: Image, *, jpeg: bool = False) -> Hosted:
        """``image`` at a public address (raises BotError when the bot has none: ``server.public_url``)."""
        if self.host is None:
            raise BotError("no public address for images: set server.public_url (the bot's HTTP side as the "
                           "internet reaches it)")
        return self.host.put(image, jpeg=jpeg)
