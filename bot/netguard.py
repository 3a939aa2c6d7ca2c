"""Where a URL that came from content may lead: public addresses, or the hosts the config trusts.

Feed items, article pages and the REST API name images and pages that the bot then fetches (an item's
``<img>``, ``og:image``, the featured image, a link card's thumbnail, the page read for ``bot post --url`` or
for its ``rel=shortlink``). Such fetches go through a :func:`content_session`: it connects only to public
addresses — never loopback, private, link-local, shared, multicast or reserved ones (cloud metadata
services among them) — unless the URL's host is one the config trusts (the site's own hosts,
``site.allowed_hosts``, the configured services: see ``BotConfig.trusted_hosts``). The check is made on
the address actually connected to, for every connection, so a redirect or a name that resolves
differently the second time (DNS rebinding) is caught as well. A refusal raises ``requests.ConnectionError``
before a byte is sent (:func:`refusal` tells it from other failures): the caller logs it and goes on
without what it asked for.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError


class Refused(NewConnectionError):
    """A content-derived URL led to an address the bot does not fetch from (raised while connecting)."""

    def __init__(self, conn: HTTPConnection, why: str) -> None:
        super().__init__(conn, why)
        self.why = why


def refusal(exc: BaseException) -> str | None:
    """Why the guard refused the connection behind a ``requests`` error, or None when it did not."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return reason.why if isinstance(reason, Refused) else None


class Trusted:
    """The hosts content-derived URLs may reach whatever their address (set from the config, again at
    each reload). One per process: every :func:`content_session` asks it at each connection."""

    def __init__(self) -> None:
        self.hosts: frozenset[str] = frozenset()

    def set(self, hosts: Iterable[str]) -> None:
        self.hosts = frozenset(h.lower().strip("[]").removeprefix("www.") for h in hosts if h)

    def allows(self, host: str) -> bool:
        host = host.lower().strip("[]").removeprefix("www.")
        return any(host == h or host.endswith("." + h) for h in self.hosts)


TRUSTED = Trusted()


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")


def public(address: str) -> bool:
    """Whether an IP address is one the internet routes (not loopback, private, link-local, shared, …); an
    IPv6 address that carries an IPv4 one (mapped, NAT64, 6to4, Teredo) is judged by the IPv4 address."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _SITE_LOCAL:
            return False
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None) or \
            (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        if inner is not None:
            ip = inner
    return ip.is_global and not ip.is_multicast


def _checked(conn: HTTPConnection, sock: socket.socket) -> socket.socket:
    if TRUSTED.allows(conn.host):
        return sock
    peer = sock.getpeername()[0]
    if not public(peer):
        sock.close()
        raise Refused(conn, f"{conn.host} is at {peer}, not a public address: refused (add the host to "
                            "site.allowed_hosts if the bot may fetch from it)")
    return sock


class _GuardedHTTP(HTTPConnection):
    """An HTTP connection that checks the address it connected to."""

    def _new_conn(self) -> socket.socket:
        return _checked(self, super()._new_conn())


class _GuardedHTTPS(HTTPSConnection):
    """An HTTPS connection that checks the address before its TLS handshake."""

    def _new_conn(self) -> socket.socket:
        return _checked(self, super()._new_conn())


class _GuardedHTTPPool(HTTPConnectionPool):
    """Pools of checked HTTP connections."""

    ConnectionCls = _GuardedHTTP


class _GuardedHTTPSPool(HTTPSConnectionPool):
    """Pools of checked HTTPS connections."""

    ConnectionCls = _GuardedHTTPS


class _GuardedAdapter(HTTPAdapter):
    """requests' adapter whose pools make checked connections."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}
        self.poolmanager.key_fn_by_scheme = dict(self.poolmanager.key_fn_by_scheme)


def content_session() -> requests.Session:
    """A session for URLs that came from content: public addresses or trusted hosts only, redirects
    included (at most 5)."""
    session = requests.Session()
    session.trust_env = False  # no $HTTP(S)_PROXY (a proxy would connect for us, unchecked), no ~/.netrc
    session.max_redirects = 5
    adapter = _GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
