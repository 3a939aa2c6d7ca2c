"""Fetching feeds (conditional GET, timeouts, a size cap) and parsing them (feedparser) into Articles.

feedparser only ever sees bytes we fetched: it never fetches anything itself. Every failure becomes a
:class:`~bot.errors.FeedError` with a reason a person can act on.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import requests
import urllib3

from bot.compose.text import clean_title, html_to_text
from bot.errors import FeedError
from bot.media import dedupe, images_in_html
from bot.models import Article, Validators
from bot.prescan import ITEM_VOLATILE

ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
CHUNK = 64 * 1024
MAX_REDIRECTS = 5
#: Summaries longer than this are cut (at a word boundary): a post never needs more.
MAX_SUMMARY = 2000


@dataclass(frozen=True)
class Fetched:
    """What one fetch found."""

    status: Literal["ok", "not_modified", "unchanged"]  #: ok: a new body to parse
    validators: Validators  #: to keep for the next conditional GET
    body: bytes | None = None
    content_type: str = ""
    url: str = ""  #: the address after redirects
    http_status: int | None = None


@dataclass(frozen=True)
class ParsedFeed:
    articles: list[Article]
    skipped: list[str] = field(default_factory=list)  #: why entries were left out
    bozo: str | None = None  #: the parser's complaint, when it still found entries
    item_hashes: dict[str, str] = field(default_factory=dict)  #: guid → its item's hash (bot.prescan)


def new_session() -> requests.Session:
    """A requests session for the bot's other HTTP (short links, the REST API, article pages)."""
    session = requests.Session()
    session.max_redirects = MAX_REDIRECTS
    return session


class FeedClient:
    """HTTP for polls: urllib3 itself, with keep-alive per host (one connection per worker thread, reused
    from poll to poll, so an HTTPS feed does not cost a TLS handshake every minute). requests would add
    about 0.3 ms a poll, more than the rest of an unchanged poll. The environment's proxy settings
    (``https_proxy``, ``no_proxy``) are honoured as requests would."""

    def __init__(self, maxsize: int = 16) -> None:
        import urllib.request

        self._maxsize = maxsize
        self._direct = urllib3.PoolManager(num_pools=64, maxsize=maxsize)
        self._proxies = {scheme: urllib3.ProxyManager(proxy, num_pools=64, maxsize=maxsize)
                         for scheme, proxy in urllib.request.getproxies().items() if scheme in ("http", "https")}
        self._bypass = urllib.request.proxy_bypass

    def get(self, url: str, headers: dict[str, str], timeout: float) -> urllib3.BaseHTTPResponse:
        parts = urlsplit(url)
        proxied = self._proxies.get(parts.scheme)
        pool = proxied if proxied is not None and not self._bypass(parts.hostname or "") else self._direct
        return pool.request(
            "GET", url, headers=headers, preload_content=False, redirect=True,
            timeout=urllib3.Timeout(connect=min(10.0, timeout), read=timeout),
            retries=urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=MAX_REDIRECTS,
                                  raise_on_redirect=True, raise_on_status=False),
        )

    def close(self) -> None:
        self._direct.clear()
        for proxied in self._proxies.values():
            proxied.clear()


@contextmanager
def _translate(url: str) -> Iterator[None]:
    """Turn network and file errors into FeedError with a short reason."""
    try:
        yield
    except FeedError:
        raise
    except urllib3.exceptions.MaxRetryError as exc:  # urllib3's wrapper: the reason is what went wrong
        reason = exc.reason
        if isinstance(reason, urllib3.exceptions.ResponseError) or reason is None:
            raise FeedError(url, f"too many redirects (more than {MAX_REDIRECTS})") from exc
        if isinstance(reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError):
            raise FeedError(url, f"cannot connect: {_short(reason)}") from exc
        if isinstance(reason, urllib3.exceptions.ConnectTimeoutError):
            raise FeedError(url, "timed out connecting") from exc
        if isinstance(reason, urllib3.exceptions.ReadTimeoutError):
            raise FeedError(url, "timed out waiting for the server") from exc
        if isinstance(reason, urllib3.exceptions.SSLError):
            raise FeedError(url, f"TLS error: {_short(reason)}") from exc
        raise FeedError(url, f"request failed: {_short(reason)}") from exc
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise FeedError(url, "timed out waiting for the server") from exc
    except urllib3.exceptions.DecodeError as exc:
        raise FeedError(url, f"the body could not be decompressed: {_short(exc)}") from exc
    except urllib3.exceptions.HTTPError as exc:
        raise FeedError(url, f"the connection broke while reading: {_short(exc)}") from exc
    except FileNotFoundError as exc:
        raise FeedError(url, "no such file") from exc
    except OSError as exc:
        raise FeedError(url, f"cannot read: {exc.strerror or exc}") from exc


def _short(exc: BaseException) -> str:
    text = str(exc)
    inner = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", None)
    if reason is not None:
        text = str(reason)
    return text if len(text) <= 200 else text[:197] + "..."


def fetch(
    url: str, known: Validators, *, client: FeedClient, user_agent: str, timeout: float,
    max_size: int, stop: threading.Event | None = None,
) -> Fetched:
    """Fetch a feed once. ``known`` holds the last ETag, Last-Modified and body hash."""
    if urlsplit(url).scheme == "file":
        return _fetch_file(url, known, max_size)
    headers = {"User-Agent": user_agent, "Accept": ACCEPT}
    if known.etag:
        headers["If-None-Match"] = known.etag
    if known.last_modified:
        headers["If-Modified-Since"] = known.last_modified
    deadline = time.monotonic() + 3 * timeout
    with _translate(url):
        resp = client.get(url, headers, timeout)
        done = False
        try:
            fetched = _read(url, resp, known, max_size, deadline, timeout, stop)
            done = True
            return fetched
        finally:
            if done:
                resp.release_conn()  # read to the end: the connection goes back to the pool for the next poll
            else:
                resp.close()  # a body left unread: the connection cannot be used again


def _read(url: str, resp: urllib3.BaseHTTPResponse, known: Validators, max_size: int, deadline: float,
          timeout: float, stop: threading.Event | None) -> Fetched:
    final_url = url
    for step in (resp.retries.history if resp.retries else ()):
        if step.redirect_location:
            final_url = urljoin(final_url, step.redirect_location)
    if resp.status == 304:
        return Fetched("not_modified", Validators(
            etag=resp.headers.get("ETag") or known.etag,
            last_modified=resp.headers.get("Last-Modified") or known.last_modified,
            body_hash=known.body_hash,
        ), url=final_url, http_status=304)
    if resp.status != 200:
        reason = f"HTTP {resp.status} {resp.reason or ''}".strip()
        raise FeedError(url, reason)
    declared = resp.headers.get("Content-Length")
    if declared and declared.isdigit() and not resp.headers.get("Content-Encoding") \
            and int(declared) > max_size:
        raise FeedError(url, f"the feed is {int(declared):,} bytes, over the limit of {max_size:,} bytes")
    buf = bytearray()
    while chunk := resp.read1(CHUNK, decode_content=True):  # returns what has arrived, so a
        buf += chunk                                          # trickling server meets the deadline
        if len(buf) > max_size:
            raise FeedError(url, f"the feed is over the limit of {max_size:,} bytes")
        if time.monotonic() > deadline:
            raise FeedError(url, f"the server took more than {3 * timeout:.0f}s to send the feed")
        if stop is not None and stop.is_set():
            raise FeedError(url, "stopped while reading (the bot is shutting down)")
    body = bytes(buf)
    validators = Validators(
        etag=resp.headers.get("ETag"), last_modified=resp.headers.get("Last-Modified"),
        body_hash=content_hash(body),
    )
    status: Literal["ok", "unchanged"] = "unchanged" if validators.body_hash == known.body_hash else "ok"
    return Fetched(status, validators, body, resp.headers.get("Content-Type", ""), final_url, 200)


#: What changes in a WordPress feed when no article did: the feed's build date (moved by every comment and
#: every save) and the items' comment counts.
_VOLATILE = re.compile(rb"<lastBuildDate>[^<]*</lastBuildDate>|" + ITEM_VOLATILE.pattern)


def content_hash(body: bytes) -> str:
    """sha256 of a feed body without what changes when no article did (RSS ``<lastBuildDate>`` and
    ``<slash:comments>``, Atom's feed-level ``<updated>``). Any other change (a headline edited, a new item,
    a category) changes the hash, so such a body is parsed; an identical one is not."""
    first_entry = body.find(b"<entry")
    if first_entry > 0:
        start = body.find(b"<updated>", 0, first_entry)
        end = body.find(b"</updated>", start, first_entry) if start >= 0 else -1
        if end >= 0:
            body = body[:start] + body[end:]
    return hashlib.sha256(_VOLATILE.sub(b"", body)).hexdigest()


def _fetch_file(url: str, known: Validators, max_size: int) -> Fetched:
    path = Path(url2pathname(urlsplit(url).path))
    with _translate(url):
        size = path.stat().st_size
        if size > max_size:
            raise FeedError(url, f"the feed is {size:,} bytes, over the limit of {max_size:,} bytes")
        body = path.read_bytes()[: max_size + 1]
    digest = content_hash(body)
    validators = Validators(body_hash=digest)
    kind = "application/atom+xml" if path.suffix == ".atom" else "application/xml"
    return Fetched("unchanged" if digest == known.body_hash else "ok", validators, body, kind, url)


def parse(body: bytes, *, feed_id: str, url: str, content_type: str = "",
          item_hashes: Sequence[str] = ()) -> ParsedFeed:
    """Parse a feed body into Articles. Raises FeedError when there is no usable feed in it.
    ``item_hashes``: the hash of each item of the body, in order (kept with each article)."""
    import feedparser  # imported here: it is slow to import and only polls need it

    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    d = feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=False,
                         resolve_relative_uris=True)
    bozo = f"{type(d.bozo_exception).__name__}: {d.bozo_exception}" if d.get("bozo") else None
    if not d.entries:
        if not d.get("version"):
            sent = f" (the server sent {content_type.split(';')[0]})" if content_type else ""
            raise FeedError(url, f"no RSS or Atom feed found in the response{sent}")
        if bozo:
            raise FeedError(url, f"not a valid feed ({bozo})")
    out: list[Article] = []
    skipped: list[str] = []
    seen: set[str] = set()
    aligned = len(item_hashes) == len(d.entries)  # else the hashes are not trusted (and simply not kept)
    hashes: dict[str, str] = {}
    for i, entry in enumerate(d.entries):
        article = entry_to_article(entry, feed_id)
        if isinstance(article, str):
            skipped.append(f"entry {i + 1}: {article}")
        elif article.guid in seen:
            skipped.append(f"entry {i + 1}: the guid {article.guid} appears twice; kept the first")
        else:
            seen.add(article.guid)
            out.append(article)
            if aligned:
                hashes[article.guid] = item_hashes[i]
    return ParsedFeed(out, skipped, bozo, hashes)


def entry_to_article(entry: Any, feed_id: str) -> Article | str:
    """One feedparser entry → Article, or the reason it cannot be one."""
    link = (entry.get("link") or "").strip()
    guid = (entry.get("id") or "").strip() or link
    if not guid:
        return "it has neither a guid nor a link"
    if urlsplit(link).scheme not in ("http", "https"):
        if urlsplit(guid).scheme in ("http", "https"):
            link = guid
        else:
            return f"it has no http(s) link (guid {guid[:100]})"
    summary_html = entry.get("summary") or ""
    contents = entry.get("content") or []
    content_html = contents[0].get("value", "") if contents else ""
    summary = _cap(html_to_text(summary_html or content_html))
    title = clean_title(entry.get("title") or "") or _cap(summary, 300)
    if not title:
        return f"it has neither a title nor a summary (guid {guid[:100]})"
    labels = []
    for tag in entry.get("tags") or []:
        term = clean_title(tag.get("term") or tag.get("label") or "")
        if term:
            labels.append(term)
    return Article(
        feed_id=feed_id, guid=guid, title=title, link=link, summary=summary,
        author=clean_title(entry.get("author") or ""),
        published=_when(entry.get("published_parsed") or entry.get("updated_parsed")),
        labels=tuple(dict.fromkeys(labels)),
        image_urls=_images(entry, content_html, summary_html, link),
    )


def _images(entry: Any, content_html: str, summary_html: str, base: str) -> tuple[str, ...]:
    urls: list[str] = []
    for media in entry.get("media_content") or []:
        kind = media.get("medium") or media.get("type") or "image"
        if kind == "image" or kind.startswith("image/"):
            urls.append(media.get("url", ""))
    urls.extend(t.get("url", "") for t in entry.get("media_thumbnail") or [])
    for enc in entry.get("enclosures") or []:
        if (enc.get("type") or "").startswith("image/"):
            urls.append(enc.get("href", ""))
    urls.extend(images_in_html(content_html, base))
    urls.extend(images_in_html(summary_html, base))
    return dedupe([u for u in urls if urlsplit(u).scheme in ("http", "https")])


def _when(parsed: Any) -> datetime | None:
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _cap(text: str, limit: int = MAX_SUMMARY) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + "…"
