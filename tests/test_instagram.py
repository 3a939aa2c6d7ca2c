"""Instagram end to end against the fake Graph API, which fetches each picture from the bot's own HTTP side as
Meta's crawler does: a running bot posts an Arabic headline as a card, as the article's image (made a JPEG), and
as a card where the article has none; the picture's address is gone once posted; a post without a picture
fails with the reason; captions fit 2,200 characters and the hashtag limit; a used-up publishing limit waits
until the window has room; errors are mapped; an answer lost at media_publish is in doubt unless the container
says it was published; and the config refuses an account without a public address or a picture."""

from __future__ import annotations

import io
import signal
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from bot.clock import ManualClock
from bot.compose.hashtags import count_hashtags
from bot.compose.length import count_utf16
from bot.config import load_config
from bot.config.database import database_url
from bot.core import Bot
from bot.errors import ConfigError, Gone, Rejected
from bot.models import DeliveryState
from bot.platforms import TokenExpiry

from .kit.configs import account, write_config
from .kit.databases import expire_claims
from .kit.e2e import publish
from .kit.fake_alerts import FakeWebhook
from .kit.fake_instagram import FakeInstagram, MediaSide, graph_error
from .kit.runs import Run, bot_process, kill_poll_when, wait_for
from .kit.servers import Answer, FeedServer, closed_clean
from .kit.wordpress import SAMPLE_ITEMS, Item, rss2

LINE = "🔗 الرابط في الملف الشخصي"


def png(width: int = 1200, height: int = 800) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 90, 160)).save(out, "PNG")
    return out.getvalue()


PHOTO = png()


def jpeg_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG"
        return img.size


def new_items(base: str) -> list[Item]:
    return [Item(160, "البرلمان يصوت على قانون الموازنة العامة بعد جلسة مطولة", ["سياسة", "العراق"], site=base,
                 image=f"{base}/up/budget.png"),
            Item(161, "الأرصاد: أمطار غزيرة وسيول محتملة في نينوى وأربيل خلال اليومين المقبلين", ["طقس"], site=base)]


def config(tmp_path: Path, feed_server: FeedServer, media: MediaSide, accounts: list[dict[str, Any]],
           **top: Any) -> Path:
    feed_server.set("/up/budget.png", PHOTO, content_type="image/png", conditional=False)
    feed_server.set("/feed", rss2(SAMPLE_ITEMS))
    server = {"host": "127.0.0.1", "port": media.port, "public_url": media.public_url, **top.pop("server", {})}
    return write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed"), "interval": "10s"}],
                        server=server, accounts=accounts, **top)


def ig(fake: FakeInstagram, **settings: Any) -> list[dict[str, Any]]:
    return [account(fake, "ig", **{"timeout": "2s", **settings})]


def queued(path: Path, clock: ManualClock, feed_server: FeedServer, media: MediaSide, n: int = 1,
           now: Callable[[], datetime] | None = None) -> Bot:
    """A bot on ``path`` (its pictures served by ``media``, by ``now``: the test's clock unless told) with the
    first ``n`` new items queued."""
    bot = Bot.open(load_config(path), clock=clock)
    media.start(database_url(bot.config.database, bot.config.data_dir), now or clock.now)
    bot.poll("main")
    publish(feed_server, new_items(feed_server.base)[:n])
    assert bot.poll("main").queued == n
    return bot


# --- a running bot --------------------------------------------------------------------------------------------

@pytest.fixture
def three() -> Iterator[dict[str, FakeInstagram]]:
    fakes = {name: FakeInstagram(user_id=f"1784140000000000{i}") for i, name in enumerate(("card", "article",
                                                                                            "either"))}
    yield fakes
    for fake in fakes.values():
        closed_clean(fake)


@pytest.mark.slow
def test_a_running_bot_posts_cards_and_article_images_fetched_from_its_own_address(
    tmp_path: Path, feed_server: FeedServer, three: dict[str, FakeInstagram],
) -> None:
    side = MediaSide()  # not started: the running bot serves its own pictures at side's address
    accounts = [account(fake, f"ig-{name}", image="article_or_card" if name == "either" else name)
                for name, fake in three.items()]
    path = config(tmp_path, feed_server, side, accounts, dispatch_interval="1s",
                  server={"ping_token": "ping-ig-7f3a"})
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        proc = bot_process("run", "--config", str(path), stderr=out, PYTHONUNBUFFERED="1")
        try:
            wait_for(lambda: "first_start=yes" in log.read_text(), what="the first poll")
            publish(feed_server, new_items(feed_server.base))
            assert requests.post(f"{side.public_url}/ping/ping-ig-7f3a", timeout=10).status_code == 202
            wait_for(lambda: [len(f.posts) for f in three.values()] == [2, 1, 2]
                     and "Instagram posts need a picture" in log.read_text(), what="the posts")
            for fake in three.values():  # each picture was at the bot's address, and is gone now it is posted
                assert fake.fetched and all(url.startswith(f"{side.public_url}/media/") and url.endswith(".jpg")
                                            and status == 200 and kind == "image/jpeg"
                                            for url, status, kind in fake.fetched)
                assert {side.get(url) for url, _, _ in fake.fetched} == {404}
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    budget, rain = new_items(feed_server.base)
    card, article, either = three["card"].posts, three["article"].posts, three["either"].posts
    assert [jpeg_size(p["image"]) for p in card] == [(1080, 1350)] * 2  # headline cards, portrait
    assert [jpeg_size(p["image"]) for p in article] == [(1200, 800)]  # the article's PNG, as a JPEG
    assert [jpeg_size(p["image"]) for p in either] == [(1200, 800), (1080, 1350)]  # no image: a card
    assert card[0]["caption"].startswith(budget.title) and LINE in card[0]["caption"]
    assert "http" not in card[0]["caption"] and "#العراق" in card[0]["caption"]
    assert card[0]["alt_text"] == budget.title and card[1]["alt_text"] == rain.title
    bot = Bot.open(load_config(path))
    rows = {(r.account_id, r.article_id): r for r in bot.store.deliveries()}
    failed = [r for r in rows.values() if r.state == DeliveryState.FAILED]
    assert [r.account_id for r in failed] == ["ig-article"] and "image: article_or_card" in (failed[0].last_error or "")
    urls = {r.remote_url for r in rows.values() if r.state == DeliveryState.SENT}
    assert {p["permalink"] for f in three.values() for p in f.posts} == urls
    bot.close()


# --- in this process, on the test's clock -----------------------------------------------------------------------

def posted(tmp_path: Path, feed_server: FeedServer, instagram: FakeInstagram, media: MediaSide,
           clock: ManualClock, item: Item, **settings: Any) -> str:
    """The caption ``item`` got on Instagram, through a bot in this process."""
    bot = Bot.open(load_config(config(tmp_path, feed_server, media, ig(instagram, **settings))), clock=clock)
    media.start(database_url(bot.config.database, bot.config.data_dir), clock.now)
    bot.poll("main")
    publish(feed_server, [item])
    bot.poll("main")
    assert [o.status for o in bot.dispatch()] == ["sent"]
    bot.close()
    return str(instagram.posts[-1]["caption"])


def test_a_long_caption_is_fitted_to_2200_utf16_units_with_the_headline_whole(
    tmp_path: Path, feed_server: FeedServer, instagram: FakeInstagram, media: MediaSide, clock: ManualClock,
) -> None:
    title = " ".join(["البرلمان العراقي يقر قانون الموازنة العامة بعد جلسة مطولة استمرت حتى ساعات الفجر"] * 4)
    body = " ".join(["🔴 تفاصيل جلسة البرلمان ونقاشات النواب حول بنود الموازنة والرواتب"] * 40)
    item = Item(170, title, ["سياسة", "اقتصاد"], body=body, site=feed_server.base,
                image=f"{feed_server.base}/up/budget.png")
    caption = posted(tmp_path, feed_server, instagram, media, clock, item)
    assert 2150 < count_utf16(caption) <= 2200 and len(caption) < count_utf16(caption)  # an emoji counts 2
    first, excerpt, line = caption.split("\n\n")
    assert first == title and excerpt.endswith("…") and line == LINE  # the hashtags went first, then the excerpt


def test_hashtags_are_capped_with_those_the_headline_has(
    tmp_path: Path, feed_server: FeedServer, instagram: FakeInstagram, media: MediaSide, clock: ManualClock,
) -> None:
    item = Item(171, "#العراق البرلمان يقر #الموازنة بعد جلسة مطولة", [f"وسم{i}" for i in range(40)],
                body="تفاصيل الجلسة", site=feed_server.base, image=f"{feed_server.base}/up/budget.png")
    caption = posted(tmp_path, feed_server, instagram, media, clock, item, max_hashtags=30, hashtags={"max": 30})
    assert count_hashtags(caption) == 30 and caption.endswith("#وسم27")  # 2 in the headline, 28 added
    (tmp_path / "default").mkdir()
    caption = posted(tmp_path / "default", feed_server, instagram, media, clock, item, hashtags={"max": 30})
    assert count_hashtags(caption) == 5 and caption.endswith("#وسم2")  # the default: 5, as Instagram's app now


def test_the_publishing_limit_waits_until_the_window_has_room(
    tmp_path: Path, feed_server: FeedServer, instagram: FakeInstagram, media: MediaSide, clock: ManualClock,
) -> None:
    instagram.quota_total = 2
    items = [Item(180 + i, f"خبر رقم {i} عن الانتخابات المحلية في المحافظات", ["سياسة"], site=feed_server.base)
             for i in range(3)]
    bot = Bot.open(load_config(config(tmp_path, feed_server, media, ig(instagram, image="card"))), clock=clock)
    media.start(database_url(bot.config.database, bot.config.data_dir), clock.now)
    bot.poll("main")
    first = clock.now()
    for i in range(len(items)):
        publish(feed_server, items[:i + 1])
        bot.poll("main")
        clock.advance(timedelta(hours=1))
        [o] = bot.dispatch()
        assert o.status == ("sent" if i < 2 else "rate_limited")
    assert len(instagram.containers) == 2  # asked before the picture went up: no container for the third
    until = bot.store.account_state("ig").not_before
    room = first + timedelta(hours=1) + timedelta(days=1)  # the first post leaves the window
    assert until is not None and room <= until <= room + timedelta(seconds=62)
    assert "publishing limit is used up (2 of 2 posts in 24 h)" in (bot.store.deliveries()[-1].last_error or "")
    clock.set(until - timedelta(seconds=1))
    assert bot.dispatch() == []  # not before then
    clock.set(until)
    assert [o.status for o in bot.dispatch()] == ["sent"] and len(instagram.posts) == 3
    bot.close()


POST = "/v26.0/17841400000000001/media"
PUBLISH = "/v26.0/17841400000000001/media_publish"


@pytest.mark.parametrize(("where", "answer", "status"), [
    (POST, graph_error(400, 190, "Error validating access token", 463), "held"),
    (POST, graph_error(400, 10, "Application does not have permission for this action"), "held"),
    (POST, graph_error(400, 25, "The user is restricted", 2207050), "held"),
    (POST, graph_error(400, 4, "Application request limit reached"), "rate_limited"),
    (POST, graph_error(400, 9004, "Only photo or video can be accepted as media type.", 2207052), "retry"),
    (POST, graph_error(400, 36003, "The aspect ratio is not supported.", 2207009), "failed"),
    (POST, graph_error(500, 1, "An unknown error has occurred.", is_transient=True), "retry"),
    (PUBLISH, graph_error(500, 1, "An unknown error has occurred.", is_transient=True), "in_doubt"),
    (PUBLISH, graph_error(400, -1, "Instagram server error. Try again.", 2207001), "in_doubt"),
    (PUBLISH, graph_error(400, 9, "Application request limit reached", 2207042), "rate_limited"),
    (PUBLISH, graph_error(400, 190, "Error validating access token", 463), "held"),
    (PUBLISH, graph_error(400, 4, "We restrict certain activity to protect our community.", 2207051), "held"),
])
def test_graph_errors(
    tmp_path: Path, feed_server: FeedServer, instagram: FakeInstagram, media: MediaSide, clock: ManualClock,
    where: str, answer: Answer, status: str,
) -> None:
    bot = queued(config(tmp_path, feed_server, media, ig(instagram)), clock, feed_server, media)
    instagram.fail_next(where, answer)
    [o] = bot.dispatch()
    assert o.status == status, o.detail
    [row] = bot.store.deliveries()
    expected = {"held": DeliveryState.QUEUED, "rate_limited": DeliveryState.QUEUED, "retry": DeliveryState.QUEUED,
                "failed": DeliveryState.FAILED, "in_doubt": DeliveryState.IN_DOUBT}[status]
    assert row.state == expected and instagram.posts == []
    assert instagram.token not in (o.detail or "")
    bot.close()


def test_no_answer_before_media_publish_is_retried_not_in_doubt(
    tmp_path: Path, feed_server: FeedServer, instagram: FakeInstagram, media: MediaSide, clock: ManualClock,
) -> None:
    """A container is not a post: a request before media_publish whose answer never came posted nothing."""
    bot = queued(config(tmp_path, feed_server, media, ig(instagram, timeout="1s")), clock, feed_server, media)
    instagram.answer_late(POST, 2.0)
    [o] = bot.dispatch()
    assert o.status == "retry" and "did not answer in time" in (o.detail or "")
    [row] = bot.store.deliveries()
    assert "may have reached" not in (o.detail or "") and row.state == DeliveryState.QUEUED
    assert not row.maybe_posted  # an editor may still change its text
    clock.advance(timedelta(hours=1))
    assert [o.status for o in bot.dispatch()] == ["sent"] and len(instagram.posts) == 1
    bot.close()


def test_a_lost_answer_to_media_publish_is_sent_when_the_container_says_published(
    tmp_path: Path, feed_server: FeedServer, instagram: FakeInstagram, media: MediaSide, clock: ManualClock,
) -> None:
    bot = queued(config(tmp_path, feed_server, media, ig(instagram)), clock, feed_server, media)
    instagram.lose_publish_answers = 1  # posted, then a 500
    assert [o.status for o in bot.dispatch()] == ["sent"]
    publish(feed_server, new_items(feed_server.base))
    assert bot.poll("main").queued == 1
    instagram.answer_late(PUBLISH, 3.0)  # posted, its answer after the read timeout (2s)
    assert [o.status for o in bot.dispatch()] == ["sent"] and len(instagram.posts) == 2
    rows = bot.store.deliveries()
    assert all(r.remote_id is None and "its container says so" in (r.note or "") for r in rows), \
        [(r.remote_id, r.note) for r in rows]
    bot.close()


def test_a_crash_at_media_publish_is_in_doubt_and_not_resent(
    tmp_path: Path, feed_server: FeedServer, instagram: FakeInstagram, media: MediaSide, clock: ManualClock,
) -> None:
    path = config(tmp_path, feed_server, media, ig(instagram))
    queued(path, clock, feed_server, media, now=lambda: datetime.now(UTC)).close()  # `bot poll` hosts by its time
    instagram.fail_next(PUBLISH, Answer(200, {"id": "17900000000000099"}), hang=60)
    kill_poll_when(path, lambda: ("POST", PUBLISH) in instagram.arrived)  # `bot poll` dies mid-send
    clock.set(datetime.now(UTC) + timedelta(minutes=3))
    bot = Bot.open(load_config(path), clock=clock)
    expire_claims(bot.store)
    assert bot.dispatch() == []  # not resent: Instagram may have posted it
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.IN_DOUBT and "retry or skip" in (row.note or "")
    bot.close()


def test_containers_that_fail_or_never_get_ready(
    tmp_path: Path, feed_server: FeedServer, instagram: FakeInstagram, media: MediaSide, clock: ManualClock,
) -> None:
    bot = queued(config(tmp_path, feed_server, media, ig(instagram, timeout="1s")), clock, feed_server, media, 2)
    instagram.in_progress_polls = 1000
    first = bot.dispatch()
    assert [o.status for o in first] == ["retry", "retry"] and "not ready within 1s" in (first[0].detail or "")
    instagram.in_progress_polls, instagram.container_status = 0, "ERROR"
    clock.advance(timedelta(hours=2))
    second = bot.dispatch()
    assert [o.status for o in second] == ["failed", "failed"] and "2207001" in (second[0].detail or "")
    assert instagram.posts == [] and {media.get(url) for url, _, _ in instagram.fetched} == {404}
    bot.close()


def test_no_picture_fails_with_the_reason(
    tmp_path: Path, feed_server: FeedServer, instagram: FakeInstagram, media: MediaSide, clock: ManualClock,
) -> None:
    bot = Bot.open(load_config(config(tmp_path, feed_server, media, ig(instagram, image="article"))), clock=clock)
    media.start(database_url(bot.config.database, bot.config.data_dir), clock.now)
    bot.poll("main")
    publish(feed_server, new_items(feed_server.base)[1:])  # the article has no image
    bot.poll("main")
    [o] = bot.dispatch()
    assert o.status == "failed" and "Instagram posts need a picture" in (o.detail or "")
    assert instagram.received == [("GET", "17841400000000001/content_publishing_limit",
                                   {"fields": "quota_usage,config"})]  # nothing was sent to post
    bot.close()


@pytest.mark.parametrize(("mode", "picture", "status"), [
    ("article_or_card", png(1500, 500), "sent"), ("article_or_card", b"\xff\xd8\xff\xe0 not a picture", "sent"),
    ("article", png(1500, 500), "failed"), ("article", png(1080, 1350), "sent"), ("article", png(1910, 1000), "sent"),
])
def test_a_picture_instagram_would_refuse_gives_way_to_a_card(
    tmp_path: Path, feed_server: FeedServer, instagram: FakeInstagram, media: MediaSide, clock: ManualClock,
    mode: str, picture: bytes, status: str,
) -> None:
    """Instagram takes 4:5 to 1.91:1: with article_or_card a wider image (or a broken one) becomes a card drawn
    over it; with article the post fails with the reason."""
    path = config(tmp_path, feed_server, media, ig(instagram, image=mode))
    feed_server.set("/up/budget.png", picture, content_type="image/png", conditional=False)
    bot = queued(path, clock, feed_server, media)
    [o] = bot.dispatch()
    assert o.status == status, o.detail
    if status == "failed":
        assert "is 1500×500, and Instagram takes from 4:5 to 1.91:1" in (o.detail or "") and not instagram.fetched
    else:
        expected = (1080, 1350) if mode == "article_or_card" else _png_size(picture)
        assert jpeg_size(instagram.posts[0]["image"]) == expected
    bot.close()


def _png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return img.size


def test_check_delete_and_token_expiry(
    tmp_path: Path, feed_server: FeedServer, instagram: FakeInstagram, media: MediaSide, clock: ManualClock,
    run_bot: Callable[..., Run],
) -> None:
    path = config(tmp_path, feed_server, media, ig(instagram))
    assert run_bot("check", "--config", str(path)).out.strip() == "ig (instagram): ok, @qurays_news"
    bot = queued(path, clock, feed_server, media)
    [o] = bot.dispatch()
    assert o.status == "sent" and o.url == instagram.posts[0]["permalink"]
    publisher = bot.publishers["ig"]
    publisher.delete(bot.store.deliveries()[0].remote_id or "")
    assert instagram.posts == []
    with pytest.raises(Gone, match="delete it in the Instagram app"):  # not there: deleted, or not the token's
        publisher.delete("17900000000000777")
    instagram.expires_at = int((clock.now() + timedelta(days=50)).timestamp())
    assert isinstance(publisher, TokenExpiry)
    assert publisher.token_expiry() == datetime.fromtimestamp(instagram.expires_at, UTC)
    bot.close()
    instagram.token = "IGQnew"
    result = run_bot("check", "--config", str(path))
    assert result.code == 1 and "190" in result.out and "IGQfake" not in result.out
    instagram_login = config(tmp_path, feed_server, media, ig(instagram, base_url="https://graph.instagram.com"))
    bot = Bot.open(load_config(instagram_login), clock=clock)
    with pytest.raises(Rejected, match="Instagram Login cannot delete posts"):
        bot.publishers["ig"].delete("17900000000000001")  # said before any request: nothing reaches the internet
    login = bot.publishers["ig"]
    assert isinstance(login, TokenExpiry) and login.token_expiry() is None  # no debug_token there
    bot.close()


def test_a_token_near_its_expiry_is_told(
    tmp_path: Path, feed_server: FeedServer, instagram: FakeInstagram, media: MediaSide, webhook: FakeWebhook,
    run_bot: Callable[..., Run], clock: ManualClock,
) -> None:
    instagram.expires_at = int((clock.now() + timedelta(days=3)).timestamp())  # a user token's 60 days end
    path = config(tmp_path, feed_server, media, ig(instagram),
                  alerts={"channels": [{"type": "webhook", "url": webhook.address}], "token_warning": "7d"})
    run_bot("poll", "--config", str(path))
    [told] = webhook.received
    assert told["problem"] == "token:ig" and told["text"].startswith("the token of account ig (instagram) expires ")


def test_an_editors_caption_must_keep_to_the_hashtag_limit(
    tmp_path: Path, feed_server: FeedServer, instagram: FakeInstagram, media: MediaSide, clock: ManualClock,
    run_bot: Callable[..., Run], capsys: pytest.CaptureFixture[str],
) -> None:
    path = config(tmp_path, feed_server, media, ig(instagram))
    bot = queued(path, clock, feed_server, media, 0)
    bot.store.hold_account("ig", "held by a test", clock.now())  # its posts wait, queued
    publish(feed_server, new_items(feed_server.base)[:1])
    bot.poll("main")
    [row] = bot.store.deliveries()
    bot.close()
    capsys.readouterr()
    six = "البرلمان يقر الموازنة #العراق #بغداد #البصرة #الموصل #أربيل #النجف"
    assert run_bot("edit", str(row.id), six, "--config", str(path)).code == 2
    assert capsys.readouterr().err == "bot: the text has more hashtags than ig takes (5)\n"
    assert run_bot("edit", str(row.id), six.rsplit(" ", 1)[0], "--config", str(path)).code == 0


def test_the_link_line_stands_where_the_template_shows_the_link(tmp_path: Path, instagram: FakeInstagram) -> None:
    def composed(**settings: Any) -> str:
        path = write_config(tmp_path, feeds=[{"id": "main", "url": "https://news.example/feed"}],
                            server={"public_url": "https://bot.news.example"}, accounts=ig(instagram, **settings))
        bot = Bot.open(load_config(path))
        article = Item(190, "وزير الصحة يفتتح مستشفى جديداً في البصرة", ["صحة"])
        from bot.feeds import parse

        [parsed] = parse(rss2([article]).encode(), feed_id="main", url="https://news.example").articles
        text = bot.composer.compose("ig", parsed)
        bot.close()
        return text

    assert composed(template="{title}\n\n{short_link}") == f"وزير الصحة يفتتح مستشفى جديداً في البصرة\n\n{LINE}"
    assert composed(template="{title}\n\n{short_link}", link_line="🔗 {short_link}").endswith(
        "\n\n🔗 https://news.example/?p=190")
    assert composed(template="{title}\n\nاقرأ المزيد: {link}", link_line=None) == \
        "وزير الصحة يفتتح مستشفى جديداً في البصرة"


def test_config_refuses_an_account_without_a_public_address_or_a_picture(
    tmp_path: Path, instagram: FakeInstagram,
) -> None:
    feeds = [{"id": "main", "url": "https://news.example/feed"}]
    with pytest.raises(ConfigError, match=r"accounts\[0\]\.image: instagram fetches each post's image from a "
                                          r"public address: set server.public_url"):
        load_config(write_config(tmp_path, feeds=feeds, accounts=ig(instagram)))
    with pytest.raises(ConfigError, match=r"accounts\[0\]\.image: .*Instagram posts only pictures"):
        load_config(write_config(tmp_path, feeds=feeds, server={"public_url": "https://bot.news.example"},
                                 accounts=ig(instagram, image="none")))
    off = load_config(write_config(tmp_path, feeds=feeds, accounts=ig(instagram, enabled=False)))
    assert off.accounts[0].enabled is False  # an account that is off needs no public address
    secrets = load_config(write_config(tmp_path, feeds=feeds, server={"public_url": "https://bot.news.example"},
                                       accounts=ig(instagram))).secrets()
    assert instagram.token in secrets


def test_the_console_counts_as_instagram_does() -> None:
    from bot.compose.length import INSTAGRAM
    from bot.config import ConsoleAccount
    from bot.platforms import make_publisher

    publisher = make_publisher(ConsoleAccount(id="c", platform="console", count_as="instagram"))
    assert publisher.rule is INSTAGRAM
    publisher.close()
