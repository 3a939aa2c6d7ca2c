"""What Meta's Graph-style APIs (Threads, Instagram) share: their error body and what it means, and long-lived
user tokens that the bot refreshes itself and keeps in its store.

Errors (``{"error": {"message", "type", "code", "error_subcode", "is_transient"?, "fbtrace_id"}}``):

| Meta says                                                   | outcome                                       |
| ----------------------------------------------------------- | --------------------------------------------- |
| 190 (bad or expired token), 10 and 200–299 (permissions)    | AuthFailed: the account is held               |
| 4, 17, 32, 613, 80001, 80002 (rate limits), a 429 that      | RateLimited, for the time the usage headers   |
| names no account code                                       | say (15 min when they say nothing; 24 h most) |
| 1, 2, ``is_transient``, a 5xx, no answer in time            | MaybeSent where the call itself may post (a   |
|                                                             | publish), else Unavailable: nothing was made  |
| 100 with subcode 33 ("Object with ID … does not exist") to  | Gone: not there (deleted already)             |
| a delete                                                    |                                               |
| anything else                                               | Rejected, with Meta's own words               |

Tokens: a long-lived token lasts 60 days and is refreshed by a ``GET`` of the platform's
``refresh_access_token`` with its ``grant_type`` (``th_refresh_token``, ``ig_refresh_token``), which answers
``{access_token, token_type, expires_in}`` (none, or over :data:`MAX_TOKEN_LIFE`: 60 days). The refreshed token
is kept in the store with the SHA-256 of the config's token it came from (its ``source``): it is used while the
config holds that token, and a new token put in the config wins over it. :func:`refresh_if_due` refreshes when
less than :data:`REFRESH_BEFORE` remains (Meta refreshes only tokens at least a day old). A config's token whose
end is not known yet is kept too, as itself, with an end assumed :data:`LIFETIME` after the bot first saw it: so
when its refreshes never succeed, the token alert still comes before that end (the token may be older: the end
assumed is the latest).

Ids: every id Meta gives back (a container's, a post's) is digits (:func:`valid_id`); anything else is not
used in a URL nor recorded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import requests

from bot.errors import AuthFailed, Gone, MaybeSent, PlatformError, RateLimited, Rejected, Unavailable
from bot.platforms.http import Reply, send

log = logging.getLogger("bot.platforms.meta")

#: 80001: a Page's, 80002: an Instagram account's (Business Use Case rate limits).
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80001, 80002})
ACCOUNT_CODES = frozenset({10, 190} | set(range(200, 300)))
TRANSIENT_CODES = frozenset({1, 2})
#: "Unsupported delete request. Object with ID '…' does not exist, cannot be loaded due to missing permissions, or
#: does not support this operation": code 100, subcode 33.
NOT_THERE_CODE, NOT_THERE_SUBCODE = 100, 33
DEFAULT_RATE_WAIT = timedelta(minutes=15)
#: A token is refreshed once less than this remains of it (or when it ends is not known).
REFRESH_BEFORE = timedelta(days=30)
#: How long a long-lived token lasts (Meta's documentation): the end assumed for one whose end is not known.
LIFETIME = timedelta(days=60)
#: The longest wait taken from an answer (a usage header's, a quota window's): longer is not believed.
MAX_WAIT = timedelta(hours=24)
#: The longest life a refresh's ``expires_in`` is believed for; longer (or none) is an end not known.
MAX_TOKEN_LIFE = timedelta(days=90)
#: What a Meta id looks like (Threads' and Instagram's containers and posts: digits).
ID = re.compile(r"\d{1,32}")


@dataclass(frozen=True)
class GraphError:
    """Meta's error body, read."""

    status: int  #: the HTTP status
    code: int  #: ``error.code`` (0 when there is none)
    subcode: int  #: ``error.error_subcode`` (0 when there is none)
    message: str  #: Meta's own words (``error_user_msg`` after ``message`` when it gives one)
    transient: bool  #: ``error.is_transient``

    @property
    def said(self) -> str:
        """``(190: message)``, as a person reads it."""
        code = f"{self.code}" + (f"/{self.subcode}" if self.subcode else "")
        return f"({code}: {self.message})" if self.code else f"({self.message})"


def graph_error(reply: Reply) -> GraphError | None:
    """The error in a Graph API answer, or None when the answer is a success (a 2xx with no ``error``)."""
    body = reply.body if isinstance(reply.body, dict) else {}
    error = body.get("error")
    if 200 <= reply.status < 300 and not error:
        return None
    error = error if isinstance(error, dict) else {}
    message = str(error.get("message") or f"HTTP {reply.status}")
    if error.get("error_user_msg") and str(error["error_user_msg"]) not in message:
        message += f" — {error['error_user_msg']}"
    return GraphError(reply.status, number(error.get("code")), number(error.get("error_subcode")), message,
                      bool(error.get("is_transient")))


def outcome(error: GraphError, *, platform: str, now: datetime, headers: Mapping[str, str],
            may_have_posted: bool, deleting: bool = False) -> PlatformError:
    """What ``error`` means, as one of the outcome kinds (see the table above). ``may_have_posted``: the call
    was the one that posts (a publish), so a server's failure leaves the post in doubt. ``deleting``: the call
    deletes one of the account's posts, so an object that does not exist is a post deleted already (Gone);
    elsewhere (a wrong user id, a container) it is Rejected."""
    if rate_limited(error):
        return RateLimited(f"{platform}'s rate limit {error.said}", now + usage_wait(headers))
    if error.code in ACCOUNT_CODES:
        return AuthFailed(f"{platform} refused this account's token or permissions {error.said}")
    if error.code in TRANSIENT_CODES or error.transient or error.status >= 500:
        said = f"{platform} answered {error.status} {error.said}"
        return MaybeSent(said) if may_have_posted else Unavailable(said)
    if deleting and not_there(error):
        return Gone(f"{platform} says it is not there {error.said}")
    return Rejected(f"{platform} refused it {error.said}")


def not_there(error: GraphError) -> bool:
    """The object asked for does not exist (code 100, subcode 33, or without the subcode in Meta's words): a post
    deleted already. Meta's words also allow that the token cannot see it ("missing permissions"); a missing
    permission is otherwise refused with codes 10 and 200–299 (AuthFailed), so this is taken for "not there"."""
    return error.code == NOT_THERE_CODE and (error.subcode == NOT_THERE_SUBCODE
                                             or "does not exist" in error.message.lower())


def rate_limited(error: GraphError) -> bool:
    """A rate limit: one of Meta's codes for it, or an HTTP 429 whose code does not name the account."""
    return error.code in RATE_LIMIT_CODES or (error.status == 429 and error.code not in ACCOUNT_CODES)


def valid_id(value: object) -> str | None:
    """An id Meta gave, when it is one (digits, as a JSON string or number); else None."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    return text if ID.fullmatch(text) else None


def store_trouble(what: str, exc: Exception) -> Unavailable:
    """The bot's own database failing before any request (``what`` it could not do): nothing was sent, so the
    post is tried again later (logged with the driver's words, first line; the message names only its kind)."""
    said = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    log.warning("the database could not %s: %s: %s", what, type(exc).__name__, said[0][:300] if said else "")
    return Unavailable(f"the bot's database could not {what} ({type(exc).__name__}): nothing was sent")


def call(session: requests.Session, method: str, url: str, *, platform: str, timeout: float, user_agent: str,
         now: Callable[[], datetime], may_have_posted: bool = False, **kwargs: Any) -> dict[str, Any]:
    """One Graph API request through :func:`bot.platforms.http.send`; its JSON object, or the outcome kind
    raised. Where the call cannot post (``may_have_posted`` false: a container, a status, a read), an answer
    that never came is only Unavailable."""
    try:
        reply = send(session, method, url, platform=platform, timeout=timeout, user_agent=user_agent, **kwargs)
    except MaybeSent as exc:
        if may_have_posted:
            raise
        raise Unavailable(f"{exc.message.split(' (the request may')[0]}; this step posts nothing") from None
    error = graph_error(reply)
    if error is not None:
        raise outcome(error, platform=platform, now=now(), headers=reply.headers, may_have_posted=may_have_posted,
                      deleting=method == "DELETE")
    return reply.body if isinstance(reply.body, dict) else {}


def usage_wait(headers: Mapping[str, str]) -> timedelta:
    """The longest ``estimated_time_to_regain_access`` (minutes) in Meta's usage headers, else 15 minutes; at
    most :data:`MAX_WAIT`."""
    minutes = 0
    for header in ("X-Business-Use-Case-Usage", "X-Page-Usage", "X-App-Usage"):
        try:
            usage = json.loads(headers.get(header) or "{}")
        except ValueError:
            continue
        if not isinstance(usage, dict):
            continue
        entries = [e for v in usage.values() if isinstance(v, list) for e in v]
        if "estimated_time_to_regain_access" in usage:
            entries.append(usage)
        for entry in entries:
            if isinstance(entry, dict):
                minutes = max(minutes, number(entry.get("estimated_time_to_regain_access")))
    if minutes <= 0:
        return DEFAULT_RATE_WAIT
    return min(timedelta(minutes=min(minutes, int(MAX_WAIT.total_seconds() // 60))), MAX_WAIT)  # no overflow


# --- long-lived tokens -----------------------------------------------------------------------------------

class StoredToken(Protocol):
    """A token the store keeps for an account (:class:`bot.store.records.AccountToken`)."""

    @property
    def token(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def expires_at(self) -> datetime | None: ...


class TokenStore(Protocol):
    """Where refreshed tokens are kept (the :class:`~bot.store.Store`)."""

    def account_token(self, account_id: str) -> StoredToken | None: ...

    def save_account_token(self, account_id: str, token: str, source: str, expires_at: datetime | None,
                           now: datetime) -> None: ...


@dataclass(frozen=True)
class Token:
    """The token an account posts with now."""

    value: str
    #: when it ends, as Meta said at its refresh; for the config's token, :data:`LIFETIME` after the bot first
    #: saw it (the latest it can end), once that is kept (None: not known)
    expires_at: datetime | None
    refreshed: bool  #: the store's refreshed token, not the config's


def token_source(configured: str) -> str:
    """What the store keeps of the config's token a refreshed one came from: its SHA-256."""
    return hashlib.sha256(configured.encode()).hexdigest()


def current_token(tokens: TokenStore | None, account_id: str, configured: str) -> Token:
    """The store's refreshed token while it came from the config's token as it is now (redacted from this
    process's logs, as the config's secrets are); else the config's (with its assumed end, once kept)."""
    from bot.logs import redact_also

    kept = tokens.account_token(account_id) if tokens is not None else None
    if kept is None or kept.source != token_source(configured):
        return Token(configured, None, False)
    redact_also([kept.token])  # a set: a token added again changes nothing
    return Token(kept.token, kept.expires_at, kept.token != configured)


def refresh(session: requests.Session, url: str, grant_type: str, token: str, *, platform: str, timeout: float,
            user_agent: str, now: Callable[[], datetime]) -> tuple[str, datetime | None]:
    """A new long-lived token for ``token`` (``GET url?grant_type=…&access_token=…``) and when it ends; raises
    an outcome kind when Meta refuses."""
    answer = call(session, "GET", url, platform=platform, timeout=timeout, user_agent=user_agent, now=now,
                  params={"grant_type": grant_type, "access_token": token})
    new = answer.get("access_token")
    if not isinstance(new, str) or not new:
        raise Unavailable(f"{platform} answered the token refresh without a token")
    seconds = number(answer.get("expires_in"))
    believed = 0 < seconds <= MAX_TOKEN_LIFE.total_seconds()  # else nonsense: not known
    return new, now() + timedelta(seconds=seconds) if believed else None


def refresh_if_due(tokens: TokenStore | None, account_id: str, configured: str, now: datetime,
                   renew: Callable[[str], tuple[str, datetime | None]]) -> datetime | None:
    """When the account's token expires, after refreshing it (``renew``) where less than
    :data:`REFRESH_BEFORE` remains or when that is not known (the config's own token: refreshed at each call
    until it is); the new token is saved in ``tokens`` and redacted from the logs. The config's token seen for
    the first time is kept with an assumed end (:data:`LIFETIME` from now). A refresh that fails is logged and
    the token's end, known or assumed, returned (the alerts tell it in time); with neither the failure is
    raised (the caller asks again later)."""
    from bot.logs import redact_also

    token = current_token(tokens, account_id, configured)
    if token.refreshed and token.expires_at is not None and token.expires_at - now > REFRESH_BEFORE:
        return token.expires_at
    if tokens is None:  # nowhere to keep a new one
        return token.expires_at
    if token.expires_at is None:  # first seen now: it ends within LIFETIME (the latest it can), kept as such
        token = replace(token, expires_at=now + LIFETIME)
        tokens.save_account_token(account_id, token.value, token_source(configured), token.expires_at, now)
    ends = token.expires_at
    try:
        new, expires = renew(token.value)
    except PlatformError as exc:
        log.warning("account=%s: its token was not refreshed: %s; it expires %s%s", account_id, exc.message,
                    f"{ends:%Y-%m-%d %H:%M UTC}", "" if token.refreshed else
                    f" at the latest ({LIFETIME.days} days after the bot first saw it)")
        return ends
    redact_also([new])
    said = f"{expires:%Y-%m-%d %H:%M UTC}" if expires else f"in {LIFETIME.days} days (Meta did not say)"
    expires = expires or now + LIFETIME  # a refreshed long-lived token lasts LIFETIME
    tokens.save_account_token(account_id, new, token_source(configured), expires, now)
    log.info("account=%s: its token was refreshed; it now expires %s", account_id, said)
    return expires


def debug_token_end(answer: Mapping[str, Any]) -> datetime | None:
    """When a token ends, from ``debug_token``'s answer: the sooner of ``expires_at`` and the end of its access
    to the data (``data_access_expires_at``); 0 is never, and so is neither given."""
    data = answer.get("data") or {}
    ends = [int(v) for v in (data.get("expires_at"), data.get("data_access_expires_at"))
            if isinstance(v, int | float) and not isinstance(v, bool) and v > 0] if isinstance(data, dict) else []
    try:
        return datetime.fromtimestamp(min(ends), UTC) if ends else None
    except (OverflowError, OSError, ValueError):  # past any date: as good as never
        return None


def number(value: object) -> int:
    """A number Meta gave (a JSON number or a string of digits), else 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return 0
