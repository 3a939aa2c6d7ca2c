"""Mastodon end to end against the fake instance."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import load_config
from bot.core import Bot
from bot.models import DeliveryState

from .kit.databases import expire_claims
from .kit.e2e import JPEG, EndToEnd
from .kit.fake_mastodon import FakeMastodon, error, mastodon_length
from .kit.runs import Run, crash_after_answering
from .kit.servers import Answer, FeedServer
from .kit.wordpress import LONG_TITLE, Item


def new_items(base: str) -> list[Item]:
    return [Item(160, LONG_TITLE, ["اقتـصاد", "سياسة"], site=base, body="ملخص " * 150),
            Item(161, "صور: مهرجان الربيع في الموصل", ["صور"], site=base, image=f"{base}/up/photo.jpg")]


MASTODON = EndToEnd("masto", new_items, {"image": True, "timeout": "2s",
                                         "template": "{title}\n\n{excerpt}\n\n{short_link}\n{hashtags}"},
                    image_path="/up/photo.jpg")
config, publish, queued = MASTODON.config, MASTODON.publish, MASTODON.queued


def test_statuses_fit_mastodons_count_carry_language_and_image_description(
    tmp_path: Path, feed_server: FeedServer, mastodon: FakeMastodon, run_bot: Callable[..., Run],
) -> None:
    path = config(tmp_path, feed_server, mastodon, visibility="unlisted")
    run_bot("poll", "--config", str(path))
    publish(feed_server)
    assert run_bot("poll", "--config", str(path)).code == 0
    long_status, photo_status = mastodon.statuses
    text = long_status["text"]
    assert mastodon_length(text) <= 500 and text.endswith("https://news.example/?p=160")
    assert text.startswith(LONG_TITLE)  # the whole headline: the hashtags went first, then the excerpt was cut
    assert "#" not in text and text.split("\n\n")[1].endswith("…")
    assert long_status["language"] == "ar" and long_status["visibility"] == "unlisted"
    [attachment] = photo_status["media_attachments"]
    assert attachment["description"] == "صور: مهرجان الربيع في الموصل"  # the headline describes the image
    assert mastodon.media[attachment["id"]]["data"] == JPEG
    bot = Bot.open(load_config(path))
    assert {r.remote_url for r in bot.store.deliveries()} == {s["url"] for s in mastodon.statuses}
    bot.close()


def test_rate_limit_reset_is_honoured(
    tmp_path: Path, feed_server: FeedServer, mastodon: FakeMastodon, clock: ManualClock,
) -> None:
    bot = queued(config(tmp_path, feed_server, mastodon, image=False), clock, feed_server)
    mastodon.rate_limit_next(600)
    [o] = bot.dispatch()
    assert o.status == "rate_limited"
    wait = bot.store.account_state("masto").not_before - clock.now()  # type: ignore[operator]
    assert timedelta(minutes=9) < wait <= timedelta(minutes=10)
    assert bot.dispatch() == []
    clock.advance(wait)
    assert [o.status for o in bot.dispatch()] == ["sent", "sent"]
    bot.close()


@pytest.mark.parametrize(("answer", "status"), [
    (error(401, "The access token was revoked"), "held"),
    (error(403, "Your login is currently disabled"), "held"),
    (error(422, "Validation failed: Text character limit of 500 exceeded"), "failed"),
    (error(503, "Service Unavailable"), "retry"),
])
def test_errors_map_to_outcomes(
    tmp_path: Path, feed_server: FeedServer, mastodon: FakeMastodon, clock: ManualClock, answer: Answer,
    status: str,
) -> None:
    bot = queued(config(tmp_path, feed_server, mastodon, image=False), clock, feed_server, 1)
    mastodon.fail_next("/api/v1/statuses", answer)
    [o] = bot.dispatch()
    assert o.status == status
    if status == "failed":
        [row] = bot.store.deliveries(state="failed")
        assert "Text character limit of 500 exceeded" in (row.last_error or "")
    bot.close()


def test_check(tmp_path: Path, feed_server: FeedServer, mastodon: FakeMastodon, run_bot: Callable[..., Run]) -> None:
    path = config(tmp_path, feed_server, mastodon)
    result = run_bot("check", "--config", str(path))
    assert result.code == 0 and result.out.strip() == f"masto (mastodon): ok, @qurays on {mastodon.base}"
    bad = config(tmp_path, feed_server, mastodon, access_token="wrong")
    result = run_bot("check", "--config", str(bad))
    assert result.code == 1 and "refused the access token" in result.out


def test_a_resend_after_a_crash_returns_the_first_status(
    tmp_path: Path, feed_server: FeedServer, mastodon: FakeMastodon, clock: ManualClock,
) -> None:
    """The instance posts and is slow to answer; the process dies. The resend carries the same
    Idempotency-Key, so the instance returns the first status: one post."""
    path = config(tmp_path, feed_server, mastodon, image=False)
    queued(path, clock, feed_server, 1).close()
    crash_after_answering(path, mastodon, lambda request: request.path == "/api/v1/statuses",
                          lambda: mastodon.statuses)  # a crash mid-send
    clock.set(datetime.now(UTC) + timedelta(minutes=3))
    bot = Bot.open(load_config(path), clock=clock)
    expire_claims(bot.store)
    [o] = bot.dispatch()
    assert o.status == "sent" and len(mastodon.statuses) == 1
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.SENT and row.remote_id == mastodon.statuses[0]["id"]
    bot.close()


def test_the_fake_acts_on_no_half_sent_request_as_mastodon_does(mastodon: FakeMastodon) -> None:
    """A bot killed after sending a request's head but not its body (requests sends a form's body apart from
    the head) made the fake post an empty status once; a real server never acts on half a body, and Mastodon
    refuses a blank one."""
    import socket
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit

    host = urlsplit(mastodon.base)
    body = b"status=%D8%AE%D8%A8%D8%B1"
    with socket.create_connection((host.hostname, host.port), timeout=5) as s:
        s.sendall(f"POST /api/v1/statuses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {mastodon.token}\r\n"
                  f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body) + 40}\r\n\r\n"
                  .encode() + body)
    blank = urllib.request.Request(mastodon.base + "/api/v1/statuses", data=b"status=+", method="POST",
                                   headers={"Authorization": f"Bearer {mastodon.token}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(blank, timeout=5)
    assert refused.value.code == 422
    refused.value.close()
    assert mastodon.statuses == []
