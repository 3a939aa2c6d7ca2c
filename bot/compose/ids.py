"""WordPress's post id in a link (``?p=ID``), and the short link rebuilt from it: pure string work."""

from __future__ import annotations

import re

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
