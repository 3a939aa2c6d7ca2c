"""Short links and UTM: each strategy against a local server, including timeouts and errors."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from bot.clock import ManualClock
from bot.compose.ids import post_id, wordpress_short_link
from bot.config import ShortLinkConfig
from bot.feeds import new_session
from bot.links import Shortener, add_utm, shortlink_in_page
from bot.store import Store

from .kit.paths import WORDPRESS_FIXTURES, need_shared
from .kit.servers import FeedServer, Seen

UA = "wp-social-bot/test"
PRETTY = "/2026/11/%d8%a7%d9%84%d9%88%d9%81%d8%af%d8%a7%d9%86/"
PAGE = ("<!doctype html><html dir='rtl'><head><title>الوفدان – قريش</title>"
        "<link rel='shortlink' href='https://news.example/?p=79' /></head><body></body></html>")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    yield s
    s.close()


def shortener(store: Store, clock: ManualClock, **settings: object) -> Shortener:
    return Shortener(ShortLinkConfig.model_validate(settings), store, new_session(), UA, clock)


def test_post_id_and_wordpress_short_links() -> None:
    assert post_id("https://news.example/?p=96") == 96
    assert post_id("https://news.example/2026/11/slug/", "https://news.example/?p=12") == 12
    assert post_id("https://news.example/2026/11/slug/") is None
    assert post_id("https://news.example/?p=96&x=1") is None
    # A guid keeps the domain the site had when the post was written: rebuilt on today's address.
    assert wordpress_short_link("http://old-domain.example/?p=96", "https://news.example/") == (
        "https://news.example/?p=96")


def test_utm_keeps_the_query_and_replaces_only_utm() -> None:
    assert add_utm("https://news.example/?p=96", {"source": "twitter", "medium": "social"}) == (
        "https://news.example/?p=96&utm_source=twitter&utm_medium=social")
    assert add_utm("https://news.example/a/?utm_source=old&x=%D8%A7", {"source": "x"}) == (
        "https://news.example/a/?x=%D8%A7&utm_source=x")
    assert add_utm("https://news.example/a/", {}) == "https://news.example/a/"


def test_shortlink_in_page_header_or_tag() -> None:
    assert shortlink_in_page({"Link": '<https://news.example/wp-json/>; rel="https://api.w.org/", '
                                      "<https://news.example/?p=96>; rel=shortlink"}, "") == "https://news.example/?p=96"
    assert shortlink_in_page({}, PAGE) == "https://news.example/?p=79"
    assert shortlink_in_page({}, "<html><head><link rel='canonical' href='x'></head></html>") is None


def test_the_captured_article_page_declares_its_shortlink() -> None:
    html = need_shared(WORDPRESS_FIXTURES / "article.html").read_text(encoding="utf-8")
    assert shortlink_in_page({}, html) == "https://news.example/?p=96"
    headers = (WORDPRESS_FIXTURES / "article-headers.txt").read_text(encoding="utf-8")
    links = ", ".join(line.split(": ", 1)[1].strip() for line in headers.splitlines() if line.startswith("Link:"))
    assert shortlink_in_page({"Link": links}, "") == "https://news.example/?p=96"


def test_wordpress_from_a_p_guid_asks_nothing(store: Store, clock: ManualClock, feed_server: FeedServer) -> None:
    s = shortener(store, clock)
    link = add_utm("https://news.example/2026/11/slug/", {"source": "twitter"})
    assert s.short_link(link, "https://news.example/?p=96", feed_server.base) == (
        f"{feed_server.base}/?p=96&utm_source=twitter")
    assert feed_server.requests == []


def test_wordpress_reads_the_page_when_the_guid_is_a_permalink(
    store: Store, clock: ManualClock, feed_server: FeedServer,
) -> None:
    feed_server.set(PRETTY, PAGE, content_type="text/html; charset=UTF-8", conditional=False)
    s = shortener(store, clock)
    url = feed_server.url(PRETTY)
    assert s.short_link(url, url, feed_server.base) == "https://news.example/?p=79"
    assert s.short_link(url, url, feed_server.base) == "https://news.example/?p=79"
    assert len(feed_server.hits(PRETTY)) == 1  # cached in the store
    feed_server.set("/header/", b"<html></html>", content_type="text/html",
                    headers={"Link": "<https://news.example/?p=5>; rel=shortlink"}, conditional=False)
    assert s.short_link(feed_server.url("/header/"), feed_server.url("/header/"), feed_server.base) == (
        "https://news.example/?p=5")
    off = shortener(store, clock, page_lookup=False)
    assert off.short_link(feed_server.url("/other/"), feed_server.url("/other/"), feed_server.base) == (
        feed_server.url("/other/"))
    assert feed_server.hits("/other/") == []


@pytest.mark.parametrize("trouble", ["404", "no-shortlink", "slow", "refused"])
def test_any_failure_falls_back_to_the_full_link_quickly(
    store: Store, clock: ManualClock, feed_server: FeedServer, caplog: pytest.LogCaptureFixture, trouble: str,
) -> None:
    url = feed_server.url(PRETTY)
    if trouble == "no-shortlink":
        feed_server.set(PRETTY, "<html><head></head></html>", content_type="text/html", conditional=False)
    elif trouble == "slow":
        feed_server.set(PRETTY, PAGE, content_type="text/html", delay=3.0, conditional=False)
    elif trouble == "refused":
        feed_server.close()
    started = time.monotonic()
    assert shortener(store, clock, timeout=0.3).short_link(url, url, "https://news.example") == url
    assert time.monotonic() - started < 2.5
    assert "using the full link" in caplog.text


def yourls(signature: str, known: dict[str, str]):  # type: ignore[no-untyped-def]
    def handle(req: Seen) -> tuple[int, dict[str, str], bytes]:
        form = {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
        if form.get("signature") != signature:
            return 403, {}, json.dumps({"message": "Please log in", "errorCode": 403}).encode()
        url = form["url"]
        if url in known:  # YOURLS: "already exists", still with the short link
            return 400, {}, json.dumps({"status": "fail", "code": "error:url", "message": f"{url} already exists",
                                        "shorturl": known[url]}).encode()
        known[url] = f"https://q.example/{len(known) + 1}"
        return 200, {}, json.dumps({"status": "success", "shorturl": known[url]}).encode()
    return handle


def test_yourls(store: Store, clock: ManualClock, feed_server: FeedServer) -> None:
    known = {"https://news.example/old/": "https://q.example/old"}
    feed_server.handlers["/yourls-api.php"] = yourls("s3cret", known)
    s = shortener(store, clock, kind="yourls", api_url=feed_server.url("/yourls-api.php"), token="s3cret")
    assert s.short_link("https://news.example/a/", "g", "https://news.example") == "https://q.example/2"
    assert s.short_link("https://news.example/a/", "g", "https://news.example") == "https://q.example/2"
    assert len(feed_server.hits("/yourls-api.php")) == 1  # cached
    assert s.short_link("https://news.example/old/", "g", "https://news.example") == "https://q.example/old"
    [req] = feed_server.hits("/yourls-api.php")[:1]
    assert req.method == "POST" and parse_qs(req.body.decode())["action"] == ["shorturl"]
    bad = shortener(store, clock, kind="yourls", api_url=feed_server.url("/yourls-api.php"), token="wrong")
    assert bad.short_link("https://news.example/b/", "g", "https://news.example") == "https://news.example/b/"


def bitly(token: str):  # type: ignore[no-untyped-def]
    def handle(req: Seen) -> tuple[int, dict[str, str], bytes]:
        if req.headers.get("Authorization") != f"Bearer {token}":
            return 403, {}, json.dumps({"message": "FORBIDDEN", "description": "forbidden"}).encode()
        body = json.loads(req.body)
        return 201, {}, json.dumps({"link": f"https://{body['domain']}/3xYz", "long_url": body["long_url"]}).encode()
    return handle


def test_bitly(store: Store, clock: ManualClock, feed_server: FeedServer) -> None:
    feed_server.handlers["/v4/shorten"] = bitly("tok")
    s = shortener(store, clock, kind="bitly", api_url=feed_server.base, token="tok", domain="qrsh.news")
    assert s.short_link("https://news.example/a/?utm_source=x", "g", "https://news.example") == (
        "https://qrsh.news/3xYz")
    [req] = feed_server.hits("/v4/shorten")
    assert json.loads(req.body) == {"long_url": "https://news.example/a/?utm_source=x", "domain": "qrsh.news"}
    bad = shortener(store, clock, kind="bitly", api_url=feed_server.base, token="revoked")
    assert bad.short_link("https://news.example/b/", "g", "https://news.example") == "https://news.example/b/"


def test_a_shortener_answering_nonsense_is_not_trusted(
    store: Store, clock: ManualClock, feed_server: FeedServer,
) -> None:
    feed_server.handlers["/v4/shorten"] = lambda req: (200, {}, b'{"link": "javascript:alert(1)"}')
    feed_server.handlers["/yourls-api.php"] = lambda req: (200, {"Content-Type": "text/html"}, b"<html>oops</html>")
    s = shortener(store, clock, kind="bitly", api_url=feed_server.base, token="t")
    assert s.short_link("https://news.example/a/", "g", "https://news.example") == "https://news.example/a/"
    y = shortener(store, clock, kind="yourls", api_url=feed_server.url("/yourls-api.php"), token="t")
    assert y.short_link("https://news.example/a/", "g", "https://news.example") == "https://news.example/a/"


def test_none_is_the_full_link(store: Store, clock: ManualClock) -> None:
    assert shortener(store, clock, kind="none").short_link("https://news.example/a/", "https://news.example/?p=1",
                                                          "https://news.example") == "https://news.example/a/"


def test_a_trickling_page_cannot_hold_a_post(store: Store, clock: ManualClock, feed_server: FeedServer) -> None:
    feed_server.set(PRETTY, "<html><head>" + " " * 2000 + "</head></html>", content_type="text/html",
                    trickle=0.01, conditional=False)
    url = feed_server.url(PRETTY)
    started = time.monotonic()
    assert shortener(store, clock, timeout=0.5).short_link(url, url, "https://news.example") == url
    assert time.monotonic() - started < 3
