"""Bluesky end to end against the fake PDS."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import load_config
from bot.core import Bot
from bot.models import DeliveryState
from bot.platforms.bluesky import facets, tid

from .kit.databases import expire_claims
from .kit.e2e import JPEG, EndToEnd
from .kit.fake_bluesky import FakeBluesky, xrpc_error
from .kit.runs import Run, crash_after_answering
from .kit.servers import Answer, FeedServer
from .kit.wordpress import Item


def new_items(base: str) -> list[Item]:
    return [Item(170, "🔴 عاجل: البرلمان يصوت على الموازنة", ["عاجل", "البرلمان"], site=base,
                 body="صوت البرلمان على قانون الموازنة العامة."),
            Item(171, "صور: مهرجان الربيع في الموصل", ["صور", "الموصل"], site=base, image=f"{base}/up/photo.jpg")]


BLUESKY = EndToEnd("bsky", new_items, {"timeout": "2s", "template": "{title}\n\n{short_link}\n{hashtags}"},
                   image_path="/up/photo.jpg")
config, publish, queued = BLUESKY.config, BLUESKY.publish, BLUESKY.queued


def test_tid_and_facets() -> None:
    when = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
    assert tid(when, 7) == tid(when, 7) and tid(when, 7) != tid(when, 8) and len(tid(when, 7)) == 13
    assert tid(when, 7) < tid(when + timedelta(seconds=1), 7)  # sortable by time
    text = "🔴 عاجل: خبر\n\nhttps://news.example/?p=7\n#عاجل #سياسة"
    spans = facets(text)
    raw = text.encode()
    assert [raw[f["index"]["byteStart"]:f["index"]["byteEnd"]].decode() for f in spans] == [
        "https://news.example/?p=7", "#عاجل", "#سياسة"]
    assert spans[1]["features"] == [{"$type": "app.bsky.richtext.facet#tag", "tag": "عاجل"}]


def test_posts_with_live_links_hashtags_card_and_one_session(
    tmp_path: Path, feed_server: FeedServer, bluesky: FakeBluesky, run_bot: Callable[..., Run],
) -> None:
    path = config(tmp_path, feed_server, bluesky)
    run_bot("poll", "--config", str(path))
    publish(feed_server)
    assert run_bot("poll", "--config", str(path)).code == 0
    records = list(bluesky.records.values())
    assert len(records) == 2 and bluesky.logins == 1  # one session for both posts
    first, second = sorted(records, key=lambda r: r["text"])[::-1] if records[0]["text"].startswith("🔴") \
        else (records[1], records[0])
    assert first["text"] == "🔴 عاجل: البرلمان يصوت على الموازنة\n\nhttps://news.example/?p=170\n#عاجل #البرلمان"
    assert first["langs"] == ["ar"] and len(first["facets"]) == 3  # the fake checked every byte offset
    card = first["embed"]["external"]
    assert card["uri"] == new_items(feed_server.base)[0].link and card["title"].startswith("🔴 عاجل")
    assert card["description"] == "صوت البرلمان على قانون الموازنة العامة."
    thumb = second["embed"]["external"]["thumb"]
    assert bluesky.blobs[thumb["ref"]["$link"]] == JPEG
    bot = Bot.open(load_config(path))
    urls = {r.remote_url for r in bot.store.deliveries()}
    assert urls == {f"https://bsky.app/profile/{bluesky.handle}/post/{k}" for k in bluesky.records}
    bot.close()


def test_the_session_is_refreshed_not_renewed_by_login(
    tmp_path: Path, feed_server: FeedServer, bluesky: FakeBluesky, clock: ManualClock,
) -> None:
    real = bluesky.session
    bluesky.session = lambda lifetime=600: real(lifetime)  # type: ignore[method-assign]  # 10-minute tokens
    bot = queued(config(tmp_path, feed_server, bluesky, link_card=False), clock, feed_server)
    assert [o.status for o in bot.dispatch()] == ["sent", "sent"]
    assert bluesky.logins == 1 and bluesky.refreshes >= 1
    bot.close()


@pytest.mark.parametrize(("answer", "status"), [
    (xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded",
                **{"ratelimit-limit": "5000", "ratelimit-remaining": "0"}), "rate_limited"),
    (xrpc_error(400, "InvalidRequest", "Record/text must not be longer than 300 graphemes"), "failed"),
    (xrpc_error(502, "UpstreamFailure", "Upstream Failure"), "retry"),
])
def test_errors_map_to_outcomes(
    tmp_path: Path, feed_server: FeedServer, bluesky: FakeBluesky, clock: ManualClock, answer: Answer,
    status: str,
) -> None:
    if status == "rate_limited":
        answer.headers["ratelimit-reset"] = str(int(time.time()) + 900)
    bot = queued(config(tmp_path, feed_server, bluesky, link_card=False), clock, feed_server, 1)
    bluesky.fail_next("/xrpc/com.atproto.repo.createRecord", answer)
    [o] = bot.dispatch()
    assert o.status == status
    if status == "rate_limited":
        wait = bot.store.account_state("bsky").not_before - clock.now()  # type: ignore[operator]
        assert timedelta(minutes=14) < wait <= timedelta(minutes=15)
    bot.close()


def test_a_wrong_app_password_holds_the_account(
    tmp_path: Path, feed_server: FeedServer, bluesky: FakeBluesky, clock: ManualClock, run_bot: Callable[..., Run],
) -> None:
    path = config(tmp_path, feed_server, bluesky, app_password="wrong-pass-word-xxxx")
    bot = queued(path, clock, feed_server)
    [o] = bot.dispatch()
    assert o.status == "held" and "Invalid identifier or password" in (o.detail or "")
    assert [r.state for r in bot.store.deliveries()] == [DeliveryState.QUEUED] * 2
    bot.close()
    result = run_bot("check", "--config", str(path))
    assert result.code == 1 and "wrong-pass" not in result.out
    good = config(tmp_path, feed_server, bluesky)
    assert run_bot("check", "--config", str(good)).out.strip() == (
        f"bsky (bluesky): ok, @{bluesky.handle} ({bluesky.did})")


@pytest.mark.parametrize("duplicate_status", [409, 500])
def test_a_resend_after_a_crash_cannot_post_twice(
    tmp_path: Path, feed_server: FeedServer, bluesky: FakeBluesky, clock: ManualClock, duplicate_status: int,
) -> None:
    """The PDS stores the post and is slow to answer; the process dies. The resend uses the same record key:
    the PDS refuses it (409, or 500 on older PDSes, where the bot then finds the record) — one post."""
    bluesky.duplicate_status = duplicate_status
    path = config(tmp_path, feed_server, bluesky, link_card=False)
    queued(path, clock, feed_server, 1).close()
    crash_after_answering(path, bluesky, lambda request: request.path.endswith("createRecord"),
                          lambda: bluesky.records)  # a crash mid-send
    clock.set(datetime.now(UTC) + timedelta(minutes=3))
    bot = Bot.open(load_config(path), clock=clock)
    expire_claims(bot.store)
    [o] = bot.dispatch()
    assert o.status == "duplicate" and len(bluesky.records) == 1
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.SENT and row.remote_id == f"at://{bluesky.did}/app.bsky.feed.post/" + \
        next(iter(bluesky.records))
    bot.close()
