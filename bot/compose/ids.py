"""An article's identity beyond its guid, and WordPress's post id in a link (``?p=ID``) with the short link
rebuilt from it: pure string work.

A guid can change under an article (a search-and-replace of http → https rewrites every one; a post
published in one step has its permalink as guid while its page's short link says ``?p=ID``). Two keys
survive that: the post key (WordPress's post id, from a ``?p=ID`` guid or link) and the link key (the link
without scheme, ``www.``, port, fragment and ``utm_`` parameters, percent-escapes decoded). Articles with
the same post key or the same link key are the same article; articles both in one feed at once never are.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

#: A WordPress short link or draft guid: ``https://host/?p=123``.
_P_LINK = re.compile(r"^https?://[^/?#]+/?\?p=(\d+)$")


def post_id(guid: str, link: str = "") -> int | None:
    """WordPress's post id from a ``?p=ID`` guid or link."""
    for candidate in (guid, link):
        m = _P_LINK.match(candidate.strip())
        if m:
            return int(m.group(1))
    return None


def wordpress_short_link(guid: str, site_url: str) -> str | None:
    """``?p=ID`` rebuilt on the site's address, when the guid has that form."""
    pid = post_id(guid)
    return None if pid is None else f"{site_url.rstrip('/')}/?p={pid}"


def host_key(url: str) -> str:
    """A URL's host as the bot compares hosts: lower case, without ``www.`` ("" when it has none)."""
    return (urlsplit(url.strip()).hostname or "").lower().removeprefix("www.")


def post_key(guid: str, link: str = "") -> str | None:
    """The article's WordPress post id with its site's host as a key (``news.example?p=96``: two sites have
    posts with the same ids), when its guid or link says it."""
    for candidate in (guid, link):
        pid = post_id(candidate)
        if pid is not None:
            return f"{host_key(candidate)}?p={pid}"
    return None


def link_key(url: str) -> str | None:
    """The article's link as a key: host (without ``www.``) and path, the query without ``utm_`` parameters;
    no scheme, port or fragment; percent-escapes decoded. None for what is not a web link, and for a site's
    front page (many items may link there: it names no one article)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower().removeprefix("www.")
    path = unquote(parts.path)
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                             if not k.lower().startswith("utm_")))
    if path in ("", "/") and not query:
        return None
    return f"{host}{path}?{query}" if query else f"{host}{path}"
