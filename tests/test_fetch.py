"""Fetching over a real socket: conditional GET, limits, timeouts, errors."""

from __future__ import annotations

import gzip
import re
from dataclasses import replace
from pathlib import Path

import pytest

from bot.errors import FeedError
from bot.feeds import FeedClient, content_hash, fetch
from bot.models import Validators

from .kit.servers import FeedServer
from .kit.wordpress import SAMPLE_ITEMS, rss2

UA = "wp-social-bot/test (+https://news.example)"
BODY = rss2(SAMPLE_ITEMS[:3]).encode()


def get(url: str, known: Validators | None = None, **kw):  # type: ignore[no-untyped-def]
    known = known or Validators()
    opts = {"timeout": 5.0, "max_size": 10_000_000, **kw}
    return fetch(url, known, client=FeedClient(), user_agent=UA, **opts)


def test_first_fetch_then_conditional_get(feed_server: FeedServer) -> None:
    feed_server.set("/feed", BODY)
    first = get(feed_server.url("/feed"))
    assert first.status == "ok" and first.body == BODY and first.http_status == 200
    assert first.validators.etag and first.validators.last_modified
    assert first.validators.body_hash == content_hash(BODY)
    assert first.content_type.startswith("application/rss+xml")
    [req] = feed_server.hits("/feed")
    assert req.headers["User-Agent"] == UA and "If-None-Match" not in req.headers

    second = get(feed_server.url("/feed"), first.validators)
    assert second.status == "not_modified" and second.body is None
    assert second.validators == first.validators
    req = feed_server.hits("/feed")[1]
    assert req.headers["If-None-Match"] == first.validators.etag
    assert req.headers["If-Modified-Since"] == first.validators.last_modified


def test_identical_body_without_validators_is_unchanged(feed_server: FeedServer) -> None:
    feed_server.set("/feed", BODY, conditional=False)
    first = get(feed_server.url("/feed"))
    again = get(feed_server.url("/feed"), first.validators)
    assert again.status == "unchanged"
    feed_server.set("/feed", rss2(SAMPLE_ITEMS[:4]), conditional=False)
    assert get(feed_server.url("/feed"), first.validators).status == "ok"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_size_cap_is_enforced(feed_server: FeedServer, chunked: bool) -> None:
    feed_server.set("/big", b"<rss>" + b" " * 300_000 + b"</rss>", chunked=chunked)
    with pytest.raises(FeedError, match="over the limit of 100,000 bytes"):
        get(feed_server.url("/big"), max_size=100_000)


def test_http_errors_name_the_status(feed_server: FeedServer) -> None:
    feed_server.set("/down", b"oops", status=503, content_type="text/plain")
    with pytest.raises(FeedError, match="HTTP 503"):
        get(feed_server.url("/down"))
    with pytest.raises(FeedError, match="HTTP 404"):
        get(feed_server.url("/missing"))


def test_read_timeout(feed_server: FeedServer) -> None:
    feed_server.set("/slow", BODY, delay=2.0)
    with pytest.raises(FeedError, match="timed out"):
        get(feed_server.url("/slow"), timeout=0.3)


def test_a_trickling_server_is_cut_off(feed_server: FeedServer) -> None:
    feed_server.set("/trickle", BODY, trickle=0.05)  # each byte arrives well inside the read timeout
    with pytest.raises(FeedError, match="took more than"):
        get(feed_server.url("/trickle"), timeout=0.2)


def test_redirect_loop(feed_server: FeedServer) -> None:
    feed_server.set("/a", b"", status=302, headers={"Location": "/b"}, conditional=False)
    feed_server.set("/b", b"", status=302, headers={"Location": "/a"}, conditional=False)
    with pytest.raises(FeedError, match="too many redirects"):
        get(feed_server.url("/a"))


def test_redirect_is_followed(feed_server: FeedServer) -> None:
    feed_server.set("/old", b"", status=301, headers={"Location": "/feed"}, conditional=False)
    feed_server.set("/feed", BODY)
    got = get(feed_server.url("/old"))
    assert got.status == "ok" and got.url == feed_server.url("/feed")


def test_connection_refused(feed_server: FeedServer) -> None:
    url = feed_server.url("/feed")
    feed_server.close()
    with pytest.raises(FeedError, match="cannot connect"):
        get(url)


def test_file_feeds(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(BODY)
    first = get(path.as_uri())
    assert first.status == "ok" and first.body == BODY
    assert get(path.as_uri(), first.validators).status == "unchanged"
    with pytest.raises(FeedError, match="over the limit"):
        get(path.as_uri(), max_size=100)
    with pytest.raises(FeedError, match="no such file"):
        get((tmp_path / "missing.xml").as_uri())


def test_gzip_bodies_are_decoded_and_the_cap_applies_to_what_they_expand_to(feed_server: FeedServer) -> None:
    feed_server.set("/gz", gzip.compress(BODY), headers={"Content-Encoding": "gzip"})
    assert get(feed_server.url("/gz")).body == BODY
    bomb = gzip.compress(b"<rss>" + b" " * 5_000_000)  # ~5 KB on the wire, 5 MB decoded
    feed_server.set("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FeedError, match="over the limit of 1,000,000 bytes"):
        get(feed_server.url("/bomb"), max_size=1_000_000)


def test_the_content_hash_ignores_what_moves_when_no_article_did() -> None:
    """WordPress moves lastBuildDate on every comment and save, and each item's comment count: such a body
    is not parsed again. Anything else in an item (a headline, a summary, a new item) is a change."""
    from .kit.wordpress import SAMPLE_ITEMS, Item, atom, rss2

    body = rss2(SAMPLE_ITEMS)
    base = content_hash(body.encode())
    moved = re.sub(r"<lastBuildDate>[^<]*<", "<lastBuildDate>Mon, 30 Nov 2026 01:02:03 +0000<", body)
    assert moved != body and content_hash(moved.encode()) == base
    if "<slash:comments>" in body:
        commented = body.replace("<slash:comments>0</slash:comments>", "<slash:comments>7</slash:comments>", 1)
        assert commented != body and content_hash(commented.encode()) == base
    edited = rss2([replace(SAMPLE_ITEMS[0], title="عنوان معدّل بعد النشر"), *SAMPLE_ITEMS[1:]])
    assert content_hash(edited.encode()) != base
    resummarised = rss2([replace(SAMPLE_ITEMS[0], body="ملخص آخر للخبر"), *SAMPLE_ITEMS[1:]])
    assert content_hash(resummarised.encode()) != base
    added = rss2([Item(999, "خبر جديد"), *SAMPLE_ITEMS])
    assert content_hash(added.encode()) != base
    feed = atom(SAMPLE_ITEMS)
    updated = re.sub(r"<updated>[^<]*</updated>", "<updated>2026-11-30T00:00:00Z</updated>", feed, count=1)
    assert updated != feed and content_hash(updated.encode()) == content_hash(feed.encode())
    head, _, last = feed.rpartition("<updated>")  # the last entry's own date
    entry_updated = head + "<updated>2026-12-01T00:00:00Z" + last[last.index("</updated>"):]
    assert entry_updated != feed and content_hash(entry_updated.encode()) != content_hash(feed.encode())
