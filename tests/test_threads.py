"""Threads profiles end to end against the fake Threads API: a text post with its link card, an image post
whose card Meta's crawler fetches from the bot's own /media/ address, the long-lived token refreshed and kept,
the 250-a-day quota, every error's outcome, a crash mid-publish, and fitting to 500 UTF-8 bytes."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.clock import ManualClock
from bot.compose.fit import ELLIPSIS
from bot.compose.length import THREADS, count_utf8
from bot.config import ThreadsAccount, load_config
from bot.core import Bot
from bot.errors import ConfigError, Gone, Rejected
from bot.models import DeliveryState
from bot.platforms import Post, make_publisher
from bot.platforms.threads import QUOTA_RECHECK

from .kit.captured import CAPTURED
from .kit.configs import account, sample_site
from .kit.databases import expire_claims
from .kit.e2e import EndToEnd
from .kit.fake_alerts import FakeWebhook
from .kit.fake_threads import FakeThreads, TokenInfo, threads_error
from .kit.runs import Run, crash_after_answering, free_port
from .kit.servers import Answer, FeedServer
from .kit.wordpress import Item

HEADLINE = CAPTURED[2][1]  # «عاجل | العراق والولايات المتحدة يتفقان على تشكيل «لجنة عسكرية عليا» …»


def items(base: str) -> list[Item]:
    return [Item(160, HEADLINE, ["عاجل"], site=base, body="اتفق الجانبان على تشكيل لجنة عسكرية عليا."),
            Item(161, "صور: وصول الوفد العراقي إلى مبنى البنتاغون", ["صور"], site=base)]


THREADS_E2E = EndToEnd("th", items, {"timeout": "2s"})
config, publish, queued = THREADS_E2E.config, THREADS_E2E.publish, THREADS_E2E.queued


@pytest.fixture
def web(tmp_path: Path, clock: ManualClock) -> Iterator[str]:
    """The bot's HTTP side (its /media/ from the test's database), started in the test: its public address."""
    from bot.store import Store
    from bot.web import WebSide
    from bot.web.app import Hooks, build_app

    store = Store.open(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    side = WebSide("127.0.0.1", free_port(), build_app(Hooks(lambda: (True, {"ok": True}),
                                                             image=lambda key: store.hosted_image(key, clock.now()))))
    side.start()
    yield f"http://127.0.0.1:{side.port}"
    side.stop()
    store.close()


def with_server(public_url: str) -> dict[str, Any]:
    return {"server": {"host": "127.0.0.1", "port": free_port(), "public_url": public_url}}


def test_an_arabic_headline_goes_as_a_text_post_with_its_link_card(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, run_bot: Callable[..., Run],
) -> None:
    path = config(tmp_path, feed_server, threads)
    run_bot("poll", "--config", str(path))
    publish(feed_server, items(feed_server.base)[:1])
    assert run_bot("poll", "--config", str(path)).code == 0
    [post] = threads.posts
    assert post.container.media_type == "TEXT"
    assert post.container.text == f"{HEADLINE}\n\nhttps://news.example/?p=160"  # whole: 231 of 500 bytes
    assert post.container.link_attachment == items(feed_server.base)[0].link  # the card comes from the page
    paths = [p for _, p, _ in threads.calls if p.startswith("/v1.0/")]  # (the token check refreshes too)
    uid = threads.user_id
    assert paths == ["/v1.0/" + p for p in (f"{uid}/threads_publishing_limit", f"{uid}/threads", post.container.id,
                                            f"{uid}/threads_publish", post.id)]  # quota, ready, permalink last
    bot = Bot.open(load_config(path))
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.SENT and row.remote_id == post.id and row.remote_url == post.permalink
    bot.close()


def test_a_card_post_is_fetched_from_the_bots_own_address_and_withdrawn_after(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock, web: str,
) -> None:
    path = sample_site(tmp_path, feed_server, [account(threads, "th", image="card", timeout="5s")],
                       **with_server(web))
    bot = queued(path, clock, feed_server, 1)
    [o] = bot.dispatch()
    assert o.status == "sent", o.detail
    [post] = threads.posts
    [(url, status)] = threads.fetched
    assert url.startswith(f"{web}/media/") and url.endswith(".jpg") and status == 200  # fetched from the bot
    assert post.container.media_type == "IMAGE" and post.container.image is not None
    assert post.container.image.startswith(b"\xff\xd8\xff")  # the card, as a JPEG
    assert post.container.text.startswith(HEADLINE) and post.container.link_attachment is None
    assert post.container.reads >= 2  # IN_PROGRESS, then FINISHED: waited for before publishing
    assert requests.get(url, timeout=5).status_code == 404  # withdrawn once published
    bot.close()


def test_an_image_meta_cannot_fetch_fails_the_post_with_its_words(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock,
) -> None:
    """The public address does not reach the bot (nothing listens there): the container's status is ERROR."""
    path = sample_site(tmp_path, feed_server, [account(threads, "th", image="card")],
                       **with_server(f"http://127.0.0.1:{free_port()}"))
    bot = queued(path, clock, feed_server, 1)
    [o] = bot.dispatch()
    assert o.status == "failed" and "FAILED_DOWNLOADING_IMAGE" in (o.detail or "")
    assert threads.posts == [] and threads.fetched[0][1] == 0
    bot.close()


def test_the_fake_refuses_what_is_not_an_image(threads: FakeThreads, feed_server: FeedServer) -> None:
    feed_server.set("/page.html", "<html>not a picture</html>", content_type="text/html")
    answer = requests.post(threads.url(f"/v1.0/{threads.user_id}/threads"), timeout=5, data={
        "media_type": "IMAGE", "image_url": feed_server.url("/page.html"), "text": "صورة",
        "access_token": threads.token}).json()
    status = requests.get(threads.url(f"/v1.0/{answer['id']}"), timeout=5, params={
        "fields": "status,error_message", "access_token": threads.token}).json()
    assert status["status"] == "ERROR" and status["error_message"] == "UNSUPPORTED_IMAGE_FORMAT"


def test_an_image_still_processing_after_the_timeout_is_retried_not_posted(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock, web: str,
) -> None:
    threads.processing_reads = None  # IN_PROGRESS for ever
    path = sample_site(tmp_path, feed_server, [account(threads, "th", image="card", timeout="1s")],
                       **with_server(web))
    bot = queued(path, clock, feed_server, 1)
    [o] = bot.dispatch()
    assert o.status == "retry" and "IN_PROGRESS" in (o.detail or "") and threads.posts == []
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.QUEUED and not row.maybe_posted  # nothing was posted: safe to resend
    bot.close()


# --- the long-lived token ------------------------------------------------------------------------------------

def test_the_token_is_refreshed_saved_and_used_after_a_restart(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock, run_bot: Callable[..., Run],
    capsys: pytest.CaptureFixture[str],
) -> None:
    configured = threads.token
    threads.token_expires_in(timedelta(days=20))  # less than 30 days left: the daily check refreshes it
    path = config(tmp_path, feed_server, threads)
    assert run_bot("poll", "--config", str(path)).code == 0  # no alerts: configured: the tokens are still checked
    [new] = threads.refreshes
    bot = Bot.open(load_config(path), clock=clock)
    kept = bot.store.account_token("th")
    assert kept is not None and kept.token == new and kept.source == hashlib.sha256(configured.encode()).hexdigest()
    assert kept.expires_at == clock.now() + timedelta(days=60)
    assert bot.store.token_state("th")[0] == clock.now() + timedelta(days=60)
    bot.close()
    run_bot("poll", "--config", str(path))
    assert len(threads.refreshes) == 1  # asked once a day, and 60 days left: not refreshed again
    publish(feed_server, items(feed_server.base)[:1])
    assert run_bot("poll", "--config", str(path)).code == 0  # a new process: the store's token, not the config's
    [post] = threads.posts
    assert post.token == new and configured not in threads.used_tokens[-4:]
    logging.getLogger("bot.test").warning("a careless line with %s in it", new)
    assert "a careless line with *** in it" in capsys.readouterr().err  # the stored token is a secret too
    clock.advance(timedelta(days=31))  # 29 days left: refreshed again, from the refreshed one
    run_bot("poll", "--config", str(path))
    assert len(threads.refreshes) == 2
    bot = Bot.open(load_config(path), clock=clock)
    assert (kept := bot.store.account_token("th")) is not None and kept.token == threads.refreshes[-1]
    bot.close()


def test_a_new_token_in_the_config_wins_over_one_refreshed_from_the_old(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock, run_bot: Callable[..., Run],
) -> None:
    threads.token_expires_in(timedelta(days=20))
    path = config(tmp_path, feed_server, threads)
    run_bot("poll", "--config", str(path))
    fresh = "THAAGmadeByHandAgain-0123456789abcdefghijklmnopqrstuvwxyz"
    threads.tokens[fresh] = TokenInfo(clock.now() - timedelta(days=1), clock.now() + timedelta(days=59))
    path = config(tmp_path, feed_server, threads, access_token=fresh)
    publish(feed_server, items(feed_server.base)[:1])
    assert run_bot("poll", "--config", str(path)).code == 0
    assert threads.posts[0].token == fresh


def test_a_failed_refresh_is_logged_and_the_expiry_alert_fires_near_the_end(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock, webhook: FakeWebhook,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    path = sample_site(tmp_path, feed_server, [account(threads, "th")],
                       alerts={"channels": [{"type": "webhook", "url": webhook.address}], "token_warning": "7d"})
    bot = Bot.open(load_config(path), clock=clock)
    bot.alert()  # the first check: the config's token's end is not known, so it is refreshed (60 days)
    assert len(threads.refreshes) == 1 and webhook.received == []
    refused = threads_error(400, 190, "Error validating access token: the user has changed the password")
    threads.fail_next("/refresh_access_token", refused, n=100)
    start = clock.now()
    for day in range(30, 54):  # from 30 days left, each daily refresh fails: logged, the known end kept
        clock.set(start + timedelta(days=day))
        bot.alert()
        assert webhook.received == [] or day >= 53, day
    assert "its token was not refreshed: Threads refused this account's token or permissions (190: Error " \
           "validating access token" in caplog.text
    assert len(threads.calls_to("/refresh_access_token")) == 1 + 24  # once a day, no more
    [told] = webhook.received  # 7 days before its end
    assert told["problem"] == "token:th" and "the token of account th (threads) expires" in told["text"]
    assert threads.token not in caplog.text and threads.refreshes[0] not in caplog.text
    bot.close()


def test_a_token_too_young_to_refresh_is_asked_again_later(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A token made minutes ago (Meta refreshes only tokens a day old): the check says so, keeps the latest it
    can end (60 days from now) and asks again the next day; posting goes on with the config's token meanwhile."""
    info = threads.tokens[threads.token]
    info.issued = clock.now() - timedelta(minutes=5)
    bot = Bot.open(load_config(config(tmp_path, feed_server, threads)), clock=clock)
    bot.alert()
    assert threads.refreshes == [] and "its token was not refreshed" in caplog.text
    assert "less than 24 hours old" in caplog.text
    assert "at the latest (60 days after the bot first saw it)" in caplog.text
    assert bot.store.token_state("th")[0] == clock.now() + timedelta(days=60)
    clock.advance(timedelta(hours=23))
    bot.alert()
    assert len(threads.calls_to("/refresh_access_token")) == 1
    clock.advance(timedelta(hours=1))
    bot.alert()
    assert len(threads.refreshes) == 1
    bot.close()


# --- the quota and the errors --------------------------------------------------------------------------------

def test_a_used_up_quota_waits_and_makes_no_container(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock,
) -> None:
    threads.published_elsewhere = [clock.now() - timedelta(hours=23, minutes=50)] * 250  # by another app
    bot = queued(config(tmp_path, feed_server, threads), clock, feed_server, 2)
    [o] = bot.dispatch()
    assert o.status == "rate_limited" and "250 of 250 posts in 24 h" in (o.detail or "")
    assert bot.store.account_state("th").not_before == clock.now() + QUOTA_RECHECK
    assert threads.containers == {}
    clock.advance(QUOTA_RECHECK)  # the window has moved on: the other app's posts are 24 h old
    assert sorted(o.status for o in bot.dispatch()) == ["sent", "sent"] and len(threads.posts) == 2
    bot.close()


def test_the_fake_enforces_250_posts_a_day_at_publish(threads: FakeThreads, clock: ManualClock) -> None:
    """Were the quota used up between the bot's look and its publish, Threads itself refuses (and the bot's
    outcome for that refusal is in the next test)."""
    token, uid = threads.token, threads.user_id
    made = requests.post(threads.url(f"/v1.0/{uid}/threads"), timeout=5, data={
        "media_type": "TEXT", "text": "خبر", "access_token": token}).json()
    threads.published_elsewhere = [clock.now() - timedelta(hours=1)] * 250
    limit = requests.get(threads.url(f"/v1.0/{uid}/threads_publishing_limit"), timeout=5, params={
        "fields": "quota_usage,config", "access_token": token}).json()
    assert limit == {"data": [{"quota_usage": 250, "config": {"quota_total": 250, "quota_duration": 86400}}]}
    refused = requests.post(threads.url(f"/v1.0/{uid}/threads_publish"), timeout=5, data={
        "creation_id": made["id"], "access_token": token})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 4 and threads.posts == []


@pytest.mark.parametrize(("step", "answer", "status"), [
    ("container", threads_error(400, 190, "Error validating access token: Session has expired."), "held"),
    ("container", threads_error(403, 10, "Application does not have permission for this action"), "held"),
    ("container", threads_error(400, 4, "Application request limit reached"), "rate_limited"),
    ("container", threads_error(400, 17, "User request limit reached"), "rate_limited"),
    ("container", threads_error(400, 32, "Page request limit reached"), "rate_limited"),
    ("container", threads_error(400, 613, "Calls to this api have exceeded the rate limit."), "rate_limited"),
    ("container", threads_error(500, 2, "An unexpected error has occurred.", is_transient=True), "retry"),
    ("container", Answer(502, {"error": "Bad Gateway"}), "retry"),
    ("container", threads_error(400, 100, "Param text must be at most 500 characters long."), "failed"),
    ("quota", Answer(503, {}), "retry"),
    ("quota", threads_error(400, 190, "Error validating access token"), "held"),
    ("publish", threads_error(500, 1, "An unknown error occurred", is_transient=True), "in_doubt"),
    ("publish", Answer(502, {"error": "Bad Gateway"}), "in_doubt"),
    ("publish", threads_error(400, 190, "Error validating access token"), "held"),
    ("publish", threads_error(400, 613, "Calls to this api have exceeded the rate limit."), "rate_limited"),
    ("publish", threads_error(400, 24, "The requested resource does not exist", error_subcode=4279009), "failed"),
    ("permalink", Answer(502, {"error": "Bad Gateway"}), "sent"),  # posted: only its address is not known
])
def test_each_error_maps_to_its_outcome(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock, step: str,
    answer: Answer, status: str,
) -> None:
    bot = queued(config(tmp_path, feed_server, threads), clock, feed_server, 1)
    threads.fail_step(step, answer)
    [o] = bot.dispatch()
    assert o.status == status, o.detail
    [row] = bot.store.deliveries()
    expected = {"held": DeliveryState.QUEUED, "rate_limited": DeliveryState.QUEUED, "retry": DeliveryState.QUEUED,
                "failed": DeliveryState.FAILED, "in_doubt": DeliveryState.IN_DOUBT, "sent": DeliveryState.SENT}
    assert row.state == expected[status] and len(threads.posts) == (status == "sent")
    assert row.maybe_posted == (status == "in_doubt")  # only a publish may have posted
    if status == "rate_limited":
        assert bot.store.account_state("th").not_before == clock.now() + timedelta(minutes=15)
    if status == "in_doubt":
        assert f"check the Threads profile of user {threads.user_id}" in (o.detail or "")
    if status == "sent":
        assert row.remote_id == threads.posts[0].id and row.remote_url is None
    assert threads.token not in (o.detail or "") and threads.token not in (row.last_error or "")
    bot.close()


@pytest.mark.parametrize(("step", "status"), [("quota", "retry"), ("container", "retry"), ("status", "retry"),
                                            ("publish", "in_doubt")])
def test_an_answer_that_never_came(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock, web: str, step: str,
    status: str,
) -> None:
    """The quota, a container or its status whose answer is late is only retried (they post nothing); a
    publish whose answer is late is in doubt, with where to look, and the post is there once."""
    path = sample_site(tmp_path, feed_server, [account(threads, "th", image="card", timeout="1s")],
                       **with_server(web))
    bot = queued(path, clock, feed_server, 1)
    threads.fail_step(step, None, 2.0)
    [o] = bot.dispatch()
    assert o.status == status and "did not answer in time" in (o.detail or "")
    [row] = bot.store.deliveries()
    assert row.maybe_posted == (status == "in_doubt")
    clock.advance(timedelta(hours=2))
    later = bot.dispatch()
    assert len(threads.posts) == 1
    assert [x.status for x in later] == ([] if status == "in_doubt" else ["sent"])
    bot.close()


def test_a_crash_mid_publish_is_in_doubt_and_never_posted_twice(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock,
) -> None:
    """Threads stores the post and is slow to answer; the process dies. Nothing tells a resend from a new
    post, so the delivery is in doubt after the restart, with where to look: one post on Threads."""
    path = config(tmp_path, feed_server, threads)
    queued(path, clock, feed_server, 1).close()
    crash_after_answering(path, threads, lambda request: request.path.endswith("/threads_publish"),
                          lambda: threads.posts)  # a crash mid-send
    clock.set(datetime.now(UTC) + timedelta(minutes=3))
    threads.tokens[threads.token].expires = clock.now() + timedelta(days=30)
    bot = Bot.open(load_config(path), clock=clock)
    expire_claims(bot.store)
    assert bot.dispatch() == []
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.IN_DOUBT and "may or may not" in (row.note or "")
    assert len(threads.posts) == 1
    bot.close()


# --- fitting, links, check, delete, config ---------------------------------------------------------------------

def test_a_long_arabic_post_is_fitted_to_500_bytes_at_a_word(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock,
) -> None:
    words = [f"كلمة{i}" for i in range(200)]
    path = config(tmp_path, feed_server, threads, template="🔴 {title}\n\n{excerpt}\n\n{short_link}")
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    publish(feed_server, [Item(162, HEADLINE, ["عاجل"], site=feed_server.base, body=" ".join(words))])
    bot.poll("main")
    assert [o.status for o in bot.dispatch()] == ["sent"]
    [text] = threads.texts()
    assert count_utf8(text) <= 500 and count_utf8(text) > 450 and text.endswith("\n\nhttps://news.example/?p=162")
    assert text.startswith(f"🔴 {HEADLINE}\n\n")  # the headline whole; the excerpt gave way
    excerpt = text.split("\n\n")[1]
    assert excerpt.endswith(ELLIPSIS) and set(excerpt.removesuffix(ELLIPSIS).split()) <= set(words)
    bot.close()


def test_threads_counts_utf8_bytes_and_five_links() -> None:
    assert THREADS.count("عاجل") == 8 and THREADS.count("🔴") == 4 and THREADS.count("abc") == 3
    assert THREADS.fits("ب" * 250) and not THREADS.fits("ب" * 251)
    links = " ".join(f"https://news.example/?p={i}" for i in range(5))
    assert THREADS.fits(links) and THREADS.fits(f"{links} https://news.example/?p=0")  # the same one twice
    assert not THREADS.fits(f"{links} www.example.org")


def test_the_link_card_is_left_out_when_it_would_be_a_sixth_link(threads: FakeThreads, clock: ManualClock) -> None:
    publisher = make_publisher(ThreadsAccount.model_validate(account(threads, "th")), clock=clock)
    five = " ".join(f"https://news.example/?p={i}" for i in range(1, 6))
    publisher.publish(Post(1, f"روابط {five}", link="https://news.example/?p=9", title="روابط"))
    publisher.publish(Post(2, f"روابط {five}.", link="https://news.example/?p=5", title="روابط"))
    first, second = threads.posts
    assert first.container.link_attachment is None  # a sixth link: Threads would refuse the post
    assert second.container.link_attachment == "https://news.example/?p=5"  # one the text has: counted once
    with pytest.raises(Rejected, match="THREADS_API__LINK_LIMIT_EXCEEDED"):
        publisher.publish(Post(3, f"{five} https://news.example/?p=7", link="", title="روابط"))
    publisher.close()


def test_check_and_delete(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock, run_bot: Callable[..., Run],
) -> None:
    path = config(tmp_path, feed_server, threads)
    result = run_bot("check", "--config", str(path))
    assert result.code == 0 and result.out.strip() == f"th (threads): ok, @qurays_news ({threads.user_id})"
    bot = queued(path, clock, feed_server, 1)
    [o] = bot.dispatch()
    [row] = bot.store.deliveries()
    assert o.status == "sent" and row.remote_id
    publisher = bot.publishers["th"]
    publisher.delete(row.remote_id)
    assert threads.posts == [] and threads.deleted == [row.remote_id]
    with pytest.raises(Gone, match="does not exist"):  # deleted already: nothing left to do
        publisher.delete(row.remote_id)
    bot.close()
    (tmp_path / "other").mkdir()
    other = config(tmp_path / "other", feed_server, threads, user_id="17841400000000009")
    result = run_bot("check", "--config", str(other))
    assert result.code == 1 and "not user 17841400000000009's" in result.out
    threads.tokens[threads.token].valid = False
    result = run_bot("check", "--config", str(path))
    assert result.code == 1 and "190" in result.out and threads.token not in result.out


def test_the_accounts_config(tmp_path: Path, feed_server: FeedServer, threads: FakeThreads) -> None:
    path = config(tmp_path, feed_server, threads)
    loaded = load_config(path)
    [th] = loaded.accounts
    assert isinstance(th, ThreadsAccount) and th.hashtags.max == 1 and th.image == "none"
    assert threads.token in loaded.secrets() and not th.needs_public_images
    told = load_config(config(tmp_path, feed_server, threads, hashtags={"source": "tags"})).accounts[0]
    assert told.hashtags.max == 1 and told.hashtags.source == "tags"
    for bad, said in (({"hashtags": {"max": 3}}, "first #tag its topic"),
                      ({"hashtags": {"max": 1, "keywords": ["العراق"]}}, "first #tag its topic"),
                      ({"token_expires": "2027-01-15"}, "token_expires is not for threads"),
                      ({"user_id": "@qurays"}, "digits only")):
        with pytest.raises(ConfigError, match=said):
            load_config(config(tmp_path, feed_server, threads, **bad))
    with pytest.raises(ConfigError, match=r"server\.public_url"):
        load_config(config(tmp_path, feed_server, threads, image="card"))
    unset = sample_site(tmp_path, feed_server, [account(threads, "th", access_token="${THREADS_ACCESS_TOKEN}")])
    assert load_config(unset, environ={}, secrets=False).unset_secrets() == ["th"]


def test_the_daemon_checks_the_tokens_hourly_without_alerts(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock,
) -> None:
    """A Threads token the bot must refresh: the daemon's token check runs even where no alerts: are set up."""
    from bot.daemon import Daemon

    from .kit.runs import paused_scheduler

    for platform, fake in (("console", None), ("threads", threads)):
        accounts = [account(fake, "th")] if fake else [{"id": "c", "platform": "console"}]
        path = sample_site(tmp_path, feed_server, accounts)
        daemon = Daemon(Bot.open(load_config(path), clock=clock), path)
        daemon._scheduler = paused_scheduler()
        daemon._schedule()
        job = daemon._scheduler.get_job("alerts")
        if platform == "console":
            assert job is None
        else:
            assert job is not None and job.trigger.interval == timedelta(hours=1)
        daemon._scheduler.shutdown(wait=False)
        daemon.bot.close()


def test_preview_a_dry_run_and_the_console_count_as_threads_does(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, run_bot: Callable[..., Run],
) -> None:
    from bot.config import ConsoleAccount

    path = config(tmp_path, feed_server, threads)
    preview = run_bot("preview", "--config", str(path), "--account", "th", "--limit", "1")
    assert preview.code == 0 and "── main → th (threads) · " in preview.out and "/500" in preview.out
    text = "🔴 تنويه: تأجيل مؤتمر الاستثمار إلى الأسبوع المقبل"
    dry = run_bot("post", text, "--link", "https://news.example/?p=77", "--account", "th", "--dry-run",
                  "--config", str(path))
    composed = f"{text}\n\nhttps://news.example/?p=77"
    assert dry.code == 0 and f"── th · {len(composed.encode())}/500\n{composed}" in dry.out  # bytes, not letters
    assert threads.posts == []
    console = make_publisher(ConsoleAccount(id="c", platform="console", count_as="threads"))
    assert console.rule is THREADS
