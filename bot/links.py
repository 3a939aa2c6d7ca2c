"""Short links and UTM parameters.

Strategies (``short_link:`` per site, overridable per account):

- ``wordpress`` (default): WordPress's own short link ``?p=ID``. From a guid of that form, rebuilt on the
  feed's site address (a guid keeps the domain the site had when the post was written); otherwise from
  the article page's ``Link: <…>; rel=shortlink`` header or ``<link rel='shortlink'>`` tag.
- ``yourls``: a self-hosted YOURLS (``yourls-api.php``, signature token).
- ``bitly``: Bitly's v4 API.
- ``none``: the full link.

Whatever goes wrong (timeout, error, an answer without a link), the post uses the full link and the
reason is logged: a post never waits more than ``timeout`` for a shortener and never loses its link.
Answers are cached in the store, so a retry or a second account reuses the same short link.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from datetime import datetime
from html.parser import HTMLParser
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from bot.charset import decode_html
from bot.clock import Clock
from bot.compose.ids import wordpress_short_link
from bot.config import ShortLinkConfig
from bot.errors import ShortenError

log = logging.getLogger("bot.links")

PAGE_LIMIT = 2_000_000


class LinkCache(Protocol):
    """Where short links are kept (the store), so a retry or another account reuses one."""

    def cached_short_link(self, kind: str, url: str) -> str | None: ...

    def cache_short_link(self, kind: str, url: str, short: str, now: datetime) -> None: ...


def add_utm(url: str, utm: Mapping[str, str]) -> str:
    """Add ``utm_source`` / ``utm_medium`` / ``utm_campaign`` (given without the prefix) to a link; the
    link's other query parameters are kept, its own utm_ values replaced by the configured ones."""
    if not utm:
        return url
    parts = urlsplit(url)
    wanted = {f"utm_{k}": v for k, v in utm.items() if v}
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in wanted]
    query.extend(wanted.items())
    return urlunsplit(parts._replace(query=urlencode(query, safe="/:")))


class _ShortlinkTag(HTMLParser):
    """Finds ``<link rel='shortlink'>`` in a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "link" and self.href is None and "shortlink" in (a.get("rel") or "").lower().split():
            self.href = (a.get("href") or "").strip() or None


def shortlink_in_page(headers: Mapping[str, str], html: str) -> str | None:
    """The short link a WordPress page declares, in its ``Link`` header or in a ``<link>`` tag."""
    link_header = headers.get("Link") or headers.get("link") or ""
    for part in link_header.split(","):
        m = re.match(r"\s*<([^>]+)>\s*;(.*)", part)
        if m and re.search(r"""rel\s*=\s*"?'?shortlink\b""", m.group(2), re.IGNORECASE):
            return m.group(1).strip()
    parser = _ShortlinkTag()
    parser.feed(html[:PAGE_LIMIT])
    return parser.href


class Shortener:
    """Makes short links by one strategy, with a cache and a fallback to the full link."""

    def __init__(self, settings: ShortLinkConfig, cache: LinkCache, session: requests.Session,
                 user_agent: str, clock: Clock) -> None:
        self.clock = clock
        self.settings = settings
        self.timeout = settings.timeout.total_seconds()
        self.cache = cache
        self.session = session
        self.user_agent = user_agent

    def short_link(self, link: str, guid: str, site_url: str) -> str:
        """The short link for an article's (UTM-tagged) link, or the link itself when none can be had."""
        kind = self.settings.kind
        if kind == "none":
            return link
        try:
            if kind == "wordpress":
                short = self._wordpress(link, guid, site_url)
            else:
                short = self._cached(kind, link, self._yourls if kind == "yourls" else self._bitly)
        except (ShortenError, requests.RequestException, ValueError) as exc:
            log.warning("short_link=%s failed for %s, using the full link: %s", kind, link, _reason(exc))
            return link
        return short

    def page_short_link(self, link: str) -> str | None:
        """The article page's ``rel=shortlink`` (cached as the wordpress kind caches it), or None when it cannot
        be had: how a post published with its permalink as guid is known by its ``?p=ID``."""
        try:
            return self._cached("wordpress-page", _split_utm(link)[0], self._page_shortlink)
        except (ShortenError, requests.RequestException, ValueError) as exc:
            log.warning("the page of %s gave no short link: %s", link, _reason(exc))
            return None

    def _wordpress(self, link: str, guid: str, site_url: str) -> str:
        base, utm = _split_utm(link)
        short = wordpress_short_link(guid, site_url) or wordpress_short_link(base, site_url)
        if short is None:
            if not self.settings.page_lookup:
                return link
            short = self._cached("wordpress-page", base, self._page_shortlink)
        return _join_utm(short, utm)

    def _cached(self, kind: str, url: str, make: Any) -> str:
        cached = self.cache.cached_short_link(kind, url)
        if cached:
            return cached
        short: str = make(url)
        if not urlsplit(short).scheme.startswith("http"):
            raise ShortenError(f"the answer is not a link: {short[:100]!r}")
        self.cache.cache_short_link(kind, url, short, self.clock.now())
        return short

    def _page_shortlink(self, url: str) -> str:
        with self.session.get(url, timeout=self.timeout, stream=True,
                              headers={"User-Agent": self.user_agent}) as resp:
            if resp.status_code != 200:
                raise ShortenError(f"the article page answered HTTP {resp.status_code}")
            body = b""
            deadline = time.monotonic() + 2 * self.timeout  # a trickling page cannot hold a post
            while len(body) < PAGE_LIMIT and (chunk := resp.raw.read1(65536, decode_content=True)):
                body += chunk
                if b"</head>" in body or time.monotonic() > deadline:
                    break  # the shortlink is in the head
            short = shortlink_in_page(resp.headers, decode_html(body, resp.headers.get("Content-Type")))
        if not short:
            raise ShortenError("the article page declares no shortlink")
        return short

    def _yourls(self, url: str) -> str:
        s = self.settings
        if not s.api_url or not s.token:
            raise ShortenError("yourls needs api_url and token")
        resp = self.session.post(s.api_url, timeout=self.timeout, headers={"User-Agent": self.user_agent},
                                 data={"signature": s.token, "action": "shorturl", "url": url, "format": "json"})
        data = _json(resp)
        short = data.get("shorturl")  # YOURLS also gives it when the link was shortened before
        if not short:
            raise ShortenError(f"YOURLS answered HTTP {resp.status_code}: {data.get('message') or data}")
        return str(short)

    def _bitly(self, url: str) -> str:
        s = self.settings
        if not s.token:
            raise ShortenError("bitly needs token")
        api = (s.api_url or "https://api-ssl.bitly.com").rstrip("/")
        resp = self.session.post(
            f"{api}/v4/shorten", timeout=self.timeout, json={"long_url": url, "domain": s.domain or "bit.ly"},
            headers={"Authorization": f"Bearer {s.token}", "User-Agent": self.user_agent})
        data = _json(resp)
        if resp.status_code not in (200, 201) or not data.get("link"):
            raise ShortenError(f"Bitly answered HTTP {resp.status_code}: {data.get('message') or data}")
        return str(data["link"])


def _json(resp: requests.Response) -> dict[str, Any]:
    try:
        data = resp.json()
    except ValueError:
        raise ShortenError(f"HTTP {resp.status_code} with a body that is not JSON") from None
    if not isinstance(data, dict):
        raise ShortenError(f"HTTP {resp.status_code} with unexpected JSON")
    return data


def _split_utm(url: str) -> tuple[str, list[tuple[str, str]]]:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    utm = [(k, v) for k, v in query if k.startswith("utm_")]
    rest = [(k, v) for k, v in query if not k.startswith("utm_")]
    return urlunsplit(parts._replace(query=urlencode(rest, safe="/:"))), utm


def _join_utm(url: str, utm: list[tuple[str, str]]) -> str:
    return add_utm(url, {k.removeprefix("utm_"): v for k, v in utm}) if utm else url


def _reason(exc: BaseException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "cannot connect"
    text = str(exc)
    return text if len(text) < 200 else text[:197] + "..."
