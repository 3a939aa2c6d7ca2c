"""The pre-scan: a poll parses only the items it has not stored in exactly that form. New and edited items
are still seen; what WordPress moves without an article changing (lastBuildDate, comment counts) is not
parsed at all; anything the split is unsure of is parsed whole."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import load_config
from bot.core import Bot
from bot.feeds import parse
from bot.feeds.prescan import split_items

from .kit.configs import posts, write_config
from .kit.paths import WORDPRESS_FIXTURES, need_shared
from .kit.servers import FeedServer
from .kit.wordpress import SAMPLE_ITEMS, Item, atom, rss2


def test_a_wordpress_feed_splits_into_its_items() -> None:
    body = rss2(SAMPLE_ITEMS).encode()
    split = split_items(body)
    assert split is not None and len(split.items) == len(SAMPLE_ITEMS) == len(set(split.hashes))
    assert b"<item>" not in split.head and b"</item>" not in split.tail
    whole = parse(body, feed_id="main", url="https://news.example/feed/").articles
    assert parse(split.only(list(range(len(split.items)))), feed_id="main", url="https://news.example/feed/",
                 ).articles == whole
    assert parse(split.only([2]), feed_id="main", url="https://news.example/feed/").articles == [whole[2]]
    again = split_items(body.replace(b"<slash:comments>0</slash:comments>", b"<slash:comments>5</slash:comments>"))
    assert again is not None and again.hashes == split.hashes  # a comment is not an edit
    entries = split_items(atom(SAMPLE_ITEMS).encode())
    assert entries is not None and len(entries.items) == len(SAMPLE_ITEMS)


def test_the_captured_feed_splits_too() -> None:
    body = need_shared(WORDPRESS_FIXTURES / "rss2.xml").read_bytes()
    split = split_items(body)
    assert split is not None and len(split.items) == body.count(b"<item>")


@pytest.mark.parametrize("body", [
    b"<rss><channel><title>t</title></channel></rss>",  # no items
    # an article quoting </item> in its CDATA: the split would cut it
    b"<rss><channel><item><title>a</title><description><![CDATA[see </item> here]]></description></item>"
    b"</channel></rss>",
    # an item inside another one's text
    b"<rss><channel><item><title>a &lt;b</title><x><item>b</item></x></item></channel></rss>",
])
def test_anything_uncertain_is_not_split(body: bytes) -> None:
    assert split_items(body) is None


def poll_bot(tmp_path: Path, feed_server: FeedServer, clock: ManualClock, items: list[Item]) -> Bot:
    feed_server.set("/feed", rss2(items), conditional=False)
    config = load_config(write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed")}],
                                      accounts=[{"id": "console", "platform": "console",
                                                 "output": str(tmp_path / "posts.jsonl"), "repost_on_edit": True}]))
    return Bot.open(config, clock=clock)


def test_only_new_and_edited_items_are_parsed(tmp_path: Path, feed_server: FeedServer, clock: ManualClock) -> None:
    bot = poll_bot(tmp_path, feed_server, clock, SAMPLE_ITEMS)
    first = bot.poll("main")
    assert first.first_start and first.parsed_items == len(SAMPLE_ITEMS)
    new = Item(500, "خبر جديد بعد التشغيل", ["محليات"])
    feed_server.set("/feed", rss2([new, *SAMPLE_ITEMS]).replace("<slash:comments>0<", "<slash:comments>3<"),
                    conditional=False)
    result = bot.poll("main")
    assert (result.status, result.entries, result.new, result.parsed_items) == ("ok", 11, 1, 1)
    bot.dispatch()
    assert [p["text"].split("\n")[0] for p in posts(tmp_path)] == ["خبر جديد بعد التشغيل"]
    # The editor fixes a headline: that item alone is parsed, and the edit is seen.
    edited = replace(SAMPLE_ITEMS[3], title="عنوان مصحح بعد النشر")
    feed_server.set("/feed", rss2([new, *SAMPLE_ITEMS[:3], edited, *SAMPLE_ITEMS[4:]]), conditional=False)
    result = bot.poll("main")
    assert (result.new, result.edited, result.parsed_items) == (0, 1, 1)
    assert any(a.title == "عنوان مصحح بعد النشر" for a in bot.store.articles("main"))
    # The same items again, in another body (the site's name changed): nothing to parse.
    feed_server.set("/feed", rss2([new, *SAMPLE_ITEMS[:3], edited, *SAMPLE_ITEMS[4:]], name="قريش نيوز"),
                    conditional=False)
    result = bot.poll("main")
    assert (result.status, result.parsed) == ("unchanged", False)
    bot.close()


def test_articles_stored_before_item_hashes_are_parsed_once_more(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    import sqlalchemy as sa

    from bot.store import articles

    bot = poll_bot(tmp_path, feed_server, clock, SAMPLE_ITEMS)
    bot.poll("main")
    with bot.store.engine.begin() as c:  # as a database migrated from revision 0002 has them
        c.execute(sa.update(articles).values(item_hash=None))
    feed_server.set("/feed", rss2(SAMPLE_ITEMS, name="قريش نيوز"), conditional=False)
    once = bot.poll("main")
    assert (once.status, once.new, once.parsed_items) == ("ok", 0, len(SAMPLE_ITEMS))
    feed_server.set("/feed", rss2(SAMPLE_ITEMS, name="قريش"), conditional=False)
    assert bot.poll("main").status == "unchanged"  # their hashes are kept now
    bot.close()
