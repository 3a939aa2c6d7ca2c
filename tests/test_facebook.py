"""Facebook Pages end to end against the fake Graph API."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import load_config
from bot.core import Bot
from bot.models import DeliveryState

from .kit.e2e import JPEG, EndToEnd
from .kit.fake_facebook import FakeFacebook, graph_error
from .kit.runs import Run, free_port
from .kit.servers import FeedServer
from .kit.wordpress import Item


def new_items(base: str) -> list[Item]:
    return [Item(150, "الحكومة تقر الموازنة بعد جلسة مطولة", ["سياسة"], site=base),
            Item(151, "صور: مهرجان الربيع في الموصل", ["صور"], site=base, image=f"{base}/up/photo.jpg")]


FACEBOOK = EndToEnd("fb", new_items, {"timeout": "2s"}, image_path="/up/photo.jpg")
config, publish, queued = FACEBOOK.config, FACEBOOK.publish, FACEBOOK.queued


def test_link_posts_and_photo_posts(
    tmp_path: Path, feed_server: FeedServer, facebook: FakeFacebook, run_bot: Callable[..., Run],
) -> None:
    path = config(tmp_path, feed_server, facebook, photo=True)
    run_bot("poll", "--config", str(path))
    publish(feed_server)
    assert run_bot("poll", "--config", str(path)).code == 0
    link_post, photo_post = facebook.posts
    items = new_items(feed_server.base)
    assert link_post["message"] == f"{items[0].title}\n\nhttps://news.example/?p=150"
    assert link_post["link"] == items[0].link  # the preview card comes from the article page
    assert photo_post["photo"] == JPEG and photo_post["message"].startswith(items[1].title)
    bot = Bot.open(load_config(path))
    page, story = link_post["id"].split("_")
    assert f"https://www.facebook.com/{page}/posts/{story}" in {r.remote_url for r in bot.store.deliveries()}
    bot.close()


def test_rate_limits_wait_for_the_time_facebook_gives(
    tmp_path: Path, feed_server: FeedServer, facebook: FakeFacebook, clock: ManualClock,
) -> None:
    bot = queued(config(tmp_path, feed_server, facebook), clock, feed_server)
    usage = {facebook.page_id: [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 7}]}
    answer = graph_error(400, 32, "Page request limit reached")
    answer.headers["X-Business-Use-Case-Usage"] = json.dumps(usage)
    facebook.fail_next("/v26.0", answer)
    [o] = bot.dispatch()
    assert o.status == "rate_limited"
    assert bot.store.account_state("fb").not_before == clock.now() + timedelta(minutes=7)
    clock.advance(timedelta(minutes=7))
    assert [o.status for o in bot.dispatch()] == ["sent", "sent"]
    bot.close()


@pytest.mark.parametrize(("code", "status"), [(190, "held"), (200, "held"), (10, "held"), (368, "held"),
                                              (506, "duplicate"), (100, "failed"), (1, "in_doubt"), (2, "in_doubt")])
def test_graph_error_codes(
    tmp_path: Path, feed_server: FeedServer, facebook: FakeFacebook, clock: ManualClock, code: int, status: str,
) -> None:
    bot = queued(config(tmp_path, feed_server, facebook), clock, feed_server, 1)
    facebook.fail_next("/v26.0", graph_error(500 if code in (1, 2) else 400, code, f"error {code}"))
    [o] = bot.dispatch()
    assert o.status == status
    [row] = bot.store.deliveries()
    expected = {"held": DeliveryState.QUEUED, "duplicate": DeliveryState.SENT, "failed": DeliveryState.FAILED,
                "in_doubt": DeliveryState.IN_DOUBT}[status]
    assert row.state == expected
    bot.close()


def test_an_answer_that_never_came_is_in_doubt_and_posted_once(
    tmp_path: Path, feed_server: FeedServer, facebook: FakeFacebook, clock: ManualClock,
) -> None:
    """Codes 1 and 2 and a 5xx may come after the post was made, and so may a read timeout: in doubt, with
    the page to check; only a request that surely never left is retried."""
    bot = queued(config(tmp_path, feed_server, facebook, timeout="1s"), clock, feed_server, 1)
    facebook.answer_late("/v26.0", 2.0)
    [o] = bot.dispatch()
    assert o.status == "in_doubt" and f"check https://www.facebook.com/{facebook.page_id}" in (o.detail or "")
    clock.advance(timedelta(hours=2))
    assert bot.dispatch() == [] and len(facebook.posts) == 1
    bot.close()
    refused = config(tmp_path, feed_server, facebook, base_url=f"http://127.0.0.1:{free_port()}")
    bot = Bot.open(load_config(refused), clock=clock)
    bot.store.retry(bot.store.deliveries()[0].id, clock.now(), "test")  # the operator checked: not posted
    [o] = bot.dispatch()
    assert o.status == "retry" and bot.store.deliveries()[0].state == DeliveryState.QUEUED
    bot.close()


def test_an_expired_token_holds_the_page_and_check_says_so(
    tmp_path: Path, feed_server: FeedServer, facebook: FakeFacebook, clock: ManualClock, run_bot: Callable[..., Run],
) -> None:
    path = config(tmp_path, feed_server, facebook, page_token="EAAGexpired")
    bot = queued(path, clock, feed_server)
    [o] = bot.dispatch()
    assert o.status == "held" and "190" in (o.detail or "")
    bot.close()
    result = run_bot("check", "--config", str(path))
    assert result.code == 1 and "Session has expired" in result.out and "EAAG" not in result.out
    good = config(tmp_path, feed_server, facebook)
    assert run_bot("check", "--config", str(good)).out.strip() == f"fb (facebook): ok, page «قريش» ({facebook.page_id})"
