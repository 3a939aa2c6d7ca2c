"""WordPress's REST API: an article's real categories and tags (the feed mixes them), its featured image
and its excerpt, from ``/wp-json/wp/v2/posts/<id>?_embed``. Used when ``site.wordpress_api`` is on; any
failure leaves the feed's labels in place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from bot.compose.text import html_to_text
from bot.errors import WordPressError

MAX_ANSWER = 2_000_000


@dataclass(frozen=True)
class WordPressPost:
    """What the WordPress REST API says of a post."""

    id: int
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    excerpt: str
    featured_image: str | None


def parse_post(data: Any) -> WordPressPost:
    """The parts of a ``/wp/v2/posts/<id>?_embed`` answer the bot uses."""
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        raise WordPressError("the answer is not a WordPress post")
    embedded = data.get("_embedded") or {}
    categories: list[str] = []
    tags: list[str] = []
    for group in embedded.get("wp:term") or []:
        for term in group if isinstance(group, list) else []:
            name = html_to_text(str(term.get("name") or ""))
            if not name:
                continue
            if term.get("taxonomy") == "category":
                categories.append(name)
            elif term.get("taxonomy") == "post_tag":
                tags.append(name)
    image = None
    for media in embedded.get("wp:featuredmedia") or []:
        if isinstance(media, dict) and str(media.get("source_url") or "").startswith(("http://", "https://")):
            image = str(media["source_url"])
            break
    excerpt = html_to_text(str((data.get("excerpt") or {}).get("rendered") or ""))
    return WordPressPost(data["id"], tuple(dict.fromkeys(categories)), tuple(dict.fromkeys(tags)), excerpt, image)


def fetch_post(site_url: str, post_id: int, *, session: requests.Session, timeout: float,
               user_agent: str) -> WordPressPost:
    """Ask the site's REST API for one post (pretty ``/wp-json/`` first, then ``?rest_route=``)."""
    base = site_url.rstrip("/")
    last = ""
    for url in (f"{base}/wp-json/wp/v2/posts/{post_id}?_embed",
                f"{base}/?rest_route=/wp/v2/posts/{post_id}&_embed"):
        try:
            with session.get(url, timeout=timeout, stream=True,
                             headers={"User-Agent": user_agent, "Accept": "application/json"}) as resp:
                if resp.status_code == 404:
                    last = "HTTP 404"
                    continue
                if resp.status_code != 200:
                    raise WordPressError(f"{url}: HTTP {resp.status_code}")
                body = resp.raw.read(MAX_ANSWER + 1, decode_content=True)
        except requests.RequestException as exc:
            raise WordPressError(f"{url}: {type(exc).__name__}") from exc
        if len(body) > MAX_ANSWER:
            raise WordPressError(f"{url}: the answer is over {MAX_ANSWER:,} bytes")
        try:
            import json

            return parse_post(json.loads(body))
        except ValueError as exc:
            raise WordPressError(f"{url}: not JSON") from exc
    raise WordPressError(f"post {post_id}: {last}")
