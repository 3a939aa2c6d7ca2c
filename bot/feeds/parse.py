"""Parsing a feed body (feedparser) into Articles: cleaned headlines, summaries cut to size, images, dates.

feedparser only ever sees bytes we fetched: it never fetches anything itself. A body with no usable feed
becomes a :class:`~bot.errors.FeedError`.
"""

from __future__ import annotations

import calendar
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bot.compose.text import clean_title, html_to_text
from bot.errors import FeedError
from bot.media import dedupe, images_in_html
from bot.models import Article

#: Summaries longer than this are cut (at a word boundary): a post never needs more.
MAX_SUMMARY = 2000


@dataclass(frozen=True)
class ParsedFeed:
    """What one parse found: the articles, and why any entries were left out."""

    articles: list[Article]
    skipped: list[str] = field(default_factory=list)  #: why entries were left out
    bozo: str | None = None  #: the parser's complaint, when it still found entries
    item_hashes: dict[str, str] = field(default_factory=dict)  #: guid → its item's hash (bot.feeds.prescan)


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
