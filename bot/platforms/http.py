"""The HTTP plumbing shared by the publishers that call their platform's API with ``requests``.

:func:`send` makes one request (connect and read timeouts, the bot's user agent), turns every
``requests`` exception into :class:`~bot.errors.Unavailable`, and reads the answer's JSON body. It is the
one place where ``requests``' exceptions are caught and translated for Telegram and Facebook.

What a platform's answer *means* (its error codes, where it says how long to wait, when a 5xx counts)
is not here: each publisher maps its own platform's answers onto the outcome kinds in its own module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from bot.errors import Unavailable

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

    Any :class:`requests.RequestException` (no connection, DNS, a timeout, a connection broken while the
    answer was read: the body is read inside the call, not streamed) raises
    ``Unavailable("cannot reach <platform>: <exception class>")`` without its cause, since the URL or the
    request may hold the account's token.
    """
    try:
        resp = session.request(method, url, timeout=(min(CONNECT_TIMEOUT, timeout), timeout),
                               headers={"User-Agent": user_agent}, **kwargs)
    except requests.RequestException as exc:
        raise Unavailable(f"cannot reach {platform}: {type(exc).__name__}") from None  # the request holds the token
    try:
        body = resp.json()
    except ValueError:
        body = {}
    return Reply(resp.status_code, resp.headers, body)
