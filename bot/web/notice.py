"""The companion WordPress plugin's signed notice: ``POST /wordpress/notice``.

When a post is published (or a published post is edited, unpublished, trashed or deleted) the plugin tells the
bot at once. The request carries two headers::

    X-WP-Social-Bot-Timestamp: <unix seconds>
    X-WP-Social-Bot-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the shared secret>

(in PHP: ``'sha256=' . hash_hmac('sha256', $ts . '.' . $body, $secret)``), and a JSON object as its body::

    {"event": "publish|update|unpublish|trash|delete", "post_id": 123, "url": "<permalink>", "site": "<home url>",
     "nonce": "<random>"}

(at most ``MAX_NOTICE`` bytes; unknown fields are ignored; the nonce makes two notices of the same second differ).
The shared secret is ``server.plugin_secret``.

``POST /wordpress/status`` (:data:`STATUS_PATH`), signed the same way, with ``{"post_id": 123, "url": "<permalink>",
"nonce": "<random>"}``, is the plugin's "where it went" panel asking: the answer is each account's delivery of the
post (``bot.say.Say.status``). ``post_id`` 0 is a connection test (nothing is found).

A notice is refused, with 404 and no detail (as a wrong ping token is), when no secret is configured, a header is
missing or malformed, the timestamp is more than ``WINDOW`` seconds from now (either way), the signature is
wrong (compared in constant time), the same signature was already accepted within the window (a replay), or the
body is not such an object. :class:`Notices` remembers accepted signatures in memory until their timestamp leaves
the window, at most ``MAX_SEEN`` of them (past that, the soonest to expire is forgotten first): one process's
memory, so a replay sent to another replica behind a balancer, or after a restart, within the window, is not
caught. A valid notice is a ping: the daemon polls the feeds now, then dispatches.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

PATH = "/wordpress/notice"
STATUS_PATH = "/wordpress/status"
#: The signed paths: their heads are checked before a byte of their bodies is read (``bot.web.server``).
SIGNED = frozenset({PATH, STATUS_PATH})
TIMESTAMP_HEADER = "x-wp-social-bot-timestamp"
SIGNATURE_HEADER = "x-wp-social-bot-signature"
#: Seconds a notice's timestamp may be from now, older or newer.
WINDOW = 300
#: Accepted signatures remembered at most (for replays).
MAX_SEEN = 10_000
#: A notice's body, at most (bytes).
MAX_NOTICE = 8 * 1024
EVENTS = frozenset({"publish", "update", "unpublish", "trash", "delete"})
_HEX = frozenset("0123456789abcdef")
_T = TypeVar("_T")


@dataclass(frozen=True)
class Notice:
    """A notice that passed every check."""

    event: str
    post_id: int
    url: str
    site: str


@dataclass(frozen=True)
class StatusAsk:
    """A status request that passed every check."""

    post_id: int
    url: str


class Refused(Exception):
    """A notice that is not to be believed; the message says why (for the log: never the secret or signature)."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp`` (what the plugin computes)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def check_head(secret: str | None, headers: Mapping[str, str], now: float) -> tuple[str, str]:
    """The timestamp and signature of a notice's head, checked before its body is read. Raises :class:`Refused`
    when no secret is set, a header is missing or malformed, or the timestamp is outside the window."""
    if not secret:
        raise Refused("no server.plugin_secret is set")
    timestamp, signature = headers.get(TIMESTAMP_HEADER, ""), headers.get(SIGNATURE_HEADER, "")
    if not timestamp or not signature:
        raise Refused("a signature or timestamp header is missing")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise Refused("the timestamp is not unix seconds")
    digest = signature.removeprefix("sha256=")
    if digest == signature or len(digest) != 64 or not set(digest) <= _HEX:
        raise Refused("the signature is not sha256=<64 hex digits>")
    if abs(now - int(timestamp)) > WINDOW:
        raise Refused(f"the timestamp is more than {WINDOW}s from now (stale, or a clock off)")
    return timestamp, signature


class Notices:
    """Checks notices against ``secret()``, and remembers the accepted signatures (replays are refused)."""

    def __init__(self, secret: Callable[[], str | None], clock: Callable[[], float] = time.time) -> None:
        self.secret = secret
        self.clock = clock
        self._seen: dict[str, int] = {}  #: signature -> when it leaves the window
        self._expiry: list[tuple[int, str]] = []
        self._lock = threading.Lock()

    def verify(self, headers: Mapping[str, str], body: bytes) -> Notice:
        """The notice, when every check passes; :class:`Refused` else (and nothing is remembered)."""
        return self._signed(headers, body, _parse)

    def verify_status(self, headers: Mapping[str, str], body: bytes) -> StatusAsk:
        """The status request, when every check passes; :class:`Refused` else."""
        return self._signed(headers, body, _parse_status)

    def _signed(self, headers: Mapping[str, str], body: bytes, parse: Callable[[bytes], _T]) -> _T:
        now = self.clock()
        secret = self.secret()
        timestamp, signature = check_head(secret, headers, now)
        assert secret
        if not hmac.compare_digest(signature.encode(), sign(secret, timestamp, body).encode()):
            raise Refused("the signature is wrong")
        if len(body) > MAX_NOTICE:
            raise Refused(f"the body is over {MAX_NOTICE} bytes")
        notice = parse(body)
        with self._lock:
            self._forget(now)
            if signature in self._seen:
                raise Refused("the same signature was seen before (a replay)")
            while len(self._seen) >= MAX_SEEN:
                _, oldest = heapq.heappop(self._expiry)
                self._seen.pop(oldest, None)
            expiry = int(timestamp) + WINDOW
            self._seen[signature] = expiry
            heapq.heappush(self._expiry, (expiry, signature))
        return notice

    def _forget(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] < now:
            _, signature = heapq.heappop(self._expiry)
            self._seen.pop(signature, None)


def _object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused("the body is not JSON") from None
    if not isinstance(data, dict):
        raise Refused("the body is not a JSON object")
    return data


def _post_id(data: dict[str, Any]) -> int:
    post_id = data.get("post_id")
    if not isinstance(post_id, int) or isinstance(post_id, bool) or not 0 <= post_id < 2**63:
        raise Refused("post_id is not a whole number")
    return post_id


def _parse_status(body: bytes) -> StatusAsk:
    data = _object(body)
    post_id, url = _post_id(data), data.get("url", "")
    if not isinstance(url, str):
        raise Refused("url is not a string")
    return StatusAsk(post_id, url[:2000])


def _parse(body: bytes) -> Notice:
    data = _object(body)
    event = data.get("event")
    url, site = data.get("url", ""), data.get("site", "")
    if event not in EVENTS:
        raise Refused("the event is not one of " + ", ".join(sorted(EVENTS)))
    post_id = _post_id(data)
    if not isinstance(url, str) or not isinstance(site, str):
        raise Refused("url or site is not a string")
    return Notice(str(event), post_id, url[:2000], site[:2000])
