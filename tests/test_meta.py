"""What Meta's platforms share, against their fakes: a token refreshed in the middle of a send, a Threads token
whose refreshes never succeed (its alert still comes), ids that are not ids, rate limits Meta says with an HTTP
429 or Instagram's 80002, waits from Meta's answers capped, Instagram's quota search bounded in time, the bot's
own database failing before anything was sent, and the permalink and hosted picture rules."""

from __future__ import annotations

import io
import json
import logging
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from PIL import Image

from bot.clock import ManualClock
from bot.config import load_config
from bot.config.database import database_url
from bot.core import Bot
from bot.models import DeliveryState
from bot.platforms import meta
from bot.store.tables import hosted_images

from .kit.configs import account, sample_site
from .kit.e2e import publish
from .kit.fake_alerts import FakeWebhook
from .kit.fake_facebook import FakeFacebook
from .kit.fake_instagram import FakeInstagram, MediaSide
from .kit.fake_instagram import graph_error as ig_error
from .kit.fake_threads import FakeThreads, threads_error
from .kit.servers import Answer, FakeServer, FeedServer
from .kit.wordpress import Item

POST = "/v26.0/17841400000000001/media"
PUBLISH = "/v26.0/17841400000000001/media_publish"
LIMIT = "/v26.0/17841400000000001/content_publishing_limit"


def items(base: str) -> list[Item]:
    return [Item(190, "العراق والولايات المتحدة يتفقان على تشكيل لجنة عسكرية عليا", ["عاجل"], site=base,
                 image=f"{base}/up/photo.png"),
            Item(191, "الأرصاد: أمطار غزيرة وسيول محتملة في نينوى وأربيل خلال اليومين المقبلين", ["طقس"], site=base)]


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1200, 800), (30, 90, 160)).save(out, "PNG")
    return out.getvalue()


def config(tmp_path: Path, feed_server: FeedServer, fake: FakeServer, media: MediaSide, **settings: Any) -> Path:
    """One account (``th``, ``ig`` or ``fb``) on ``fake`` reading the sample feed; its pictures at ``media``."""
    name = {FakeThreads: "th", FakeInstagram: "ig", FakeFacebook: "fb"}[type(fake)]
    feed_server.set("/up/photo.png", photo(), content_type="image/png", conditional=False)
    return sample_site(tmp_path, feed_server, [account(fake, name, **{"timeout": "2s", **settings})],
                       server={"host": "127.0.0.1", "port": media.port, "public_url": media.public_url})


def queued(path: Path, clock: ManualClock, feed_server: FeedServer, media: MediaSide) -> Bot:
    """A bot on ``path`` (its pictures served by ``media``) with the first new article queued."""
    bot = Bot.open(load_config(path), clock=clock)
    media.start(database_url(bot.config.database, bot.config.data_dir), clock.now)
    bot.poll("main")
    publish(feed_server, items(feed_server.base)[:1])
    assert bot.poll("main").queued == 1
    return bot


def hosted_rows(bot: Bot) -> int:
    with bot.store.engine.connect() as c:
        return int(c.execute(sa.select(sa.func.count()).select_from(hosted_images)).scalar() or 0)


def drop_table(bot: Bot, name: str) -> None:
    """The bot's database loses a table: every use of it fails as a broken database does."""
    with bot.store.engine.begin() as c:
        c.execute(sa.text(f"DROP TABLE {name}"))


# --- the token, refreshed during a send ----------------------------------------------------------------------

def test_a_token_refreshed_by_another_replica_during_a_send_is_used_not_held(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock, media: MediaSide,
) -> None:
    """The send read its token; while Threads reads the container's status, another replica's token check
    refreshes it (Threads refuses the old one from then on): the publish is asked again with the new one."""
    path = config(tmp_path, feed_server, threads, media)
    bot = queued(path, clock, feed_server, media)
    configured = threads.token
    replica = Bot.open(load_config(path), clock=clock)
    threads.before_step("status", replica.alert)  # its first token check: the end is not known, so refreshed
    [o] = bot.dispatch()
    replica.close()
    [new] = threads.refreshes
    assert o.status == "sent", o.detail
    assert not bot.store.account_state("th").held
    [post] = threads.posts
    assert post.token == new and configured in threads.used_tokens  # begun with the old one, published with the new
    bot.close()


def test_a_token_refused_while_it_is_still_the_current_one_holds_the_account(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock, media: MediaSide,
) -> None:
    bot = queued(config(tmp_path, feed_server, threads, media), clock, feed_server, media)
    threads.tokens[threads.token].valid = False  # revoked: no other token to try
    [o] = bot.dispatch()
    assert o.status == "held" and "190" in (o.detail or "")
    assert len(threads.calls_to("/v1.0/")) == 1  # asked once: the token did not change
    bot.close()


# --- a Threads token whose refreshes never succeed -------------------------------------------------------------

def test_refreshes_that_never_succeed_are_told_before_the_60_days_end(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock, webhook: FakeWebhook,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Its end is never known (no refresh succeeds, and token_expires is not for Threads): the bot assumes the
    60 days from when it first saw the token, so the token alert comes 7 days before that."""
    path = sample_site(tmp_path, feed_server, [account(threads, "th")],
                       alerts={"channels": [{"type": "webhook", "url": webhook.address}], "token_warning": "7d"})
    threads.fail_next("/refresh_access_token", threads_error(400, 10, "Application does not have permission for "
                                                             "this action"), n=1000)
    bot = Bot.open(load_config(path), clock=clock)
    start = clock.now()
    told_at = None
    for half_days in range(0, 2 * 56):
        clock.set(start + timedelta(hours=12 * half_days))
        bot.alert()
        if webhook.received and told_at is None:
            told_at = clock.now() - start
    assert told_at == timedelta(days=53)  # 60 days - 7
    told = webhook.received[0]
    assert told["problem"] == "token:th" and "the token of account th (threads) expires" in told["text"]
    assert len(threads.calls_to("/refresh_access_token")) == 56  # tried each day meanwhile
    assert "at the latest (60 days after the bot first saw it)" in caplog.text
    kept = bot.store.account_token("th")
    assert kept is not None and kept.expires_at == start + timedelta(days=60)  # the config's own, first seen
    bot.close()


@pytest.mark.parametrize("answer", [{"token_type": "bearer", "expires_in": 5183944},
                                    {"access_token": "", "expires_in": 5183944}, ["not", "an", "object"]])
def test_a_refresh_answered_without_a_token_keeps_the_one_it_has(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock, answer: Any,
    caplog: pytest.LogCaptureFixture, media: MediaSide,
) -> None:
    bot = Bot.open(load_config(config(tmp_path, feed_server, threads, media)), clock=clock)
    threads.fail_step("refresh", Answer(200, answer))
    bot.alert()
    assert "Threads answered the token refresh without a token" in caplog.text
    kept = bot.store.account_token("th")
    assert kept is not None and kept.token == threads.token  # the config's, with its end assumed
    bot.close()
    publish_one = queued(config(tmp_path, feed_server, threads, media), clock, feed_server, media)
    assert [o.status for o in publish_one.dispatch()] == ["sent"] and threads.posts[0].token == threads.token
    publish_one.close()


@pytest.mark.parametrize("expires_in", [10**10, 91 * 86400, 0, -5])
def test_a_refreshed_tokens_end_beyond_belief_is_taken_as_60_days(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock, media: MediaSide,
    expires_in: int,
) -> None:
    bot = Bot.open(load_config(config(tmp_path, feed_server, threads, media)), clock=clock)
    new = "THAAGrefreshedByHand-0123456789abcdefghijklmnopqrstuvwxyz"
    threads.fail_step("refresh", Answer(200, {"access_token": new, "token_type": "bearer", "expires_in": expires_in}))
    bot.alert()
    kept = bot.store.account_token("th")
    assert kept is not None and kept.token == new and kept.expires_at == clock.now() + timedelta(days=60)
    assert bot.store.token_state("th")[0] == clock.now() + timedelta(days=60)
    bot.close()


# --- ids that are not ids ------------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [{}, {"id": None}, {"id": "../../me"}, {"id": ""}, [1, 2], {"id": True}])
def test_threads_publish_answered_without_a_post_id_is_in_doubt(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock, media: MediaSide,
    body: Any,
) -> None:
    bot = queued(config(tmp_path, feed_server, threads, media), clock, feed_server, media)
    threads.fail_step("publish", Answer(200, body))
    [o] = bot.dispatch()
    assert o.status == "in_doubt" and "without a post's id" in (o.detail or ""), o.detail
    assert f"check the Threads profile of user {threads.user_id}" in (o.detail or "")
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.IN_DOUBT and row.remote_id is None
    assert [c for c in threads.calls if "../" in c[1] or c[1].endswith("/me")] == []  # never used in a path
    bot.close()


@pytest.mark.parametrize("body", [{}, {"id": "../../me"}, {"id": None}])
def test_a_container_without_an_id_is_retried(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, instagram: FakeInstagram, media: MediaSide,
    clock: ManualClock, body: Any,
) -> None:
    bot = queued(config(tmp_path, feed_server, threads, media), clock, feed_server, media)
    threads.fail_step("container", Answer(200, body))
    [o] = bot.dispatch()
    assert o.status == "retry" and "made no container" in (o.detail or "")
    assert not bot.store.deliveries()[0].maybe_posted and threads.calls[-1][1].endswith("/threads")
    bot.close()
    (tmp_path / "ig").mkdir()
    bot = queued(config(tmp_path / "ig", feed_server, instagram, media), clock, feed_server, media)
    instagram.fail_next(POST, Answer(200, body))
    [o] = bot.dispatch()
    assert o.status == "retry" and "without a container's id" in (o.detail or "")
    assert not bot.store.deliveries()[0].maybe_posted and instagram.calls[-1][1] == POST
    bot.close()


@pytest.mark.parametrize("body", [{}, {"id": None}, {"id": "../../me"}, ["ok"]])
def test_instagram_media_publish_without_a_post_id_asks_the_container(
    tmp_path: Path, feed_server: FeedServer, instagram: FakeInstagram, media: MediaSide, clock: ManualClock,
    body: Any,
) -> None:
    """Not published (the container is FINISHED still): in doubt. Published (it says PUBLISHED): sent, its id
    not known."""
    bot = queued(config(tmp_path, feed_server, instagram, media), clock, feed_server, media)
    instagram.fail_next(PUBLISH, Answer(200, body))  # answered so, and not posted
    [o] = bot.dispatch()
    assert o.status == "in_doubt" and "without a post's id" in (o.detail or "") and instagram.posts == []
    assert "check the Instagram account's profile" in (o.detail or "")
    bot.close()
    (tmp_path / "again").mkdir()
    bot = queued(config(tmp_path / "again", feed_server, instagram, media), clock, feed_server, media)
    instagram.after_publishing.append(Answer(200, body))  # posted, and answered so
    [o] = bot.dispatch()
    assert o.status == "sent" and len(instagram.posts) == 1
    [row] = bot.store.deliveries()
    assert row.remote_id is None and "its container says so" in (row.note or "")
    bot.close()


# --- rate limits said with a 429, or Instagram's 80002 ---------------------------------------------------------

def test_a_429_and_instagrams_80002_are_rate_limits(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, instagram: FakeInstagram, facebook: FakeFacebook,
    media: MediaSide, clock: ManualClock,
) -> None:
    bot = queued(config(tmp_path, feed_server, threads, media), clock, feed_server, media)
    threads.fail_step("container", Answer(429, {}))
    [o] = bot.dispatch()
    assert o.status == "rate_limited", o.detail
    assert bot.store.account_state("th").not_before == clock.now() + timedelta(minutes=15)
    bot.close()
    too_many = ig_error(400, 80002, "There have been too many calls to this Instagram account. Wait a bit and try "
                                    "again.")
    for n, answer in enumerate((Answer(429, {}), too_many, Answer(429, "Too Many Requests"))):
        (tmp_path / f"ig{n}").mkdir()
        bot = queued(config(tmp_path / f"ig{n}", feed_server, instagram, media), clock, feed_server, media)
        instagram.fail_next(POST, answer)
        [o] = bot.dispatch()
        assert o.status == "rate_limited", (answer, o.detail)
        bot.close()
    (tmp_path / "fb").mkdir()
    bot = queued(config(tmp_path / "fb", feed_server, facebook, media), clock, feed_server, media)
    facebook.fail_next("/v26.0", Answer(429, {}))
    [o] = bot.dispatch()
    assert o.status == "rate_limited" and facebook.posts == []
    bot.close()


# --- waits from Meta's answers, capped -----------------------------------------------------------------------

@pytest.mark.parametrize("minutes", [10**8, 10**10, 1e300])
def test_a_wait_from_metas_usage_headers_is_at_most_a_day(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock, media: MediaSide,
    minutes: float,
) -> None:
    bot = queued(config(tmp_path, feed_server, threads, media), clock, feed_server, media)
    answer = threads_error(400, 4, "Application request limit reached")
    answer.headers["X-App-Usage"] = json.dumps({"call_count": 100, "estimated_time_to_regain_access": minutes})
    threads.fail_step("container", answer)
    [o] = bot.dispatch()
    assert o.status == "rate_limited", o.detail
    assert bot.store.account_state("th").not_before == clock.now() + timedelta(hours=24)
    assert meta.usage_wait({"X-App-Usage": json.dumps({"estimated_time_to_regain_access": 30})}) == \
        timedelta(minutes=30)
    bot.close()


# --- Instagram's quota search, bounded -------------------------------------------------------------------------

def test_a_slow_quota_search_gives_up_in_twice_the_timeout(
    tmp_path: Path, feed_server: FeedServer, instagram: FakeInstagram, media: MediaSide, clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each question about the quota takes most of the timeout (1 s): a dozen of them would hold the dispatcher
    for ten seconds; after two timeouts the bot takes window / quota instead."""
    instagram.quota_total = 4
    instagram.posts = [{"id": f"1790000000000009{i}", "at": clock.now() - timedelta(hours=1)} for i in range(4)]
    bot = queued(config(tmp_path, feed_server, instagram, media, timeout="1s"), clock, feed_server, media)
    instagram.answer_late(LIMIT, 0.6, n=30)
    began = time.monotonic()
    [o] = bot.dispatch()
    took = time.monotonic() - began
    assert o.status == "rate_limited" and took < 4.0, took
    assert len(instagram.calls_to(LIMIT)) <= 5
    assert bot.store.account_state("ig").not_before == clock.now() + timedelta(hours=6)  # 24 h / 4
    assert "cannot learn when the publishing limit has room" in caplog.text
    bot.close()


# --- the bot's own database failing before anything was sent ----------------------------------------------------

def test_the_database_failing_before_the_container_is_retried_not_in_doubt(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, instagram: FakeInstagram, media: MediaSide,
    clock: ManualClock,
) -> None:
    bot = queued(config(tmp_path, feed_server, threads, media), clock, feed_server, media)
    drop_table(bot, "account_tokens")  # the token cannot be read
    [o] = bot.dispatch()
    assert o.status == "retry" and "could not read this account's token" in (o.detail or ""), o.detail
    assert threads.calls == [] and not bot.store.deliveries()[0].maybe_posted
    bot.close()
    (tmp_path / "th").mkdir()
    bot = queued(config(tmp_path / "th", feed_server, threads, media, image="card"), clock, feed_server, media)
    drop_table(bot, "hosted_images")  # the picture cannot be put at its address
    [o] = bot.dispatch()
    assert o.status == "retry" and "could not put the post's picture" in (o.detail or ""), o.detail
    assert [c for c in threads.calls if c[1].endswith("/threads")] == []  # no container made
    bot.close()
    (tmp_path / "ig").mkdir()
    bot = queued(config(tmp_path / "ig", feed_server, instagram, media), clock, feed_server, media)
    drop_table(bot, "hosted_images")
    [o] = bot.dispatch()
    assert o.status == "retry" and "could not put the post's picture" in (o.detail or ""), o.detail
    assert instagram.calls_to(POST) == [] and not bot.store.deliveries()[0].maybe_posted
    bot.close()


# --- the permalink, and the hosted picture withdrawn whatever happens --------------------------------------------

def test_a_permalink_that_is_not_https_is_not_recorded(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, instagram: FakeInstagram, media: MediaSide,
    clock: ManualClock,
) -> None:
    threads.permalink_base = "javascript:alert(1)//www.threads.com"
    bot = queued(config(tmp_path, feed_server, threads, media), clock, feed_server, media)
    [o] = bot.dispatch()
    [row] = bot.store.deliveries()
    assert o.status == "sent" and row.remote_id == threads.posts[0].id and row.remote_url is None
    bot.close()
    instagram.permalink_base = "http://www.instagram.com/p/"
    (tmp_path / "ig").mkdir()
    bot = queued(config(tmp_path / "ig", feed_server, instagram, media), clock, feed_server, media)
    [o] = bot.dispatch()
    [row] = bot.store.deliveries()
    assert o.status == "sent" and row.remote_id == instagram.posts[0]["id"] and row.remote_url is None
    bot.close()


@pytest.mark.parametrize(("step", "answer", "status"), [
    ("container", threads_error(400, 100, "Param image_url must be a valid URL"), "failed"),
    ("status", Answer(502, {"error": "Bad Gateway"}), "retry"),
    ("publish", threads_error(500, 1, "An unknown error occurred", is_transient=True), "in_doubt"),
    ("publish", threads_error(400, 190, "Error validating access token"), "held"),
])
def test_threads_withdraws_the_hosted_picture_when_a_send_fails_too(
    tmp_path: Path, feed_server: FeedServer, threads: FakeThreads, clock: ManualClock, media: MediaSide, step: str,
    answer: Answer, status: str, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    bot = queued(config(tmp_path, feed_server, threads, media, image="card"), clock, feed_server, media)
    threads.fail_step(step, answer)
    [o] = bot.dispatch()
    assert o.status == status, o.detail
    assert hosted_rows(bot) == 0  # withdrawn, not left for its hour
    if threads.fetched:
        assert requests.get(threads.fetched[0][0], timeout=5).status_code == 404
    bot.close()
