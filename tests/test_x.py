"""Publishing to X, end to end against the fake X: posts, images, every error kind, and a crash mid-send.
In every case each article ends up posted exactly once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.compose.length import count_x
from bot.config import load_config
from bot.core import Bot
from bot.models import DeliveryState

from .kit.configs import account, sample_site, write_config
from .kit.databases import expire_claims
from .kit.e2e import EndToEnd, jpeg
from .kit.fake_x import SPEC, FakeX, Fault
from .kit.paths import WORDPRESS_FIXTURES, need_shared
from .kit.runs import Run, kill_poll_when
from .kit.servers import FeedServer
from .kit.wordpress import SAMPLE_ITEMS, Item, rss2


def new_items(base: str) -> list[Item]:
    return [
        Item(130, "عاجل | البرلمان يصوت على قانون الموازنة العامة", ["عاجل", "البرلمان"], site=base),
        Item(131, "صور: افتتاح جسر الجادرية الجديد في بغداد", ["صور", "بغداد"], site=base,
             image=f"{base}/wp-content/uploads/2026/11/bridge.jpg"),
        Item(132, "CENTCOM: مناورات مشتركة في الصحراء الغربية", ["شؤون دولية"], site=base),
    ]


JPEG = jpeg(40)
X = EndToEnd("x", new_items, {"image": True, "timeout": "2s", "template": "{title}\n\n{short_link}\n{hashtags}"},
             feed={"site_url": "https://news.example"}, image_path="/wp-content/uploads/2026/11/bridge.jpg",
             image=JPEG)
x_config, publish_new, queued = X.config, X.publish, X.queued


def test_new_articles_are_posted_to_x_with_short_link_hashtags_and_image(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run],
) -> None:
    config = x_config(tmp_path, feed_server, fake_x)
    assert run_bot("poll", "--config", str(config)).code == 0
    assert fake_x.tweets == []  # a first start posts nothing
    items = new_items(feed_server.base)
    publish_new(feed_server, items)
    assert run_bot("poll", "--config", str(config)).code == 0
    texts = [t["text"] for t in fake_x.tweets]
    assert texts == [
        "عاجل | البرلمان يصوت على قانون الموازنة العامة\n\nhttps://news.example/?p=130\n#عاجل #البرلمان",
        "صور: افتتاح جسر الجادرية الجديد في بغداد\n\nhttps://news.example/?p=131\n#صور #بغداد",
        "\u200fCENTCOM: مناورات مشتركة في الصحراء الغربية\n\nhttps://news.example/?p=132\n#شؤون_دولية",
    ]
    with_image = fake_x.tweets[1]
    [media_id] = with_image["media_ids"]
    assert fake_x.media[media_id]["data"] == JPEG and fake_x.media[media_id]["content_type"] == "image/jpeg"
    assert fake_x.tweets[0]["media_ids"] == [] and fake_x.tweets[2]["media_ids"] == []
    assert fake_x.validation_errors == []
    bot = Bot.open(load_config(config))
    rows = bot.store.deliveries()
    assert {r.remote_url for r in rows} == {f"https://x.com/i/web/status/{t['id']}" for t in fake_x.tweets}
    assert all(r.remote_id in {t["id"] for t in fake_x.tweets} for r in rows)
    bot.close()
    assert run_bot("poll", "--config", str(config)).code == 0
    assert len(fake_x.tweets) == 3


def test_the_fake_checks_bodies_against_xs_openapi_document(fake_x: FakeX) -> None:
    from .kit.fake_x import tweet_body_problem

    if not SPEC.exists():
        pytest.skip(f"{SPEC} is absent: the shared folder (../shared beside the project) is not here")
    assert tweet_body_problem(b'{"text": "\\u0645\\u0631\\u062d\\u0628\\u0627"}') is None
    assert tweet_body_problem(b'{"text": "x", "colour": "red"}') is not None
    assert tweet_body_problem(b'{"text": "x", "media": {"media_ids": ["abc"]}}') is not None


def dispatcher_bot(config: Path, clock: ManualClock) -> Bot:
    return Bot.open(load_config(config), clock=clock)


def test_a_burst_of_5xx_is_retried_with_backoff(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = queued(x_config(tmp_path, feed_server, fake_x, image=False), clock, feed_server, 1)
    fake_x.fail_next(3, 503)
    waits = []
    for _ in range(3):
        [o] = bot.dispatch()
        assert o.status == "retry" and "X answered 503" in (o.detail or "")
        row = bot.store.deliveries()[0]
        waits.append(row.not_before - clock.now())
        assert bot.dispatch() == []  # nothing before its time
        clock.advance(waits[-1])
    assert waits[0] < waits[1] < waits[2]  # exponential
    [o] = bot.dispatch()
    assert o.status == "sent" and len(fake_x.tweets) == 1
    bot.close()


def test_a_429_means_no_request_before_the_reset(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = queued(x_config(tmp_path, feed_server, fake_x, image=False), clock, feed_server, 2)
    reset = clock.now().replace(microsecond=0) + timedelta(minutes=40)  # not the 15-minute default
    fake_x.rate_limit_next(reset, daily=True)
    [o] = bot.dispatch()
    assert o.status == "rate_limited"
    calls = len(fake_x.calls_to("/2/tweets"))
    [tried] = [r for r in bot.store.deliveries() if r.text is not None]
    assert tried.not_before == reset and bot.store.account_state("x").not_before == reset  # shows when
    clock.set(reset - timedelta(seconds=1))
    assert bot.dispatch() == [] and len(fake_x.calls_to("/2/tweets")) == calls
    clock.set(reset)
    assert [o.status for o in bot.dispatch()] == ["sent", "sent"]
    assert len(fake_x.tweets) == 2
    bot.close()


def test_the_24_hour_cap_holds_posts_until_it_resets(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    fake_x.daily_cap = 2
    bot = queued(x_config(tmp_path, feed_server, fake_x, image=False), clock, feed_server, 3)
    outcomes = bot.dispatch()
    assert [o.status for o in outcomes] == ["sent", "sent", "rate_limited"]
    clock.advance(timedelta(hours=23))
    assert bot.dispatch() == []
    clock.advance(timedelta(hours=1))
    assert [o.status for o in bot.dispatch()] == ["sent"]
    assert len(fake_x.tweets) == 3
    bot.close()


def test_a_revoked_token_holds_the_account_and_loses_nothing(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, run_bot: Callable[..., Run],
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = x_config(tmp_path, feed_server, fake_x, image=False)
    bot = queued(config, clock, feed_server, 3)
    fake_x.revoked = True
    [o] = bot.dispatch()
    assert o.status == "held" and "401" in (o.detail or "")
    assert bot.store.account_state("x").held
    assert [r.state for r in bot.store.deliveries()] == [DeliveryState.QUEUED] * 3
    assert caplog.text.count("is HELD") == 1
    clock.advance(timedelta(hours=1))
    assert bot.dispatch() == []  # nothing is tried while held, nothing fails
    bot.close()
    fake_x.revoked = False  # the operator fixed the keys
    assert run_bot("release", "x", "--config", str(config)).code == 0
    assert run_bot("poll", "--config", str(config)).code == 0
    assert [t["text"].split("\n")[0] for t in fake_x.tweets] == [i.title if not i.title.startswith("CENTCOM")
                                                                 else "\u200f" + i.title
                                                                 for i in new_items(feed_server.base)]


def test_a_bad_signature_is_refused_like_a_revoked_token(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bad = fake_x.credentials(consumer_secret="not-the-secret")
    bot = queued(x_config(tmp_path, feed_server, fake_x, image=False, credentials=bad), clock, feed_server, 1)
    [o] = bot.dispatch()
    assert o.status == "held" and fake_x.tweets == []
    bot.close()


def test_duplicate_content_counts_as_posted(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = queued(x_config(tmp_path, feed_server, fake_x, image=False, template="{title}\n\n{short_link}"), clock,
                 feed_server, 1)
    item = new_items(feed_server.base)[0]
    fake_x.tweets.append({"id": "1", "text": f"{item.title}\n\nhttps://news.example/?p=130", "media_ids": [],
                          "created": clock.now()})
    [o] = bot.dispatch()
    assert o.status == "duplicate"
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.SENT and row.remote_id is None and "its id is unknown" in (row.note or "")
    assert len(fake_x.tweets) == 1
    bot.close()


def test_other_refusals_fail_with_xs_own_message(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = queued(x_config(tmp_path, feed_server, fake_x, image=False), clock, feed_server, 2)
    fake_x.faults.append(Fault(
        "/2/tweets", 400, {"errors": [{"message": "Your Tweet text is too long."}], "title": "Invalid Request",
                           "type": "about:blank", "detail": "One or more parameters to your request was invalid."}))
    outcomes = bot.dispatch()
    assert [o.status for o in outcomes] == ["failed", "sent"]
    [failed] = bot.store.deliveries(state="failed")
    assert failed.state == DeliveryState.FAILED and "Your Tweet text is too long." in (failed.last_error or "")
    bot.close()


@pytest.mark.parametrize("problem", ["missing", "not-an-image", "too-big", "upload-fails"])
def test_an_image_problem_posts_without_the_image(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, caplog: pytest.LogCaptureFixture,
    problem: str,
) -> None:
    bot = dispatcher_bot(x_config(tmp_path, feed_server, fake_x), clock)
    bot.poll("main")
    items = new_items(feed_server.base)[1:2]
    publish_new(feed_server, items)
    path = "/wp-content/uploads/2026/11/bridge.jpg"
    if problem == "missing":
        del feed_server.routes[path]
    elif problem == "not-an-image":
        feed_server.set(path, b"<html>hotlink denied</html>", content_type="text/html", conditional=False)
    elif problem == "too-big":
        feed_server.set(path, b"\xff" * (5 * 1024 * 1024 + 1), content_type="image/jpeg", conditional=False)
    else:
        fake_x.fail_next(1, 500, path="/2/media/upload")
    bot.poll("main")
    [o] = bot.dispatch()
    assert o.status == "sent" and fake_x.tweets[0]["media_ids"] == []
    assert "posts without an image" in caplog.text
    bot.close()


def test_the_page_og_image_is_used_when_the_feed_has_none(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = dispatcher_bot(x_config(tmp_path, feed_server, fake_x), clock)
    bot.poll("main")
    item = Item(133, "الوفد يصل إلى واشنطن", ["سياسة"], site=feed_server.base)
    feed_server.set(item.link.removeprefix(feed_server.base),
                    f'<html><head><meta property="og:image" content="{feed_server.base}/og.jpg"></head></html>',
                    content_type="text/html", conditional=False)
    feed_server.set("/og.jpg", JPEG, content_type="image/jpeg", conditional=False)
    feed_server.set("/feed", rss2([item, *SAMPLE_ITEMS]))
    bot.poll("main")
    [o] = bot.dispatch()
    assert o.status == "sent" and len(fake_x.tweets[0]["media_ids"]) == 1
    bot.close()


def test_check_names_each_account_or_says_why_not(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run],
) -> None:
    config = sample_site(tmp_path, feed_server, accounts=[
        account(fake_x, "x-main"),
        account(fake_x, "x-old", credentials=fake_x.credentials(access_token_secret="revoked")),
        {"id": "console", "platform": "console"},
    ])
    result = run_bot("check", "--config", str(config))
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == "x-main (x): ok, @qurays_news (this check cost $0.01)"  # X's User: Read
    assert lines[1].startswith("x-old (x): FAILED: X refused the credentials (401")
    assert fake_x.charges == [("User: Read", 10_000)]  # the refused one was not charged
    assert lines[2] == "console (console): ok, prints to the console"
    assert "revoked" not in result.out and "ats-012" not in result.out  # no secret in the output


def test_a_crash_between_xs_answer_and_the_commit_posts_once(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    """The process dies after X stored the post and before the bot recorded it. After a restart the same
    frozen text is sent again (even though the headline was edited meanwhile): X refuses it as a duplicate,
    and the delivery counts as sent. One post on X."""
    config = x_config(tmp_path, feed_server, fake_x, image=False)
    bot = dispatcher_bot(config, clock)
    bot.poll("main")
    item = new_items(feed_server.base)[0]
    publish_new(feed_server, [item])
    bot.poll("main")  # queued, not sent
    bot.close()
    fake_x.hang_next(60, store_first=True)  # X stores the post, then the answer never comes back in time
    kill_poll_when(config, lambda: fake_x.tweets)  # a crash mid-send
    assert len(fake_x.tweets) == 1
    bot = dispatcher_bot(config, clock)
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.SENDING and row.text is not None  # frozen, in flight
    frozen = row.text
    edited = Item(item.post_id, item.title + " (محدث)", item.labels, site=item.site)
    feed_server.set("/feed", rss2([edited, *SAMPLE_ITEMS]))
    assert bot.poll("main").edited == 1
    clock.set(datetime.now(UTC) + timedelta(minutes=3))  # the dead process's claim has expired
    expire_claims(bot.store)
    [o] = bot.dispatch()
    assert o.status == "duplicate"
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.SENT and row.text == frozen
    assert [t["text"] for t in fake_x.tweets] == [frozen]
    bot.close()


def test_a_hanging_x_times_out_and_the_post_goes_later(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = queued(x_config(tmp_path, feed_server, fake_x, image=False, timeout="1s"), clock, feed_server, 1)
    fake_x.hang_next(4)  # X never answers in time (and posts nothing)
    started = time.monotonic()
    [o] = bot.dispatch()
    assert o.status == "retry" and "cannot reach X" in (o.detail or "") and time.monotonic() - started < 3.5
    clock.advance(timedelta(minutes=1))
    [o] = bot.dispatch()
    assert o.status == "sent" and len(fake_x.tweets) == 1
    bot.close()


def test_the_captured_wordpress_feed_goes_to_x_whole_and_clean(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run],
) -> None:
    body = need_shared(WORDPRESS_FIXTURES / "rss2.xml").read_bytes()
    feed_server.set("/feed", body)
    config = write_config(
        tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed"), "backfill": 10}],
        site={"name": "قريش", "url": "https://news.example", "short_link": {"kind": "wordpress", "page_lookup": False}},
        accounts=[account(fake_x, "x", template="{title}\n\n{short_link}\n{hashtags}")],
    )
    assert run_bot("poll", "--config", str(config)).code == 0
    texts = [t["text"] for t in fake_x.tweets]
    assert len(texts) == 10 and fake_x.validation_errors == []
    assert texts[0].startswith("🔴 مباشر: مؤتمر صحفي") and texts[-1].startswith("ماذا دار في محضر")  # oldest first
    for text in texts:
        assert count_x(text) <= 280 and "&#" not in text and "<" not in text
        assert "https://news.example/?p=" in text or "https://news.example/2026/11/" in text
    long_one = next(t for t in texts if t.startswith("الفريق أول الركن"))
    assert long_one.split("\n")[0].endswith("…") and "https://news.example/?p=85" in long_one
    assert "#العراق" in next(t for t in texts if t.startswith("#العراق:")) and \
        next(t for t in texts if t.startswith("#العراق:")).count("#العراق") == 1  # not repeated


def test_no_credential_appears_in_logs_even_at_debug(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run],
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = x_config(tmp_path, feed_server, fake_x)
    run_bot("poll", "-v", "--config", str(config))
    publish_new(feed_server, new_items(feed_server.base))
    fake_x.fail_next(1, 503)
    fake_x.revoked = True
    run_bot("poll", "-v", "--config", str(config))
    run_bot("check", "-v", "--config", str(config))
    out = capsys.readouterr()
    logs = out.err + out.out
    assert logging.getLogger().level == logging.DEBUG and "is HELD" in logs
    for secret in fake_x.credentials().values():
        assert secret not in logs
