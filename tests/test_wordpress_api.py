"""WordPress's REST API: real categories, tags and featured image, cached per article, falling back to the
feed's labels on any failure; tested against a local server answering as WordPress does."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.clock import ManualClock
from bot.config import load_config
from bot.core import Bot
from bot.errors import WordPressError
from bot.feeds import new_session
from bot.feeds.wordpress import fetch_post, parse_post

from .kit.configs import posts, sample_site
from .kit.paths import WORDPRESS_FIXTURES, need_shared
from .kit.servers import FeedServer
from .kit.wordpress import SAMPLE_ITEMS, Item, rest_post, rss2

NEW = Item(130, "عاجل | البرلمان يصوت على قانون الموازنة العامة", ["العراق", "عاجل", "البرلمان", "الموازنة"])
API = "/wp-json/wp/v2/posts/130"


def test_captured_rest_answers() -> None:
    seed = parse_post(json.loads(need_shared(WORDPRESS_FIXTURES / "rest-post-96.json").read_text(encoding="utf-8")))
    assert seed.id == 96 and seed.categories == ("العراق", "سياسة") and seed.tags == ("أوستن", "إيران", "البنتاغون")
    assert seed.featured_image is None and seed.excerpt.startswith("وقع الجانبان")
    photo = parse_post(json.loads((WORDPRESS_FIXTURES / "rest-post-87.json").read_text(encoding="utf-8")))
    assert photo.categories == ("صور",) and photo.tags == ()
    assert photo.featured_image == "https://news.example/wp-content/uploads/2026/11/pentagon.jpg"


def test_our_rest_answers_have_the_captured_shape() -> None:
    post = parse_post(rest_post(NEW, ["العراق", "عاجل"], ["البرلمان"], "https://news.example/up/b.jpg"))
    assert (post.id, post.categories, post.tags) == (130, ("العراق", "عاجل"), ("البرلمان",))
    assert post.featured_image == "https://news.example/up/b.jpg"
    captured = WORDPRESS_FIXTURES / "rest-post-87.json"
    if captured.exists():
        real = json.loads(captured.read_text(encoding="utf-8"))
        ours = rest_post(NEW, ["صور"], [], "https://news.example/x.jpg")
        assert set(ours) <= set(real) and set(ours["_embedded"]) <= set(real["_embedded"])


def test_fetch_post_over_http_and_its_errors(feed_server: FeedServer) -> None:
    feed_server.set(API + "?_embed", json.dumps(rest_post(NEW, ["العراق"], ["البرلمان"])),
                    content_type="application/json; charset=UTF-8", conditional=False)
    post = fetch_post(feed_server.base, 130, session=new_session(), timeout=2, user_agent="t")
    assert post.categories == ("العراق",)
    # Sites without pretty permalinks answer at ?rest_route=
    feed_server.set("/?rest_route=/wp/v2/posts/131&_embed", json.dumps(rest_post(Item(131, "x"), ["أ"], [])),
                    content_type="application/json", conditional=False)
    assert fetch_post(feed_server.base, 131, session=new_session(), timeout=2, user_agent="t").categories == ("أ",)
    with pytest.raises(WordPressError, match="404"):
        fetch_post(feed_server.base, 999, session=new_session(), timeout=2, user_agent="t")
    feed_server.set("/wp-json/wp/v2/posts/132?_embed", b"<html>maintenance</html>", content_type="text/html",
                    conditional=False)
    with pytest.raises(WordPressError, match="not JSON"):
        fetch_post(feed_server.base, 132, session=new_session(), timeout=2, user_agent="t")


def setup_site(tmp_path: Path, feed_server: FeedServer, **account: object) -> Path:
    return sample_site(
        tmp_path, feed_server, feed={"site_url": feed_server.base},
        site={"name": "قريش", "url": feed_server.base, "wordpress_api": True, "allowed_hosts": ["news.example"]},
        accounts=[{"id": "console", "platform": "console", "output": str(tmp_path / "posts.jsonl"),
                   "template": "{title}\n{short_link}\n{hashtags}", **account}],
    )


def test_hashtags_come_from_real_categories_when_the_api_is_on(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    config = load_config(setup_site(tmp_path, feed_server, hashtags={"source": "categories", "max": 5}))
    feed_server.set(API + "?_embed", json.dumps(rest_post(NEW, ["العراق", "عاجل"], ["البرلمان", "الموازنة"],
                                                          f"{feed_server.base}/up/b.jpg")),
                    content_type="application/json", conditional=False)
    bot = Bot.open(config, clock=clock)
    bot.poll("main")
    feed_server.set("/feed", rss2([NEW, *SAMPLE_ITEMS]))
    bot.poll("main")
    bot.dispatch()
    [post] = posts(tmp_path)
    assert post["text"].endswith("\n#العراق #عاجل")  # the feed's labels would have added #البرلمان #الموازنة
    [article] = [a for a in bot.store.articles() if a.guid == NEW.guid]
    assert article.tags == ("البرلمان", "الموازنة") and article.featured_image == f"{feed_server.base}/up/b.jpg"
    assert article.excerpt == NEW.title  # the post's own excerpt, for {excerpt}
    assert len(feed_server.hits(API + "?_embed")) == 1  # asked once, then cached
    bot.close()


def test_an_api_failure_falls_back_to_the_feeds_labels(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    config = load_config(setup_site(tmp_path, feed_server, hashtags={"max": 5}))
    feed_server.set(API + "?_embed", b'{"code":"rest_forbidden"}', status=401, content_type="application/json",
                    conditional=False)
    bot = Bot.open(config, clock=clock)
    bot.poll("main")
    feed_server.set("/feed", rss2([NEW, *SAMPLE_ITEMS]))
    bot.poll("main")
    [outcome] = bot.dispatch()
    assert outcome.status == "sent"
    [post] = posts(tmp_path)
    assert post["text"].endswith("#العراق #عاجل #البرلمان #الموازنة")
    assert "WordPress API failed for post 130" in caplog.text and "HTTP 401" in caplog.text
    bot.close()


def test_a_permalink_guid_finds_its_post_id_through_the_pages_shortlink(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    path = setup_site(tmp_path, feed_server, hashtags={"source": "tags"})
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    pretty = Item(131, "المنتخب يتأهل", ["رياضة"], pretty_guid=True, site=feed_server.base)
    page = urlsplit(pretty.link).path
    feed_server.set(page, f"<html><head><link rel='shortlink' href='{feed_server.base}/?p=131' /></head></html>",
                    content_type="text/html", conditional=False)
    feed_server.set("/wp-json/wp/v2/posts/131?_embed", json.dumps(rest_post(pretty, ["رياضة"], ["كأس آسيا"])),
                    content_type="application/json", conditional=False)
    feed_server.set("/feed", rss2([pretty, *SAMPLE_ITEMS]))
    bot.poll("main")
    [outcome] = bot.dispatch()
    assert outcome.status == "sent"
    [post] = posts(tmp_path)
    assert post["text"] == f"المنتخب يتأهل\n{feed_server.base}/?p=131\n#كأس_آسيا"
    bot.close()
