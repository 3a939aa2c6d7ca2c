"""Reading an article's own page (for `bot post --url`): its headline, short link, canonical address,
image and description, as WordPress prints them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

import requests

from bot.charset import decode_html
from bot.compose.text import clean_title, html_to_text
from bot.errors import FeedError
from bot.links import shortlink_in_page
from bot.media import image_in_page

PAGE_LIMIT = 2_000_000


@dataclass(frozen=True)
class PageInfo:
    """What an article's own page says of it (Open Graph tags, ``<title>``, ``rel=shortlink``)."""

    url: str  #: the address after redirects
    title: str
    shortlink: str | None
    canonical: str
    image: str | None
    description: str


class _Head(HTMLParser):
    """Reads the page's ``<head>``: meta tags, the title, the canonical and short links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.canonical: str | None = None
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "meta":
            key = (a.get("property") or a.get("name") or "").lower()
            if key and a.get("content") and key not in self.meta:
                self.meta[key] = a["content"] or ""
        elif tag == "link" and "canonical" in (a.get("rel") or "").lower().split() and a.get("href"):
            self.canonical = self.canonical or a["href"]
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def without_site_suffix(title: str, site_name: str) -> str:
    """``<title>`` minus the `` – site name`` WordPress adds (also ``|``, ``-``, ``—`` forms)."""
    return re.sub(rf"\s+[–—|-]\s+{re.escape(site_name)}\s*$", "", title).strip()


def read_page(url: str, *, session: requests.Session, timeout: float, user_agent: str, site_name: str) -> PageInfo:
    try:
        with session.get(url, timeout=timeout, stream=True, headers={"User-Agent": user_agent}) as resp:
            if resp.status_code != 200:
                raise FeedError(url, f"the page answered HTTP {resp.status_code}")
            body = resp.raw.read(PAGE_LIMIT, decode_content=True)
            html = decode_html(body, resp.headers.get("Content-Type"))
            final, headers = resp.url, dict(resp.headers)
    except requests.RequestException as exc:
        raise FeedError(url, f"cannot read the page: {type(exc).__name__}") from exc
    head = _Head()
    head.feed(html)
    title = clean_title(head.meta.get("og:title") or without_site_suffix(clean_title(head.title), site_name))
    if not title:
        raise FeedError(url, "the page has no og:title and no <title>")
    canonical = urljoin(final, head.canonical or head.meta.get("og:url") or final)
    return PageInfo(final, title, shortlink_in_page(headers, html), canonical, image_in_page(html, final),
                    html_to_text(head.meta.get("og:description") or head.meta.get("description") or ""))
