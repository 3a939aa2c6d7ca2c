"""Finding an article's image. (Fetching it, with limits, comes with the publishers that attach images.)"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from bot.charset import decode_html
from bot.errors import MediaError, NoImage
from bot.netguard import refusal

log = logging.getLogger("bot.media")

#: Images declared smaller than this (width or height, in pixels) are icons, not article images.
MIN_IMAGE_SIDE = 200


def _is_emoji_image(src: str, classes: list[str]) -> bool:
    host = urlsplit(src).hostname or ""
    return "wp-smiley" in classes or "emoji" in classes or host == "s.w.org" or host.endswith(".w.org")


def _declared_small(attrs: dict[str, str | None]) -> bool:
    for side in ("width", "height"):
        value = (attrs.get(side) or "").strip().removesuffix("px")
        if value.isdigit() and int(value) < MIN_IMAGE_SIDE:
            return True
    return False


class _ImageFinder(HTMLParser):
    """Collects the ``<img>`` of an HTML fragment that could illustrate a post (not emoji, not icons)."""

    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "img":
            return
        a = dict(attrs)
        src = (a.get("src") or a.get("data-src") or "").strip()
        if not src or src.startswith("data:"):
            return
        src = urljoin(self.base, src)
        if urlsplit(src).scheme not in ("http", "https"):
            return
        if _is_emoji_image(src, (a.get("class") or "").split()) or _declared_small(a):
            return
        self.found.append(src)


def images_in_html(fragment: str, base: str = "") -> list[str]:
    """Real images of an HTML fragment, in order: not WordPress's emoji images, not small icons."""
    if "<img" not in fragment.lower():
        return []
    finder = _ImageFinder(base)
    finder.feed(fragment)
    finder.close()
    return finder.found


def dedupe(urls: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(u for u in urls if u))


# --- choosing and fetching the image of a post ---------------------------------------------------------------

#: An image larger than this is not downloaded (X's own limit for a photo).
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_PAGE_BYTES = 2_000_000


@dataclass(frozen=True)
class Image:
    """An image downloaded for a post."""

    url: str
    data: bytes
    content_type: str
    card: bool = False  #: a headline card drawn for the post (its url: the card's file), not the article's image

    @property
    def shown(self) -> str:
        """Where a person finds it: its address, or its file's path (a ``file:`` URL)."""
        if not self.url.startswith("file:"):
            return self.url
        from urllib.request import url2pathname

        return url2pathname(urlsplit(self.url).path)


class _MetaImage(HTMLParser):
    """``og:image`` (or ``twitter:image``) of a page's head."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "meta":
            return
        a = dict(attrs)
        key = (a.get("property") or a.get("name") or "").lower()
        if key in ("og:image", "og:image:url", "og:image:secure_url", "twitter:image") and a.get("content"):
            self.found.setdefault(key.split(":url")[0].replace(":secure_url", ""), a["content"] or "")


def image_in_page(html: str, base: str) -> str | None:
    parser = _MetaImage()
    parser.feed(html)
    for key in ("og:image", "twitter:image"):
        if key in parser.found:
            url = urljoin(base, parser.found[key].strip())
            if urlsplit(url).scheme in ("http", "https"):
                return url
    return None


def _read_capped(resp: requests.Response, limit: int, deadline: float, what: str) -> bytes:
    declared = resp.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise MediaError(f"{what} is {int(declared):,} bytes, over the limit of {limit:,}")
    body = b""
    while chunk := resp.raw.read1(65536, decode_content=True):
        body += chunk
        if len(body) > limit:
            raise MediaError(f"{what} is over the limit of {limit:,} bytes")
        if time.monotonic() > deadline:
            raise MediaError(f"{what} took too long to arrive")
    return body


def find_image(candidates: Sequence[str], page_url: str, *, session: requests.Session, timeout: float,
               user_agent: str) -> Image:
    """The article's image: the first candidate (featured image, feed media, first real <img>), else the
    page's og:image / twitter:image; downloaded with limits. Raises MediaError with the reason."""
    url = next((u for u in candidates if u), None)
    if url and url.startswith("file://"):
        return _local_image(url)
    headers = {"User-Agent": user_agent}
    try:
        if url is None:
            with session.get(page_url, timeout=timeout, stream=True, headers=headers) as resp:
                if resp.status_code != 200:
                    raise NoImage(f"no image in the feed, and the article page answered HTTP {resp.status_code}")
                page = _read_capped(resp, MAX_PAGE_BYTES, time.monotonic() + 2 * timeout, "the article page")
                url = image_in_page(decode_html(page, resp.headers.get("Content-Type")), resp.url)
            if url is None:
                raise NoImage("no image: none in the feed and no og:image or twitter:image on the page")
        with session.get(url, timeout=timeout, stream=True, headers=headers) as resp:
            if resp.status_code != 200:
                raise MediaError(f"the image {url} answered HTTP {resp.status_code}")
            kind = (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if not kind.startswith("image/"):
                raise MediaError(f"{url} is not an image ({kind or 'no Content-Type'})")
            data = _read_capped(resp, MAX_IMAGE_BYTES, time.monotonic() + 3 * timeout, f"the image {url}")
    except requests.RequestException as exc:
        raise MediaError(f"cannot fetch {url or page_url}: {refusal(exc) or type(exc).__name__}") from exc
    if not data:
        raise MediaError(f"the image {url} is empty")
    return Image(url, data, kind)


def image_or_none(candidates: Sequence[str], page_url: str, *, session: requests.Session, timeout: float,
                  user_agent: str, context: str) -> Image | None:
    """:func:`find_image`, or None with the reason logged (at info when the article simply has none): a post
    never fails or waits because of its image. ``context`` names the account and delivery in the log."""
    try:
        return find_image(candidates, page_url, session=session, timeout=timeout, user_agent=user_agent)
    except MediaError as exc:
        log.log(logging.INFO if isinstance(exc, NoImage) else logging.WARNING,
                "%s posts without an image: %s", context, exc)
        return None


def _local_image(url: str) -> Image:
    """An image file given by hand (`bot post --image PATH`)."""
    import mimetypes
    from pathlib import Path
    from urllib.request import url2pathname

    path = Path(url2pathname(urlsplit(url).path))
    kind = mimetypes.guess_type(path.name)[0] or ""
    if not kind.startswith("image/"):
        raise MediaError(f"{path} is not an image file")
    try:
        if path.stat().st_size > MAX_IMAGE_BYTES:
            raise MediaError(f"{path} is over the limit of {MAX_IMAGE_BYTES:,} bytes")
        return Image(url, path.read_bytes(), kind)
    except OSError as exc:
        raise MediaError(f"cannot read {path}: {exc.strerror}") from exc


def post_image(post: Any, *, session: requests.Session, timeout: float, user_agent: str,
               account_id: str) -> Image | None:
    """A post's image (:func:`image_or_none` for its candidates and page), logged under its account."""
    return image_or_none(post.image_urls, post.link, session=session, timeout=timeout, user_agent=user_agent,
                         context=f"account={account_id} delivery={post.delivery_id}")
