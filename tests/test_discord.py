"""Discord channels end to end against the fake webhook API."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.compose.fit import ELLIPSIS
from bot.config import load_config
from bot.core import Bot
from bot.dispatch import MIN_WAIT
from bot.errors import Gone
from bot.models import DeliveryState
from bot.platforms.discord import cut

from .kit.captured import CAPTURED
from .kit.configs import account, write_config
from .kit.e2e import EndToEnd
from .kit.fake_discord import FakeDiscord
from .kit.runs import Run, free_port
from .kit.servers import Answer, FeedServer
from .kit.wordpress import Item

HEADLINE = CAPTURED[0][1]  # an Arabic headline as WordPress gave it


def items(base: str) -> list[Item]:
    return [
        Item(140, HEADLINE, ["سياسة"], site=base, image=f"{base}/up/pentagon.jpg",
             body="نشرت وسائل إعلام محضر المباحثات العراقية الأمريكية في البنتاغون."),
        Item(141, "@everyone عاجل | انقطاع التيار الكهربائي عن أحياء واسعة من العاصمة", ["عاجل"], site=base),
    ]


DISCORD = EndToEnd("dc", items, {"timeout": "2s"})
config, publish, queued = DISCORD.config, DISCORD.publish, DISCORD.queued


def test_a_headline_goes_to_the_channel_with_its_embed(
    tmp_path: Path, feed_server: FeedServer, discord: FakeDiscord, run_bot: Callable[..., Run],
) -> None:
    path = config(tmp_path, feed_server, discord, guild_id=discord.guild_id, username="قريش")
    run_bot("poll", "--config", str(path))
    new = items(feed_server.base)
    publish(feed_server, new[:1])
    assert run_bot("poll", "--config", str(path)).code == 0
    [message] = discord.messages
    assert message["content"] == f"{HEADLINE}\n\nhttps://news.example/?p=140"
    [embed] = message["embeds"]
    assert embed["title"] == HEADLINE and embed["url"] == new[0].link
    assert embed["image"] == {"url": f"{feed_server.base}/up/pentagon.jpg"}
    assert "محضر المباحثات العراقية" in embed["description"]
    assert message["allowed_mentions"] == {"parse": []} and message["author"]["username"] == "قريش"
    bot = Bot.open(load_config(path))
    [row] = bot.store.deliveries()
    assert row.remote_id == message["id"]
    assert row.remote_url == f"https://discord.com/channels/{discord.guild_id}/{discord.channel_id}/{message['id']}"
    bot.close()


def test_everyone_in_a_headline_pings_no_one_and_no_embed_when_off(
    tmp_path: Path, feed_server: FeedServer, discord: FakeDiscord, clock: ManualClock,
) -> None:
    bot = queued(config(tmp_path, feed_server, discord, embed=False), clock, feed_server, 2)
    assert [o.status for o in bot.dispatch()] == ["sent", "sent"]
    ping = next(m for m in discord.messages if "@everyone" in m["content"])
    assert ping["mention_everyone"] is False and ping["allowed_mentions"] == {"parse": []}
    assert all(m["embeds"] == [] for m in discord.messages)
    assert all(r.remote_url is None for r in bot.store.deliveries())  # no guild_id: no link to the message
    bot.close()


def test_a_long_post_is_fitted_at_a_word_with_its_link(
    tmp_path: Path, feed_server: FeedServer, discord: FakeDiscord, clock: ManualClock,
) -> None:
    words = [f"كلمة{i}" for i in range(700)]
    path = config(tmp_path, feed_server, discord, template="{title}\n\n{excerpt}\n\n{short_link}")
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    publish(feed_server, [Item(142, "تقرير مطول عن الموازنة", ["اقتصاد"], site=feed_server.base, body=" ".join(words))])
    bot.poll("main")
    assert [o.status for o in bot.dispatch()] == ["sent"]
    [message] = discord.messages
    content = message["content"]
    assert len(content) <= 2000 and content.endswith("\n\nhttps://news.example/?p=142")
    excerpt = content.split("\n\n")[1]
    assert excerpt.endswith(ELLIPSIS) and len(content) > 1900
    assert set(excerpt.removesuffix(ELLIPSIS).split()) <= set(words)  # whole words only
    assert len(message["embeds"][0]["description"]) <= 4096
    bot.close()


def test_embed_fields_are_cut_at_a_word() -> None:
    title = " ".join(["البنتاغون"] * 40)  # 399 code points
    short = cut(title, 256)
    assert len(short) <= 256 and short.endswith(ELLIPSIS) and set(short[:-1].split()) == {"البنتاغون"}
    assert cut("قصير", 256) == "قصير" and cut("ب" * 300, 256) == "ب" * 255 + ELLIPSIS


def test_retry_after_is_waited_exactly(
    tmp_path: Path, feed_server: FeedServer, discord: FakeDiscord, clock: ManualClock,
) -> None:
    bot = queued(config(tmp_path, feed_server, discord), clock, feed_server, 2)
    discord.rate_limit_next(37.5)
    [o] = bot.dispatch()
    assert o.status == "rate_limited"
    assert bot.store.account_state("dc").not_before == clock.now() + timedelta(seconds=37.5)
    calls = len(discord.calls)
    clock.advance(37)
    assert bot.dispatch() == [] and len(discord.calls) == calls
    clock.advance(0.5)
    assert [o.status for o in bot.dispatch()] == ["sent", "sent"] and len(discord.messages) == 2
    bot.close()


def test_an_empty_bucket_pauses_the_next_post_before_it_is_sent(
    tmp_path: Path, feed_server: FeedServer, discord: FakeDiscord, clock: ManualClock,
) -> None:
    """Discord's headers say the last post emptied the bucket: the next waits for the reset, no 429 needed."""
    bot = queued(config(tmp_path, feed_server, discord), clock, feed_server, 2)
    discord.remaining = 1
    assert sorted(o.status for o in bot.dispatch()) == ["rate_limited", "sent"]
    assert [c[2] for c in discord.calls] == [200]  # the second post never went: no 429
    wait = max(timedelta(seconds=discord.reset_after), MIN_WAIT)  # the bot's shortest pause is MIN_WAIT
    assert bot.store.account_state("dc").not_before == clock.now() + wait
    clock.advance(wait)
    assert [o.status for o in bot.dispatch()] == ["sent"] and len(discord.messages) == 2
    bot.close()


def test_an_answer_that_never_came_is_in_doubt_and_posted_once(
    tmp_path: Path, feed_server: FeedServer, discord: FakeDiscord, clock: ManualClock,
) -> None:
    bot = queued(config(tmp_path, feed_server, discord, timeout="1s"), clock, feed_server, 1)
    discord.answer_late("/api/webhooks", 2.0)  # Discord posts, but its answer comes after the bot's timeout
    [o] = bot.dispatch()
    assert o.status == "in_doubt" and "did not answer in time (read timeout)" in (o.detail or "")
    assert f"the Discord channel of webhook {discord.webhook_id}" in (o.detail or "")
    assert discord.token not in (o.detail or "")
    clock.advance(timedelta(hours=2))
    assert bot.dispatch() == []
    assert len(discord.messages) == 1  # one message in the channel, not two
    bot.close()


def test_a_5xx_is_in_doubt_and_a_refusal_fails_with_discords_words(
    tmp_path: Path, feed_server: FeedServer, discord: FakeDiscord, clock: ManualClock,
) -> None:
    bot = queued(config(tmp_path, feed_server, discord), clock, feed_server, 2)
    discord.fail_next("/api/webhooks", Answer(502, {"message": "502 Bad Gateway", "code": 0}))
    discord.fail_next("/api/webhooks", Answer(400, {"code": 50035, "message": "Invalid Form Body", "errors": {
        "embeds": {"0": {"image": {"url": {"_errors": [{"code": "URL_TYPE_INVALID_URL",
                                                         "message": "Not a well formed URL."}]}}}}}}))
    assert sorted(o.status for o in bot.dispatch()) == ["failed", "in_doubt"]
    [failed] = bot.store.deliveries(state="failed")
    assert "Invalid Form Body" in (failed.last_error or "")
    assert "embeds.0.image.url: Not a well formed URL." in (failed.last_error or "")
    [doubt] = bot.store.deliveries(state="in_doubt")
    assert "502" in (doubt.last_error or "")
    clock.advance(timedelta(hours=2))
    assert bot.dispatch() == [] and discord.messages == []
    bot.close()


@pytest.mark.parametrize(("trouble", "said"), [("bad-token", "401 50027: Invalid Webhook Token"),
                                               ("deleted", "404 10015: Unknown Webhook")])
def test_a_bad_or_deleted_webhook_holds_the_account_and_never_shows_the_token(
    tmp_path: Path, feed_server: FeedServer, discord: FakeDiscord, clock: ManualClock, caplog: pytest.LogCaptureFixture,
    trouble: str, said: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    token = discord.token
    bot = queued(config(tmp_path, feed_server, discord), clock, feed_server, 2)
    if trouble == "bad-token":
        discord.token = "revoked-token-0123456789abcdefghijklmnopqrstuvwxyz"  # the webhook's token was reset
    discord.deleted = trouble == "deleted"
    [o] = bot.dispatch()
    state = bot.store.account_state("dc")
    assert o.status == "held" and state.held
    assert said in (o.detail or "") and f"webhook {discord.webhook_id}" in (o.detail or "")
    assert [r.state for r in bot.store.deliveries()] == [DeliveryState.QUEUED] * 2
    stored = [state.held_reason or "", o.detail or "", *(r.last_error or "" for r in bot.store.deliveries())]
    for text in [*stored, caplog.text]:
        assert token not in text
    bot.close()


def test_a_request_that_never_left_is_retried(
    tmp_path: Path, feed_server: FeedServer, discord: FakeDiscord, clock: ManualClock,
) -> None:
    path = config(tmp_path, feed_server, discord, base_url=f"http://127.0.0.1:{free_port()}")
    bot = queued(path, clock, feed_server, 1)
    [o] = bot.dispatch()
    assert o.status == "retry" and "refused the connection" in (o.detail or "")
    assert discord.token not in (o.detail or "")
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.QUEUED and row.not_before is not None
    bot.close()


def test_check_and_delete(
    tmp_path: Path, feed_server: FeedServer, discord: FakeDiscord, clock: ManualClock, run_bot: Callable[..., Run],
) -> None:
    path = config(tmp_path, feed_server, discord)
    result = run_bot("check", "--config", str(path))
    assert result.code == 0
    assert result.out.strip() == f"dc (discord): ok, webhook «أخبار قريش» in channel {discord.channel_id}"
    bot = queued(path, clock, feed_server, 1)
    [o] = bot.dispatch()
    [row] = bot.store.deliveries()
    assert o.status == "sent" and row.remote_id == discord.messages[0]["id"]
    publisher = bot.publishers["dc"]
    publisher.delete(row.remote_id)
    assert discord.messages == []
    with pytest.raises(Gone, match="Unknown Message"):  # deleted already: nothing left to do
        publisher.delete(row.remote_id)
    bot.close()
    discord.deleted = True
    result = run_bot("check", "--config", str(path))
    assert result.code == 1 and "Unknown Webhook" in result.out and discord.token not in result.out


def test_preview_and_a_dry_run_show_the_text_and_its_length(
    tmp_path: Path, feed_server: FeedServer, discord: FakeDiscord, run_bot: Callable[..., Run],
) -> None:
    path = config(tmp_path, feed_server, discord)
    preview = run_bot("preview", "--config", str(path), "--account", "dc", "--limit", "1")
    assert preview.code == 0 and "── main → dc (discord) · " in preview.out and "/2000" in preview.out
    text = "تنويه: تأجيل مؤتمر الاستثمار إلى الأسبوع المقبل"
    dry = run_bot("post", text, "--link", "https://news.example/?p=77", "--account", "dc", "--dry-run",
                  "--config", str(path))
    composed = f"{text}\n\nhttps://news.example/?p=77"
    assert dry.code == 0 and f"── dc · {len(composed)}/2000\n{composed}" in dry.out
    assert discord.messages == []


def test_the_webhook_url_must_be_discords_and_its_error_hides_it(
    tmp_path: Path, discord: FakeDiscord, run_bot: Callable[..., Run], capsys: pytest.CaptureFixture[str],
) -> None:
    secret = "https://evil.example/api/webhooks/1/SECRETTOKEN123"
    bad = {"id": "dc", "platform": "discord", "webhook_url": secret}
    path = write_config(tmp_path, feeds=[{"id": "main", "url": "https://news.example/feed"}], accounts=[bad])
    result = run_bot("config", "check", "--config", str(path))
    said = result.out + "".join(capsys.readouterr())
    assert result.code != 0 and "webhook_url" in said and "discord.com/api/webhooks/<id>/<token>" in said
    assert "SECRETTOKEN123" not in said
    good = account(discord, "dc")
    good.pop("base_url")
    path = write_config(tmp_path, feeds=[{"id": "main", "url": "https://news.example/feed"}], accounts=[good])
    assert run_bot("config", "check", "--config", str(path)).code == 0


def test_a_text_by_hand_without_a_link_goes_without_an_embed(discord: FakeDiscord, clock: ManualClock) -> None:
    from bot.config import DiscordAccount
    from bot.platforms import Post, make_publisher

    publisher = make_publisher(DiscordAccount.model_validate(account(discord, "dc")), clock=clock)
    published = publisher.publish(Post(1, "تنويه: تأجيل المؤتمر", link="", title="تنويه: تأجيل المؤتمر"))
    [message] = discord.messages
    assert published.remote_id == message["id"] and message["embeds"] == [] and published.url is None
    publisher.close()


def test_the_webhooks_token_alone_is_a_secret_of_the_config(tmp_path: Path, feed_server: FeedServer,
                                                           discord: FakeDiscord) -> None:
    """A log line that quotes the token without the rest of the URL is masked too."""
    from bot.config import load_config

    secrets = load_config(config(tmp_path, feed_server, discord)).secrets()
    assert discord.token in secrets
