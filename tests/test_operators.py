"""The operators' commands end to end: status, post, retry, skip, hold, release, unpost."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.compose.length import count_x
from bot.config import load_config
from bot.core import Bot
from bot.models import DeliveryState

from .kit.configs import account, posts, sample_site, write_config
from .kit.e2e import publish
from .kit.fake_x import FakeX, Fault
from .kit.runs import Run
from .kit.servers import FeedServer
from .kit.wordpress import SAMPLE_ITEMS, Item, rss2

NEW = [Item(400, "عاجل | انفجار في مخزن للعتاد", ["عاجل"]), Item(401, "افتتاح معرض الكتاب", ["ثقافة"])]


def setup(tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, **x: Any) -> Path:
    return sample_site(
        tmp_path, feed_server,
        site={"name": "قريش", "url": "https://news.example", "timezone": "Asia/Baghdad"},
        accounts=[
            {"id": "console", "platform": "console", "output": str(tmp_path / "posts.jsonl"), "template": "{title}"},
            account(fake_x, "x", template="{title}\n\n{short_link}", **x),
        ])


def test_status_shows_feeds_accounts_queue_recent_and_problems(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, run_bot: Callable[..., Run],
) -> None:
    path = setup(tmp_path, feed_server, fake_x, limits={"per_day": 1})
    run_bot("poll", "--config", str(path))
    third = Item(402, "افتتاح معرض الكتاب الدولي", ["ثقافة"])
    feed_server.set("/feed", rss2([third, *reversed(NEW), *SAMPLE_ITEMS]))
    fake_x.faults.append(Fault("/2/tweets", 400, {"errors": [{"message": "Your Tweet text is too long."}],
                                                  "title": "Invalid Request", "type": "about:blank"}))
    run_bot("poll", "--config", str(path))
    out = run_bot("status", "--config", str(path)).out
    assert "main: last poll 2026-11-29 09:00:00" in out  # the site's timezone (UTC+3)
    assert "x (x): 1/1 posts in 24 h, next send 2026-11-30 09:00:00+0300 (1 posts a day reached)" in out
    assert "1 posts a day reached; due 2026-11-30 09:00:00+0300" in out  # the queue says why and when
    assert "Your Tweet text is too long." in out and "https://x.com/i/web/status/" in out
    assert "\u2068افتتاح معرض الكتاب\u2069" in out  # Arabic isolated so each line keeps its layout
    data = json.loads(run_bot("status", "--config", str(path), "--json").out)
    assert {a["id"]: a["posts_24h"] for a in data["accounts"]} == {"console": 3, "x": 1}
    assert [q["account"] for q in data["queue"]] == ["x"] and data["problems"][0]["state"] == "failed"


def test_retry_skip_and_history(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, run_bot: Callable[..., Run],
) -> None:
    path = setup(tmp_path, feed_server, fake_x)
    run_bot("poll", "--config", str(path))
    publish(feed_server, NEW)
    fake_x.fail_next(1, 400)
    run_bot("poll", "--config", str(path))
    bot = Bot.open(load_config(path), clock=clock)
    [failed] = bot.store.deliveries(state="failed")
    bot.close()
    result = run_bot("retry", str(failed.id), "--config", str(path), "--by", "سارة")
    assert result.code == 0 and "queued again" in result.out
    assert len(fake_x.tweets) == 2  # sent at once
    assert run_bot("retry", str(failed.id), "--config", str(path)).code == 2  # it is sent now
    assert run_bot("skip", "999", "--config", str(path)).code == 2
    bot = Bot.open(load_config(path), clock=clock)
    assert [(e.event, e.by) for e in bot.store.history(failed.id)] == [("retry", "سارة")]
    bot.close()


def test_hold_and_release(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, run_bot: Callable[..., Run],
) -> None:
    path = setup(tmp_path, feed_server, fake_x)
    run_bot("poll", "--config", str(path))
    assert run_bot("hold", "x", "--config", str(path), "--by", "admin").out.strip() == "x: held"
    publish(feed_server, NEW)
    run_bot("poll", "--config", str(path))
    assert fake_x.tweets == [] and len(posts(tmp_path)) == 2  # only x waits
    assert "HELD: held by admin" in run_bot("status", "--config", str(path)).out
    run_bot("release", "x", "--config", str(path))
    run_bot("poll", "--config", str(path))
    assert [t["text"].split("\n")[0] for t in fake_x.tweets] == [NEW[0].title, NEW[1].title]


def test_skip_a_waiting_post(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, run_bot: Callable[..., Run],
) -> None:
    path = setup(tmp_path, feed_server, fake_x)
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    publish(feed_server, NEW)
    bot.poll("main")
    [waiting] = [r for r in bot.store.deliveries(account_id="x") if r.title == NEW[0].title]
    bot.close()
    assert run_bot("skip", str(waiting.id), "--config", str(path)).code == 0
    run_bot("poll", "--config", str(path))
    assert [t["text"].split("\n")[0] for t in fake_x.tweets] == [NEW[1].title]


def test_unpost_deletes_on_the_platform(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, run_bot: Callable[..., Run],
) -> None:
    path = setup(tmp_path, feed_server, fake_x)
    run_bot("poll", "--config", str(path))
    feed_server.set("/feed", rss2([NEW[0], *SAMPLE_ITEMS]))
    run_bot("poll", "--config", str(path))
    bot = Bot.open(load_config(path), clock=clock)
    [sent] = bot.store.deliveries(account_id="x")
    bot.close()
    result = run_bot("unpost", str(sent.id), "--config", str(path), "--by", "editor")
    assert result.code == 0 and fake_x.tweets == []
    bot = Bot.open(load_config(path), clock=clock)
    row = bot.store.delivery(sent.id)
    assert row is not None and row.state == DeliveryState.DELETED and "deleted by editor" in (row.note or "")
    assert [e.event for e in bot.store.history(sent.id)] == ["unpost"]
    bot.close()
    assert run_bot("unpost", str(sent.id), "--config", str(path)).code == 2  # nothing left to delete


def test_post_by_hand_dry_run_then_for_real(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, run_bot: Callable[..., Run],
) -> None:
    path = setup(tmp_path, feed_server, fake_x)
    text = "تنويه: تأجيل مؤتمر الاستثمار إلى الأسبوع المقبل"
    dry = run_bot("post", text, "--link", "https://news.example/?p=77", "--dry-run", "--config", str(path))
    composed = f"{text}\n\nhttps://news.example/?p=77"
    # news.example is no domain X knows: by X's rules the post has no URL, and costs Content: Create's $0.015.
    assert dry.code == 0 and f"── x · {count_x(composed)}/280 · $0.015\n{composed}" in dry.out
    assert fake_x.tweets == [] and posts(tmp_path) == []
    real = run_bot("post", text, "--link", "https://news.example/?p=77", "--account", "x", "--by", "هدى",
                   "--config", str(path))
    assert real.code == 0 and "x: sent: https://x.com/i/web/status/" in real.out
    assert fake_x.tweets[0]["text"] == f"{text}\n\nhttps://news.example/?p=77" and posts(tmp_path) == []
    assert "by هدى" in run_bot("status", "--config", str(path)).out


def test_a_hand_post_respects_a_hold_unless_forced(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, run_bot: Callable[..., Run],
) -> None:
    path = setup(tmp_path, feed_server, fake_x)
    assert run_bot("hold", "x", "--config", str(path)).code == 1  # no database yet: hold makes none
    run_bot("migrate", "--config", str(path))
    run_bot("hold", "x", "--config", str(path))
    waiting = run_bot("post", "خبر أول", "--account", "x", "--config", str(path))
    assert "x: waiting: the account is held" in waiting.out and fake_x.tweets == []
    forced = run_bot("post", "خبر ثان", "--account", "x", "--force", "--config", str(path))
    assert "x: sent" in forced.out and [t["text"] for t in fake_x.tweets] == ["خبر ثان"]


def test_post_by_url_is_not_posted_again_by_the_feed(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, run_bot: Callable[..., Run],
) -> None:
    path = setup(tmp_path, feed_server, fake_x, image=True)
    run_bot("poll", "--config", str(path))
    item = Item(410, "وزير النفط يعلن زيادة الإنتاج", ["اقتصاد"], site=feed_server.base, pretty_guid=False)
    page_path = item.link.removeprefix(feed_server.base)
    feed_server.set(page_path, (
        "<html><head><title>وزير النفط يعلن زيادة الإنتاج – قريش</title>"
        f"<link rel='shortlink' href='https://news.example/?p=410' />"
        f"<link rel='canonical' href='{item.link}' />"
        f"<meta property='og:image' content='{feed_server.base}/og.jpg' /></head><body></body></html>"),
        content_type="text/html; charset=UTF-8", conditional=False)
    feed_server.set("/og.jpg", b"\xff\xd8\xff" + b"1" * 500, content_type="image/jpeg", conditional=False)
    result = run_bot("post", "--url", feed_server.url(page_path), "--config", str(path))
    assert result.code == 0 and "x: sent" in result.out and "console: sent" in result.out
    [tweet] = fake_x.tweets
    assert tweet["text"] == "وزير النفط يعلن زيادة الإنتاج\n\nhttps://news.example/?p=410" and tweet["media_ids"]
    # Now the article appears in the feed (guid ?p=410): it is known, nothing is posted again.
    feed_server.set("/feed", rss2([replace_site(item), *SAMPLE_ITEMS]))
    run_bot("poll", "--config", str(path))
    assert len(fake_x.tweets) == 1 and len(posts(tmp_path)) == 1


def replace_site(item: Item) -> Item:
    """The same post as the feed lists it: guid https://news.example/?p=ID."""
    return Item(item.post_id, item.title, item.labels)


def test_clock_used_for_limits_in_status(tmp_path: Path, feed_server: FeedServer, fake_x: FakeX,
                                         clock: ManualClock, run_bot: Callable[..., Run]) -> None:
    path = setup(tmp_path, feed_server, fake_x, quiet_hours="08:00-10:00")  # 05:00-07:00 UTC
    clock.advance(timedelta(hours=-0.5))  # 05:30 UTC → 08:30 Baghdad
    run_bot("poll", "--config", str(path))  # the first start makes the database (status only reads it)
    data = json.loads(run_bot("status", "--json", "--config", str(path)).out)
    x = next(a for a in data["accounts"] if a["id"] == "x")
    assert x["next_send"] == "2026-11-29T10:00:00+03:00" and "quiet hours" in x["waits_for"]  # ISO 8601, offset


def test_post_with_an_image_file_or_url(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, run_bot: Callable[..., Run],
) -> None:
    path = setup(tmp_path, feed_server, fake_x, image=True)
    picture = tmp_path / "صورة.jpg"
    picture.write_bytes(b"\xff\xd8\xff" + b"2" * 300)
    assert run_bot("post", "صورة اليوم", "--image", str(picture), "--account", "x", "--config", str(path)).code == 0
    feed_server.set("/pic.png", b"\x89PNG" + b"3" * 300, content_type="image/png", conditional=False)
    assert run_bot("post", "صورة أخرى", "--image", feed_server.url("/pic.png"), "--account", "x",
                   "--config", str(path)).code == 0
    sizes = sorted(fake_x.media[m]["size"] for t in fake_x.tweets for m in t["media_ids"])
    assert sizes == [303, 304]
    assert run_bot("post", "x", "--image", str(tmp_path / "missing.jpg"), "--config", str(path)).code == 2


def test_refusals_say_which_states_allow_the_action(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, run_bot: Callable[..., Run],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = setup(tmp_path, feed_server, fake_x)
    run_bot("poll", "--config", str(path))
    publish(feed_server, NEW)
    run_bot("poll", "--config", str(path))
    bot = Bot.open(load_config(path), clock=clock)
    sent = bot.store.deliveries(account_id="x", state="sent")[0]
    bot.close()
    capsys.readouterr()
    assert run_bot("retry", str(sent.id), "--config", str(path)).code == 2
    assert f"delivery {sent.id} is sent; only failed, in_doubt, skipped deliveries can be retried" \
        in capsys.readouterr().err
    assert run_bot("skip", str(sent.id), "--config", str(path)).code == 2
    assert f"delivery {sent.id} is sent; only queued, in_doubt, failed, awaiting_approval deliveries can be " \
        "skipped" \
        in capsys.readouterr().err


def test_a_post_with_neither_text_nor_url_is_refused_before_anything_opens(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = setup(tmp_path, feed_server, fake_x)
    for args in ((), ("--image", str(tmp_path / "none.png")), ("خبر", "--url", "https://news.example/?p=1")):
        assert run_bot("post", *args, "--config", str(path)).code == 2
        assert "give either the text to post or --url ARTICLE_URL" in capsys.readouterr().err
    assert not (tmp_path / "bot.sqlite3").exists()  # nothing was opened, let alone created


def test_why_a_hand_post_waits_offers_force_only_where_it_would_send(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    from bot.operations import Operations

    path = setup(tmp_path, feed_server, fake_x, quiet_hours="00:00-23:59")
    ops = Operations(Bot.open(load_config(path), clock=clock))
    assert "quiet hours" in ops.why_waiting("x") and "(--force sends anyway)" in ops.why_waiting("x")
    ops.bot.store.pause_account("x", clock.now() + timedelta(minutes=5), clock.now())  # a short rate limit
    why = ops.why_waiting("x")
    assert "quiet hours" in why and "--force" not in why  # --force does not pass a rate limit
    ops.bot.store.pause_account("x", clock.now() + timedelta(days=2), clock.now())  # a longer one
    assert ops.why_waiting("x").startswith("the platform's rate limit, until ")
    ops.bot.close()


def test_status_puts_what_stops_posting_among_the_problems(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, run_bot: Callable[..., Run],
) -> None:
    """Held accounts, failing feeds and an unreachable platform are problems; an account whose every send fails
    does not say "next send now"; a feed never polled does not say "ok"."""
    from .kit.runs import free_port

    feed_server.set("/feed", rss2(SAMPLE_ITEMS))
    path = write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed")},
                                         {"id": "broken", "url": feed_server.url("/gone")},
                                         {"id": "later", "url": feed_server.url("/later"), "interval": "1h"}],
                        accounts=[{"id": "console", "platform": "console", "output": str(tmp_path / "p.jsonl")},
                                  account(fake_x, "x", base_url=f"http://127.0.0.1:{free_port()}")])  # unreachable
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    bot.poll("broken")
    publish(feed_server, NEW)
    bot.poll("main")
    bot.dispatch()
    bot.close()
    assert run_bot("hold", "console", "--config", str(path)).code == 0
    data = json.loads(run_bot("status", "--json", "--config", str(path)).out)
    kinds = {(p["kind"], p.get("account") or p.get("feed")) for p in data["problems"]}
    assert {("account", "console"), ("feed", "broken"), ("account", "x")} <= kinds
    x = next(a for a in data["accounts"] if a["id"] == "x")
    assert x["next_send"] != "now" and "retrying after an error" in x["waits_for"]
    assert {f["id"]: f["state"] for f in data["feeds"]} == {"main": "ok", "broken": "failing", "later": "never polled"}
    out = run_bot("status", "--config", str(path)).out
    assert "Problems (3)" in out and "later: last poll never, last success never: never polled" in out


def test_a_hand_post_that_did_not_go_out_says_so_and_exits_1(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from .kit.runs import free_port

    unreachable = sample_site(tmp_path, feed_server, [account(fake_x, "x", base_url=f"http://127.0.0.1:{free_port()}")])
    result = run_bot("post", "خبر عاجل من غرفة الأخبار", "--config", str(unreachable))
    err = capsys.readouterr().err
    assert result.code == 1 and "x: retry" in result.out
    assert "next try 2026-11-29 " in result.out and "+0300" in result.out  # the site's time, with its offset
    assert "not posted yet; it waits in the queue" in err


def test_an_editors_text_that_is_cut_is_said_and_shown(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = setup(tmp_path, feed_server, fake_x)
    long_text = " ".join(["الحكومة تعلن خطة جديدة لإصلاح قطاع الكهرباء في المحافظات"] * 8)
    dry = run_bot("post", long_text, "--account", "x", "--dry-run", "--config", str(path))
    assert dry.code == 0 and "CUT to fit" in dry.out and "…" in dry.out
    real = run_bot("post", long_text, "--account", "x", "--config", str(path))
    assert real.code == 0 and "x: sent" in real.out
    assert "the text was cut at a word to fit the platform" in capsys.readouterr().err
    short = run_bot("post", "خبر قصير", "--account", "x", "--dry-run", "--config", str(path))
    assert "CUT" not in short.out
