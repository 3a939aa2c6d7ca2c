"""The HTTP plumbing shared by the publishers that call their platform's API with ``requests``.

:func:`send` makes one request (connect and read timeouts, the bot's user agent), turns every
``requests`` exception into :class:`~bot.errors.Unavailable`, and reads the answer's JSON body. It is the
one place where ``requests``' exceptions are caught and translated for Telegram, Facebook, Discord and
Instagram.

What a platform's answer *means* (its error codes, where it says how long to wait, when a 5xx counts)
is not here: each publisher maps its own platform's answers onto the outcome kinds in its own module.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3

from bot.errors import MaybeSent, Unavailable

#: the longest wait for a connection, whatever the account's (read) timeout
CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Reply:
    """A platform's HTTP answer: its status, its headers and its body read as JSON."""

    status: int
    headers: Mapping[str, str]  #: case-insensitive, as ``requests`` gives them
    #: the parsed JSON as the platform sent it (any JSON value), or ``{}`` when the body is not JSON
    body: Any


def send(session: requests.Session, method: str, url: str, *, platform: str, timeout: float,
         user_agent: str, **kwargs: Any) -> Reply:
    """Make one request to ``platform`` and return its answer, whatever its status.

    ``timeout`` (seconds) bounds each read; the connection is given ``min(10, timeout)``. ``kwargs`` go to
    :meth:`requests.Session.request` as they are (``params``, ``data``, ``json``, ``files``).

    A :class:`requests.RequestException` raises, without its cause (the URL or the request may hold the
    account's token): :class:`~bot.errors.Unavailable` when the request surely never left (the connection
    was refused or timed out, the name did not resolve, the certificate was refused: nothing was sent), and
    :class:`~bot.errors.MaybeSent` otherwise (a read timeout, a connection broken while the answer was read,
    anything else): the platform may have the post. The body is read inside the call, not streamed.
    """
    try:
        resp = session.request(method, url, timeout=(min(CONNECT_TIMEOUT, timeout), timeout),
                               headers={"User-Agent": user_agent}, **kwargs)
    except requests.RequestException as exc:
        said = f"cannot reach {platform}: {unreachable(exc, url)}"
        if never_left(exc):
            raise Unavailable(said) from None  # the request holds the token
        raise MaybeSent(f"{said} (the request may have reached {platform})") from None
    try:
        body = resp.json()
    except ValueError:
        body = {}
    return Reply(resp.status_code, resp.headers, body)


def unreachable(exc: requests.RequestException, url: str) -> str:
    """Why a request failed, in words, naming the host but never the URL (which may hold a token)."""
    host = urlsplit(url).netloc.rpartition("@")[2] or "the server"
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(reason, urllib3.exceptions.NameResolutionError):
        return f"the name {urlsplit(url).hostname} does not resolve (DNS)"
    if isinstance(exc, requests.ConnectTimeout):
        return f"timed out connecting to {host}"
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return f"{host} refused the connection (or is not reachable)"
    if isinstance(exc, requests.ReadTimeout):
        return f"{host} did not answer in time (read timeout)"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS with {host} failed ({type(reason or exc).__name__})"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return f"the answer from {host} broke off"
    if isinstance(exc, requests.ConnectionError):
        return f"the connection to {host} broke ({type(exc).__name__})"
    return f"{type(exc).__name__} with {host}"


def never_left(exc: requests.RequestException) -> bool:
    """Whether a request that failed surely never reached the server: it failed while connecting (refused,
    no route, the name did not resolve, the connection timed out, the certificate was refused), before a
    byte of the request was written."""
    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.InvalidURL | requests.exceptions.MissingSchema
                  | requests.exceptions.InvalidSchema):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None  # requests wraps urllib3's MaxRetryError
    if isinstance(reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError):
        return True
    return isinstance(exc, requests.exceptions.SSLError) and isinstance(
        getattr(reason, "args", [None])[0] if reason is not None and reason.args else None,
        ssl.SSLCertVerificationError)
