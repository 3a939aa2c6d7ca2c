"""Fetching feeds: conditional GET over kept-alive connections, timeouts, a whole-body deadline, a size cap,
``file:`` feeds, and the body hash that tells an unchanged body without parsing it.

Every failure becomes a :class:`~bot.errors.FeedError` with a reason a person can act on.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import requests
import urllib3

from bot.errors import FeedError
from bot.feeds.prescan import ITEM_VOLATILE
from bot.models import Validators

ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
CHUNK = 64 * 1024
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Fetched:
    """What one fetch found."""

    status: Literal["ok", "not_modified", "unchanged"]  #: ok: a new body to parse
    validators: Validators  #: to keep for the next conditional GET
    body: bytes | None = None
    content_type: str = ""
    url: str = ""  #: the address after redirects
    http_status: int | None = None


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
        raise FeedError(url, reason, resp.status)
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
    settled = _settled(resp.headers.get("Last-Modified"), resp.headers.get("Date"))
    validators = Validators(  # validators of this very second are not kept: see _settled
        etag=resp.headers.get("ETag") if settled else None,
        last_modified=resp.headers.get("Last-Modified") if settled else None,
        body_hash=content_hash(body),
    )
    status: Literal["ok", "unchanged"] = "unchanged" if validators.body_hash == known.body_hash else "ok"
    return Fetched(status, validators, body, resp.headers.get("Content-Type", ""), final_url, 200)


#: A Last-Modified this close to the answer's own Date is not kept for the next conditional GET.
SETTLE = 2.0


def _settled(last_modified: str | None, date: str | None) -> bool:
    """Whether a body's validators may be trusted for the next conditional GET. WordPress's are whole seconds
    (Last-Modified, and an ETag made from it): a second article published within the same second as the one
    this body has would answer 304 to them. So validators are kept only once their second is over: when
    Last-Modified is at least ``SETTLE`` seconds before the answer's Date (or this machine's clock)."""
    if not last_modified:
        return True
    try:
        modified = parsedate_to_datetime(last_modified)
        answered = parsedate_to_datetime(date) if date else datetime.now(UTC)
    except (TypeError, ValueError):
        return True
    if modified.tzinfo is None or answered.tzinfo is None:
        return True
    return (answered - modified).total_seconds() >= SETTLE


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
