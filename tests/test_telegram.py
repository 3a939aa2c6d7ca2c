"""Telegram channels end to end against the fake Bot API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import load_config
from bot.core import Bot
from bot.models import DeliveryState

from .kit.databases import expire_claims
from .kit.e2e import JPEG, EndToEnd
from .kit.fake_telegram import FakeTelegram
from .kit.runs import Run, free_port, kill_poll_when
from .kit.servers import Answer, FeedServer
from .kit.wordpress import Item


def items(base: str) -> list[Item]:
    return [
        Item(140, "عاجل | الحكومة تعلن عطلة رسمية & تعويضات للموظفين <محدث>", ["عاجل"], site=base),
        Item(141, "صور: افتتاح جسر الجادرية الجديد", ["صور"], site=base, image=f"{base}/up/bridge.jpg"),
    ]


TELEGRAM = EndToEnd("tg", items, {"chat_id": "@qurays_news", "image": True, "timeout": "2s"},
                    image_path="/up/bridge.jpg")
config, publish, queued = TELEGRAM.config, TELEGRAM.publish, TELEGRAM.queued


def test_posts_go_to_the_channel_as_messages_and_photos(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, run_bot: Callable[..., Run],
) -> None:
    path = config(tmp_path, feed_server, telegram)
    run_bot("poll", "--config", str(path))
    new = items(feed_server.base)
    publish(feed_server, new)
    assert run_bot("poll", "--config", str(path)).code == 0
    text_post, photo_post = telegram.messages
    assert text_post["text"] == f"{new[0].title}\n\nhttps://news.example/?p=140"
    assert text_post["link_preview_options"] == {"url": new[0].link, "prefer_large_media": True}
    assert photo_post["caption"] == f"{new[1].title}\n\nhttps://news.example/?p=141"
    assert telegram.photos[photo_post["photo"]] == JPEG
    bot = Bot.open(load_config(path))
    urls = {r.remote_url for r in bot.store.deliveries()}
    assert urls == {f"https://t.me/qurays_news/{m['message_id']}" for m in telegram.messages}
    bot.close()


def test_html_mode_escapes_the_headline(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, run_bot: Callable[..., Run],
) -> None:
    path = config(tmp_path, feed_server, telegram, parse_mode="HTML", image=False)
    run_bot("poll", "--config", str(path))
    publish(feed_server, items(feed_server.base)[:1])
    run_bot("poll", "--config", str(path))
    [message] = telegram.messages
    assert message["parse_mode"] == "HTML"
    assert "&amp; تعويضات للموظفين &lt;محدث&gt;" in message["text"]


def test_a_long_post_with_an_image_goes_as_a_message(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, run_bot: Callable[..., Run],
) -> None:
    path = config(tmp_path, feed_server, telegram, template="{title}\n\n{excerpt}\n\n{short_link}")
    run_bot("poll", "--config", str(path))
    long_item = Item(142, "تقرير مطول عن الموازنة", ["اقتصاد"], site=feed_server.base,
                     image=f"{feed_server.base}/up/bridge.jpg", body="كلمة " * 400)
    publish(feed_server, [long_item])
    run_bot("poll", "--config", str(path))
    [message] = telegram.messages
    assert "text" in message and len(message["text"]) > 1024 and telegram.photos == []


def test_retry_after_is_honoured(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    bot = queued(config(tmp_path, feed_server, telegram, image=False), clock, feed_server, 2)
    telegram.rate_limit_next(37)
    [o] = bot.dispatch()
    assert o.status == "rate_limited"
    assert bot.store.account_state("tg").not_before == clock.now() + timedelta(seconds=37)
    calls = len(telegram.calls)
    clock.advance(36)
    assert bot.dispatch() == [] and len(telegram.calls) == calls
    clock.advance(1)
    assert [o.status for o in bot.dispatch()] == ["sent", "sent"]
    bot.close()


@pytest.mark.parametrize(("trouble", "said"), [
    ("not-a-member", "make it an administrator of the channel"), ("bad-token", "refused the bot token"),
    ("no-such-chat", "check chat_id")])
def test_account_problems_hold_the_account(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock, trouble: str, said: str,
) -> None:
    """And the account's reason says which of bot and chat is wrong, never with the token."""
    extra: dict[str, Any] = {"image": False}
    if trouble == "bad-token":
        extra["bot_token"] = "123456:revoked"
    if trouble == "no-such-chat":
        extra["chat_id"] = "@no_such_channel"
    telegram.member = trouble != "not-a-member"
    bot = queued(config(tmp_path, feed_server, telegram, **extra), clock, feed_server, 2)
    [o] = bot.dispatch()
    assert o.status == "held" and bot.store.account_state("tg").held
    assert said in (o.detail or "") and "123456:revoked" not in (o.detail or "")
    assert [r.state for r in bot.store.deliveries()] == [DeliveryState.QUEUED] * 2
    bot.close()


def test_a_5xx_is_in_doubt_and_a_refusal_fails(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    """A gateway's 5xx may come after Telegram posted: the delivery is in doubt, never resent blindly."""
    bot = queued(config(tmp_path, feed_server, telegram, image=False), clock, feed_server, 2)
    telegram.fail_next("/bot", Answer(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}))
    telegram.fail_next("/bot", Answer(400, {"ok": False, "error_code": 400,
                                            "description": "Bad Request: can't parse entities"}))
    statuses = sorted(o.status for o in bot.dispatch())
    assert statuses == ["failed", "in_doubt"]
    [failed] = bot.store.deliveries(state="failed")
    assert "can't parse entities" in (failed.last_error or "")
    [doubt] = bot.store.deliveries(state="in_doubt")
    assert "502" in (doubt.last_error or "") and "https://t.me/qurays_news" in (doubt.last_error or "")
    clock.advance(timedelta(hours=2))
    assert bot.dispatch() == []  # nothing is resent by itself
    bot.close()


def test_an_answer_later_than_the_timeout_is_in_doubt_and_posted_once(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    bot = queued(config(tmp_path, feed_server, telegram, image=False, timeout="1s"), clock, feed_server, 1)
    telegram.answer_late("/bot", 2.0)  # Telegram posts, but its answer comes after the bot's timeout
    [o] = bot.dispatch()
    assert o.status == "in_doubt" and "did not answer in time (read timeout)" in (o.detail or "")
    assert "check https://t.me/qurays_news" in (o.detail or "")
    clock.advance(timedelta(hours=2))
    assert bot.dispatch() == []
    assert len(telegram.messages) == 1  # one message in the channel, not two
    bot.close()


def test_a_request_that_never_left_is_retried(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    """Nothing listens (connection refused): the request surely never reached Telegram, so it is retried."""
    path = config(tmp_path, feed_server, telegram, image=False, base_url=f"http://127.0.0.1:{free_port()}")
    bot = queued(path, clock, feed_server, 1)
    [o] = bot.dispatch()
    detail = o.detail or ""
    assert o.status == "retry" and "refused the connection" in detail and telegram.token not in detail
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.QUEUED and row.not_before is not None
    bot.close()
    bot = Bot.open(load_config(config(tmp_path, feed_server, telegram, image=False)), clock=clock)
    clock.advance(timedelta(hours=1))
    assert [o.status for o in bot.dispatch()] == ["sent"] and len(telegram.messages) == 1
    bot.close()


def test_a_numeric_chat_id_links_to_the_private_channel(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    telegram.channel = ""  # a private channel has no username
    bot = queued(config(tmp_path, feed_server, telegram, image=False, chat_id=-1001234567890), clock,
                 feed_server, 1)
    [o] = bot.dispatch()
    assert o.url == f"https://t.me/c/1234567890/{telegram.messages[0]['message_id']}"
    bot.close()


def test_check(tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, run_bot: Callable[..., Run]) -> None:
    path = config(tmp_path, feed_server, telegram)
    result = run_bot("check", "--config", str(path))
    assert result.code == 0 and result.out.strip() == "tg (telegram): ok, @qurays_bot in «قريش»"
    telegram.member = False
    result = run_bot("check", "--config", str(path))
    assert result.code == 1 and "bot is not a member" in result.out and telegram.token not in result.out


def test_a_send_interrupted_by_a_crash_is_in_doubt_and_not_resent(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
    run_bot: Callable[..., Run],
) -> None:
    path = config(tmp_path, feed_server, telegram, image=False)
    bot = queued(path, clock, feed_server, 1)
    bot.close()
    telegram.fail_next("/bot", Answer(200, {"ok": True, "result": {"message_id": 9}}), hang=60)
    kill_poll_when(path, lambda: telegram.arrived)  # a crash mid-send
    clock.set(datetime.now(UTC) + timedelta(minutes=3))
    bot = Bot.open(load_config(path), clock=clock)
    expire_claims(bot.store)
    assert bot.dispatch() == []  # not resent: Telegram may or may not have posted it
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.IN_DOUBT and "retry or skip" in (row.note or "")
    assert telegram.messages == []
    bot.close()


def test_why_a_platform_cannot_be_reached_names_the_host_and_the_cause_never_the_token() -> None:
    import requests
    import urllib3

    from bot.platforms.http import unreachable

    url = "https://api.telegram.org/bot123456:SECRET/sendMessage"
    dns = urllib3.exceptions.NameResolutionError("api.telegram.org", None, OSError("Name or service not known"))  # type: ignore[arg-type]
    wrapped = requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, url, reason=dns))  # type: ignore[arg-type]
    said = unreachable(wrapped, url)
    assert said == "the name api.telegram.org does not resolve (DNS)" and "SECRET" not in said
    assert unreachable(requests.ReadTimeout(), url) == "api.telegram.org did not answer in time (read timeout)"
    assert unreachable(requests.ConnectTimeout(), url) == "timed out connecting to api.telegram.org"
