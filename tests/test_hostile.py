"""Hostile and broken input: each case has a defined outcome, other feeds are not affected, memory stays
bounded. (Size caps, trickling servers, redirect loops and truncated XML are in test_fetch / test_parse.)"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import ManualClock
from bot.compose import compose_post
from bot.compose.length import rule_of
from bot.config import load_config
from bot.core import Bot
from bot.errors import ComposeError, FeedError
from bot.feeds import parse

from .kit.clock import T0
from .kit.configs import posts, sample_site, write_config
from .kit.runs import Run
from .kit.servers import FeedServer
from .kit.wordpress import SAMPLE_ITEMS, SITE, Item, rss2

RSS = "application/rss+xml; charset=UTF-8"


def test_a_windows_1256_feed_is_read_right() -> None:
    xml = rss2([Item(1, "وزير الخارجية يزور بغداد", ["سياسة"])]).replace('encoding="UTF-8"', 'encoding="windows-1256"')
    feed = parse(xml.encode("cp1256"), feed_id="f", url=SITE, content_type="application/rss+xml; charset=windows-1256")
    assert feed.articles[0].title == "وزير الخارجية يزور بغداد" and feed.articles[0].labels == ("سياسة",)


def test_an_entity_bomb_is_refused_quickly_and_small() -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
            + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
            + ']><rss version="2.0"><channel><title>x</title><item><title>&i;</title>'
              '<link>https://news.example/?p=1</link></item></channel></rss>')
    tracemalloc.start()
    started = time.monotonic()
    try:
        feed = parse(bomb.encode(), feed_id="f", url=SITE, content_type=RSS)
        titles = [a.title for a in feed.articles]
    except FeedError:
        titles = []
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.monotonic() - started < 5 and peak < 50_000_000
    assert all(len(t) < 10_000 for t in titles)  # never the billion a's


def test_ten_thousand_items_are_stored_once_each(tmp_path: Path, feed_server: FeedServer, clock: ManualClock) -> None:
    import subprocess
    import sys

    from .kit.paths import ROOT

    items = [Item(n, f"خبر رقم {n}", ["محليات"]) for n in range(10_000, 0, -1)]
    feed_server.set("/big", rss2(items))
    feed_server.set("/good", rss2(SAMPLE_ITEMS))
    path = write_config(tmp_path, feeds=[{"id": "big", "url": feed_server.url("/big"), "max_size": "50MB"},
                                         {"id": "good", "url": feed_server.url("/good")}])
    started = time.monotonic()
    # A wrapper process runs the poll and says its peak memory: this process's own children's peak would also
    # count every earlier test's child (a browser's, say).
    wrapper = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:]); "
               "sys.stdout.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); sys.exit(p.returncode)")
    proc = subprocess.run([sys.executable, "-c", wrapper, sys.executable, "-m", "bot", "poll", "--config", str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    took = time.monotonic() - started
    peak_mb = int(proc.stdout.strip() or 0) / 1024
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "feed=big status=ok entries=10000 new=10000" in proc.stderr
    assert "feed=good status=ok entries=10" in proc.stderr  # the other feed is not affected
    assert peak_mb < 500, f"{peak_mb:.0f} MB"  # bounded: the body is capped (max_size) and parsed once
    print(f"\n10,000 items: {took:.1f} s, peak {peak_mb:.0f} MB")
    bot = Bot.open(load_config(path), clock=clock)
    assert len(bot.store.articles("big")) == 10_000
    assert bot.poll("big").status == "not_modified"
    bot.close()


def test_a_50_kb_headline_with_control_and_bidi_characters(
    tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run],
) -> None:
    huge = ("\u202eعاجل\u202c \x07 " + "كلمة " * 10_000).strip()
    config = sample_site(tmp_path, feed_server, accounts=[{"id": "console", "platform": "console", "count_as": "x",
                                                           "output": str(tmp_path / "posts.jsonl")}])
    run_bot("poll", "--config", str(config))
    feed_server.set("/feed", rss2([Item(900, huge, ["عاجل"]), *SAMPLE_ITEMS]))
    assert run_bot("poll", "--config", str(config)).code == 0
    [post] = posts(tmp_path)
    assert post["length"] <= 280 and post["text"].startswith("عاجل كلمة كلمة")
    assert "\u202e" not in post["text"] and "\x07" not in post["text"] and post["text"].endswith("?p=900")


def test_dates_in_the_future_or_missing(tmp_path: Path, feed_server: FeedServer, clock: ManualClock) -> None:
    bot = Bot.open(load_config(sample_site(tmp_path, feed_server)), clock=clock)
    bot.poll("main")
    future = Item(901, "خبر بتاريخ في المستقبل", ["محليات"], published=T0 + timedelta(days=365))
    feed_server.set("/feed", rss2([future, Item(902, "خبر بلا تاريخ", ["محليات"], dated=False), *SAMPLE_ITEMS]))
    clock.advance(timedelta(minutes=1))
    assert bot.poll("main").new == 2
    stored = {a.title: a.published for a in bot.store.articles()}
    assert stored["خبر بتاريخ في المستقبل"] == clock.now() and stored["خبر بلا تاريخ"] == clock.now()
    assert [o.status for o in bot.dispatch()] == ["sent", "sent"]
    bot.close()


words = st.text(alphabet=st.sampled_from(list("ابتثجحخدرزسشصعفقكلمنهوي abc123🔴«»،؟&<>\"'\u202b\u200f\x0b")),
                min_size=1, max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(titles=st.lists(words, min_size=1, max_size=8), labels=st.lists(words, max_size=4),
       dated=st.booleans(), platform=st.sampled_from(["x", "mastodon", "bluesky", "telegram_caption"]))
def test_property_generated_feeds_parse_and_compose(titles: list[str], labels: list[str], dated: bool,
                                                    platform: str) -> None:
    items = [Item(i + 1, t, labels, published=T0, dated=dated) for i, t in enumerate(titles)]
    xml = rss2(items)
    try:
        feed = parse(xml.encode(), feed_id="f", url=SITE, content_type=RSS)
    except FeedError:
        return  # a defined outcome: the feed is refused with a reason
    rule = rule_of(platform)
    for article in feed.articles:
        assert "<" not in article.title or article.title.count("<") <= sum(t.count("<") for t in titles)
        assert "&#" not in article.title
        try:
            text = compose_post(article, "{title}\n\n{link}", "قريش", rule, direction="rtl")
        except ComposeError:
            continue
        assert rule.fits(text) and article.link in text.split()
