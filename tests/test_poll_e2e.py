"""End to end: a WordPress-shaped feed on a local HTTP server → ``bot poll`` → console posts."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.compose.length import count_x
from bot.config import load_config
from bot.core import Bot
from bot.models import DeliveryState

from .kit.configs import posts, sample_site, write_config
from .kit.paths import DEMO_FEED, ROOT, WORDPRESS_FIXTURES, need_shared
from .kit.runs import Run
from .kit.servers import FeedServer
from .kit.wordpress import DEMO_SITE, SAMPLE_ITEMS, Item, demo_items, rss2

NEW = Item(130, "عاجل | البرلمان يصوت على قانون الموازنة العامة للعام المقبل", ["عاجل", "البرلمان"])
ANOTHER = Item(131, "الأرصاد: أمطار غزيرة متوقعة على المحافظات الجنوبية", ["طقس"])


@pytest.fixture
def setup(tmp_path: Path, feed_server: FeedServer) -> Path:
    return sample_site(tmp_path, feed_server)


def test_first_poll_marks_seen_then_each_new_article_is_posted_once(
    setup: Path, tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    first = run_bot("poll", "--config", str(setup))
    assert first.code == 0 and first.out == "" and posts(tmp_path) == []
    assert "feed=main status=ok entries=10 new=10 edited=0 queued=0" in caplog.text
    assert "first_start=yes" in caplog.text

    feed_server.set("/feed", rss2([NEW, *SAMPLE_ITEMS]))
    second = run_bot("poll", "--config", str(setup))
    assert second.code == 0
    [post] = posts(tmp_path)
    assert post["text"] == f"{NEW.title}\n\nhttps://news.example/?p=130"  # WordPress's own short link
    assert post["account"] == "console"
    assert NEW.title in second.out and "── console" in second.out  # the readable block

    caplog.clear()
    third = run_bot("poll", "--config", str(setup))  # same feed again: the server answers 304
    assert third.code == 0 and third.out == "" and len(posts(tmp_path)) == 1
    assert "feed=main status=not_modified" in caplog.text
    assert feed_server.hits("/feed")[-1].status == 304

    # Two new ones at once: each posted once, oldest first.
    feed_server.set("/feed", rss2([ANOTHER, NEW, *SAMPLE_ITEMS]))
    run_bot("poll", "--config", str(setup))
    assert [p["title"] for p in posts(tmp_path)] == [NEW.title, ANOTHER.title]


def test_a_restart_reposts_nothing_even_without_conditional_get(
    setup: Path, tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run],
) -> None:
    run_bot("poll", "--config", str(setup))
    feed_server.set("/feed", rss2([NEW, *SAMPLE_ITEMS]), conditional=False)
    run_bot("poll", "--config", str(setup))
    assert len(posts(tmp_path)) == 1
    # A new process on the same database, the server ignoring If-None-Match and the body changed (the
    # site's name): every item is known, nothing is posted again.
    feed_server.set("/feed", rss2([NEW, *SAMPLE_ITEMS]).replace("<title>قريش</title>", "<title>قريش نيوز</title>", 1),
                    conditional=False)
    proc = subprocess.run([sys.executable, "-m", "bot", "poll", "--config", str(setup)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "status=unchanged new=0" in proc.stderr  # each item as stored: not even parsed
    assert len(posts(tmp_path)) == 1


def test_an_unchanged_body_is_not_parsed(tmp_path: Path, feed_server: FeedServer, clock: ManualClock) -> None:
    feed_server.set("/feed", rss2(SAMPLE_ITEMS), conditional=False)  # a server with no ETag at all
    config = load_config(write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed")}]))
    bot = Bot.open(config, clock=clock)
    assert bot.poll("main").parsed
    again = bot.poll("main")
    assert again.status == "unchanged" and not again.parsed
    feed_server.set("/feed", rss2(SAMPLE_ITEMS))  # now with ETag: first a 200, then 304s
    assert bot.poll("main").status == "unchanged"
    result = bot.poll("main")
    assert result.status == "not_modified" and not result.parsed
    bot.close()


def test_a_broken_feed_beside_a_good_one(
    tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run], caplog: pytest.LogCaptureFixture,
    clock: ManualClock,
) -> None:
    feed_server.set("/good", rss2(SAMPLE_ITEMS))
    feed_server.set("/broken", b"<html><body>Error establishing a database connection</body></html>",
                    content_type="text/html; charset=UTF-8")
    config = write_config(tmp_path, feeds=[
        {"id": "broken", "url": feed_server.url("/broken")},
        {"id": "good", "url": feed_server.url("/good")},
        {"id": "down", "url": feed_server.url("/missing")},
    ])
    assert run_bot("poll", "--config", str(config)).code == 1  # something failed: cron sees it
    feed_server.set("/good", rss2([NEW, *SAMPLE_ITEMS]))
    caplog.set_level(logging.INFO)
    clock.advance(timedelta(minutes=1))
    assert run_bot("poll", "--config", str(config)).code == 1
    assert [p["title"] for p in posts(tmp_path)] == [NEW.title]
    assert "feed=broken status=error" in caplog.text
    assert "no RSS or Atom feed found in the response (the server sent text/html)" in caplog.text
    assert "feed=down status=error" in caplog.text and "HTTP 404" in caplog.text


def test_a_failing_feed_backs_off_then_recovers(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    feed_server.set("/feed", b"busy", status=503, content_type="text/plain")
    config = load_config(write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed"),
                                                         "interval": "60s"}]))
    bot = Bot.open(config, clock=clock)
    results = []
    for _ in range(4):  # four failures in a row: the wait doubles each time (60s, 120s, 240s, ...)
        results.append(bot.poll("main"))
        assert results[-1].status == "error" and results[-1].error == "HTTP 503 Service Unavailable"
        waits = results[-1].next_try - clock.now()
        assert bot.poll("main").status == "backoff"  # not polled again before its time
        clock.advance(waits)
    gaps = [(r.next_try - results[0].next_try) for r in results]
    assert gaps == sorted(gaps) and results[3].next_try - results[2].next_try > timedelta(seconds=300)
    state = bot.store.feed_state("main")
    assert state is not None and state.failures == 4 and state.last_error == "HTTP 503 Service Unavailable"
    feed_server.set("/feed", rss2(SAMPLE_ITEMS))
    assert bot.poll("main").status == "ok"
    state = bot.store.feed_state("main")
    assert state is not None and state.failures == 0 and state.last_error is None and state.initialized
    bot.close()


def test_backfill_posts_the_newest_on_first_start(
    tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run],
) -> None:
    config = sample_site(tmp_path, feed_server, feed={"backfill": 3})
    assert run_bot("poll", "--config", str(config)).code == 0
    assert [p["title"] for p in posts(tmp_path)] == [i.title for i in reversed(SAMPLE_ITEMS[:3])]
    assert run_bot("poll", "--config", str(config)).code == 0
    assert len(posts(tmp_path)) == 3


def test_a_waiting_post_goes_out_with_the_edited_headline(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    config = load_config(sample_site(tmp_path, feed_server))
    bot = Bot.open(config, clock=clock)
    bot.poll("main")
    feed_server.set("/feed", rss2([NEW, *SAMPLE_ITEMS]))
    assert bot.poll("main").queued == 1
    fixed = Item(NEW.post_id, NEW.title + " (محدث)", NEW.labels)
    feed_server.set("/feed", rss2([fixed, *SAMPLE_ITEMS]))
    result = bot.poll("main")
    assert result.edited == 1 and result.new == 0 and result.queued == 0  # an edit is not a new post
    [outcome] = bot.dispatch()
    assert outcome.status == "sent"
    [post] = posts(tmp_path)
    assert post["title"] == fixed.title and post["text"].startswith(fixed.title)
    bot.close()


def test_accounts_only_get_the_feeds_they_ask_for(
    tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run],
) -> None:
    feed_server.set("/a", rss2(SAMPLE_ITEMS[:2]))
    feed_server.set("/b", rss2(SAMPLE_ITEMS[2:4]))
    config = write_config(
        tmp_path,
        feeds=[{"id": "a", "url": feed_server.url("/a")}, {"id": "b", "url": feed_server.url("/b")}],
        accounts=[
            {"id": "all", "platform": "console", "output": str(tmp_path / "all.jsonl")},
            {"id": "only-b", "platform": "console", "output": str(tmp_path / "b.jsonl"), "feeds": ["b"]},
            {"id": "off", "platform": "console", "output": str(tmp_path / "off.jsonl"), "enabled": False},
        ],
    )
    run_bot("poll", "--config", str(config))
    feed_server.set("/a", rss2([NEW, *SAMPLE_ITEMS[:2]]))
    feed_server.set("/b", rss2([ANOTHER, *SAMPLE_ITEMS[2:4]]))
    run_bot("poll", "--config", str(config))
    assert sorted(p["title"] for p in posts(tmp_path, "all.jsonl")) == sorted([NEW.title, ANOTHER.title])
    assert [p["title"] for p in posts(tmp_path, "b.jsonl")] == [ANOTHER.title]
    assert posts(tmp_path, "off.jsonl") == []


def test_the_demo_config_posts_arabic_headlines(run_bot: Callable[..., Run]) -> None:
    assert DEMO_FEED.read_text(encoding="utf-8") == rss2(demo_items(), site=DEMO_SITE)  # python -m tests.kit.wordpress
    result = run_bot("poll", "--config", str(ROOT / "config" / "demo.yaml"))
    assert result.code == 0
    blocks = re.findall(r"── console · post #(\d+) · (\d+)/280 ─+\n(.*?)\n─{60}", result.out, re.S)
    assert len(blocks) == 10
    # Oldest first, numbered in that order: the queue reads as the news came.
    assert [int(n) for n, _, _ in blocks] == list(range(1, 11))
    assert [next(i.post_id for i in demo_items() if " ".join(i.title.split()[:3]) in t) for _, _, t in blocks] \
        == sorted(i.post_id for i in demo_items())
    for item in demo_items():
        [text] = [t for _, _, t in blocks if " ".join(item.title.split()[:3]) in t]
        assert item.guid in text or item.link in text  # the ?p=ID short link, else the permalink
    for _, length, text in blocks:
        assert int(length) <= 280 and count_x(text) == int(length)  # counted as X counts
        assert "&#" not in text and "<" not in text and "🔴 🔴" not in text
    urgent = next(t for _, _, t in blocks if "انقطاع التيار" in t)
    assert urgent.startswith("🔴 عاجل | انقطاع")  # the عاجل category's own template
    assert "\u200fNASA:" in result.out  # a Latin-first headline on an Arabic site gets a right-to-left mark
    # The demo's links are links to X (example.com): a long percent-encoded permalink counts 23, so a short
    # headline beside it is whole.
    [sport] = [(int(n), t) for _, n, t in blocks if "المنتخب الوطني" in t]
    assert sport[0] < 100 and "المنتخب الوطني يتأهل إلى نهائيات كأس آسيا" in sport[1]


def test_deliveries_are_recorded_as_sent(
    setup: Path, tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    bot = Bot.open(load_config(setup), clock=clock)
    bot.poll("main")
    feed_server.set("/feed", rss2([NEW, *SAMPLE_ITEMS]))
    bot.poll("main")
    bot.dispatch()
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.SENT and row.remote_id == f"console-{row.id}"
    assert row.text == f"{NEW.title}\n\n{NEW.guid}" and row.guid == NEW.guid and row.attempts == 1
    assert row.sent_at == clock.now()
    bot.close()


def test_an_article_in_two_feeds_is_posted_once_per_account(
    tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run], caplog: pytest.LogCaptureFixture,
) -> None:
    feed_server.set("/main", rss2(SAMPLE_ITEMS))
    feed_server.set("/urgent", rss2([i for i in SAMPLE_ITEMS if "عاجل" in i.labels]))
    config = write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/main")},
                                           {"id": "urgent", "url": feed_server.url("/urgent")}])
    run_bot("poll", "--config", str(config))
    feed_server.set("/main", rss2([NEW, *SAMPLE_ITEMS]))  # NEW is عاجل: it is in both feeds
    feed_server.set("/urgent", rss2([NEW, *[i for i in SAMPLE_ITEMS if "عاجل" in i.labels]]))
    caplog.set_level(logging.INFO)
    assert run_bot("poll", "--config", str(config)).code == 0
    assert [p["title"] for p in posts(tmp_path)] == [NEW.title]
    assert "feed=main status=ok entries=11 new=1 edited=0 queued=1" in caplog.text
    assert "feed=urgent status=ok entries=3 new=1 edited=0 queued=0" in caplog.text
    assert run_bot("poll", "--config", str(config)).code == 0
    assert len(posts(tmp_path)) == 1


def test_catch_up_reads_older_pages_until_a_known_article(
    tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run],
) -> None:
    items = [Item(700 + i, f"خبر رقم {i} من أخبار اليوم", ["محليات"]) for i in range(20)][::-1]  # newest first
    feed_server.set("/feed", rss2(items[-5:]))  # before the downtime: the 5 oldest
    config = write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed")}])
    run_bot("poll", "--config", str(config))
    # 15 new articles while the bot was down: page 1 shows 10 of them, page 2 the rest and known ones.
    feed_server.set("/feed", rss2(items[:10]))
    feed_server.set("/feed?paged=2", rss2(items[10:20]))
    feed_server.set("/feed?paged=3", rss2([]))
    assert run_bot("poll", "--config", str(config)).code == 0
    assert sorted(p["title"] for p in posts(tmp_path)) == sorted(i.title for i in items[:15])
    assert feed_server.hits("/feed?paged=3") == []  # page 2 held a known article: no further


def test_catch_up_with_the_captured_wordpress_pages(
    tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run],
) -> None:
    page1 = need_shared(WORDPRESS_FIXTURES / "rss2.xml").read_bytes()
    page2 = (WORDPRESS_FIXTURES / "rss2-paged-2.xml").read_bytes()
    oldest = page2.split(b"<item>")[0] + b"<item>" + page2.split(b"<item>")[-1]  # only post 72
    feed_server.set("/?feed=rss2", oldest)
    config = write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/?feed=rss2"),
                                            "site_url": "https://news.example"}],
                          site={"name": "قريش", "url": "https://news.example",  # its pages are not on the network
                                "short_link": {"kind": "wordpress", "page_lookup": False}})
    run_bot("poll", "--config", str(config))
    feed_server.set("/?feed=rss2", page1)
    feed_server.set("/?feed=rss2&paged=2", page2)
    run_bot("poll", "--config", str(config))
    titles = [p["title"] for p in posts(tmp_path)]
    assert len(titles) == 12  # the 10 of page 1 and posts 76 and 74 of page 2; post 72 was known
    assert titles[0].startswith("CENTCOM") and titles[1].startswith("وزير الدفاع")  # oldest first (74, 76)


def test_a_first_start_with_backfill_says_what_it_queued(
    tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    feed_server.set("/feed", rss2(SAMPLE_ITEMS))
    config = write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed"), "backfill": 3}])
    run_bot("poll", "--config", str(config))
    assert "queued=3 ms=" in caplog.text
    assert "first_start=yes (backfill: the 3 newest queued, the rest marked seen)" in caplog.text
    assert "existing entries marked seen" not in caplog.text


def test_bot_poll_says_why_it_exits_1(
    tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run], capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/gone")}])
    first = run_bot("poll", "--config", str(config))
    assert first.code == 1 and "bot: feed main: HTTP 404" in capsys.readouterr().err
    second = run_bot("poll", "--config", str(config))  # the feed now backs off: not polled at all
    err = capsys.readouterr().err
    assert second.code == 1 and "bot: feed main: not polled, backing off after failures (HTTP 404" in err
    assert "--force polls it now" in err and "next try 2026-11-29 09:" in err  # in the site's time
