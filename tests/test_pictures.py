"""A post's picture per account (``image: none | article | card | article_or_card``), end to end against the
fakes: the card drawn for the post (its breaking band from the article's categories), the article's image where
it has one, one card drawn however many accounts post it; and images put at a public address on the HTTP side
(``/media/…``) for the platforms that fetch them."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage

from bot.clock import ManualClock
from bot.config import load_config
from bot.errors import ConfigError
from bot.media import Image
from bot.pictures import ImageHost, card_label, hosted_key
from bot.store import Store

from .kit.configs import account, sample_site, write_config
from .kit.e2e import publish
from .kit.fake_discord import FakeDiscord
from .kit.fake_telegram import FakeTelegram
from .kit.fake_x import FakeX
from .kit.runs import Run
from .kit.servers import FeedServer
from .kit.wordpress import Item

BAND = (0xC8, 0x10, 0x2E)  # the template's default band colour, #c8102e


def photo(width: int = 800, height: int = 600) -> bytes:
    """A real JPEG (Pillow decodes it): a green field."""
    out = io.BytesIO()
    PILImage.new("RGB", (width, height), (40, 160, 60)).save(out, format="JPEG")
    return out.getvalue()


PHOTO = photo()


def items(base: str) -> list[Item]:
    return [
        Item(150, "عاجل | البرلمان يصوت على قانون الموازنة العامة للعام المقبل", ["عاجل", "البرلمان"], site=base),
        Item(151, "صور: افتتاح جسر الجادرية الجديد في بغداد", ["صور"], site=base, image=f"{base}/up/bridge.jpg"),
    ]


def site(tmp_path: Path, feed_server: FeedServer, accounts: list[dict[str, Any]]) -> Path:
    feed_server.set("/up/bridge.jpg", PHOTO, content_type="image/jpeg", conditional=False)
    return sample_site(tmp_path, feed_server, accounts)


def first_poll_then_publish(run_bot: Callable[..., Run], config: Path, feed_server: FeedServer) -> None:
    assert run_bot("poll", "--config", str(config)).code == 0  # a first start posts nothing
    publish(feed_server, items(feed_server.base))
    assert run_bot("poll", "--config", str(config)).code == 0


def decoded(data: bytes) -> PILImage.Image:
    img = PILImage.open(io.BytesIO(data))
    img.load()
    return img


def near(pixel: Any, colour: tuple[int, int, int], by: int = 12) -> bool:
    return all(abs(int(a) - b) <= by for a, b in zip(pixel[:3], colour, strict=True))


def test_x_without_its_link_carries_a_card_with_the_breaking_band(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run],
) -> None:
    config = site(tmp_path, feed_server, [account(fake_x, "x", link="never", image="card", timeout="2s")])
    first_poll_then_publish(run_bot, config, feed_server)
    assert len(fake_x.tweets) == 2
    cards = []
    for tweet in fake_x.tweets:
        assert "http" not in tweet["text"]  # link: never
        [media_id] = tweet["media_ids"]
        media = fake_x.media[media_id]
        cards.append(decoded(media["data"]))
    # on the brand colour a PNG; over the article's photo a JPEG (a tenth of the bytes)
    assert [fake_x.media[t["media_ids"][0]]["content_type"] for t in fake_x.tweets] == ["image/png", "image/jpeg"]
    breaking, pictured = cards
    assert breaking.size == pictured.size == (1200, 675)
    assert near(breaking.getpixel((20, 20)), BAND)  # عاجل: the red band across the top
    assert not near(pictured.getpixel((20, 20)), BAND)
    # the second card is drawn over the article's photo (green), the first on the brand colour
    assert near(pictured.getpixel((600, 30)), (40, 160, 60), by=30)
    assert not near(breaking.getpixel((600, 200)), (40, 160, 60), by=30)


def test_article_or_card_sends_the_articles_image_and_a_card_where_there_is_none(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, run_bot: Callable[..., Run],
) -> None:
    config = site(tmp_path, feed_server, [account(telegram, "tg", image="article_or_card", card_size="square",
                                                  timeout="2s")])
    first_poll_then_publish(run_bot, config, feed_server)
    assert len(telegram.photos) == 2
    card, article = telegram.photos
    assert decoded(card).size == (1080, 1080)
    assert article == PHOTO  # the article's own image, as the site serves it


def test_image_none_and_article_keep_their_old_meaning(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, run_bot: Callable[..., Run],
) -> None:
    config = site(tmp_path, feed_server, [account(telegram, "tg", image=True, timeout="2s")])
    first_poll_then_publish(run_bot, config, feed_server)
    assert telegram.photos == [PHOTO]  # the one with an image; the other goes as a message, without a card
    assert sum(1 for m in telegram.messages if "photo" not in m) == 1


def test_one_card_is_drawn_for_every_account_that_posts_it(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, discord: FakeDiscord, run_bot: Callable[..., Run],
) -> None:
    config = site(tmp_path, feed_server, [account(fake_x, "x", image="card", timeout="2s"),
                                          account(discord, "dc", image="card", timeout="2s")])
    first_poll_then_publish(run_bot, config, feed_server)
    assert len(fake_x.tweets) == 2 and len(discord.messages) == 2
    cached = sorted((tmp_path / "var" / "cards").glob("*.*"))
    assert [p.suffix for p in cached] and len(cached) == 2  # one per article, not one per account
    x_cards = {fake_x.media[t["media_ids"][0]]["data"] for t in fake_x.tweets}
    discord_cards = {f for files in discord.files.values() for f in files}
    assert x_cards == discord_cards == {p.read_bytes() for p in cached}
    for message, name in zip(discord.messages, ["card.png", "card.jpg"], strict=True):  # the embed's image,
        assert message["embeds"][0]["image"] == {"url": f"attachment://{name}"}       # uploaded with the message
        assert [a["filename"] for a in message["attachments"]] == [name]
    assert discord.problems == []


def test_discord_shows_the_articles_image_by_its_address_by_default(
    tmp_path: Path, feed_server: FeedServer, discord: FakeDiscord, run_bot: Callable[..., Run],
) -> None:
    config = site(tmp_path, feed_server, [account(discord, "dc", timeout="2s")])
    first_poll_then_publish(run_bot, config, feed_server)
    breaking, pictured = discord.messages
    assert "image" not in breaking["embeds"][0] and breaking["attachments"] == []
    assert pictured["embeds"][0]["image"] == {"url": f"{feed_server.base}/up/bridge.jpg"}


def config_of(tmp_path: Path, accounts: list[dict[str, Any]], **top: Any) -> Any:
    return load_config(write_config(tmp_path, feeds=[{"id": "main", "url": "https://news.example/feed"}],
                                    accounts=accounts, **top))


def test_image_modes_in_the_config(tmp_path: Path) -> None:
    tg = {"id": "tg", "platform": "telegram", "bot_token": "1:a", "chat_id": "@c"}
    fb = {"id": "fb", "platform": "facebook", "page_id": "1", "page_token": "t"}
    config = config_of(tmp_path, [{**tg, "image": True}, {**tg, "id": "t2", "image": False},
                                  {**tg, "id": "t3"}, {**fb, "photo": True}, {**fb, "id": "f2"},
                                  {**fb, "id": "f3", "image": "card", "card_size": "portrait"}])
    assert [a.image for a in config.accounts] == ["article", "none", "none", "article", "none", "card"]
    with pytest.raises(ConfigError) as caught:
        config_of(tmp_path, [{**tg, "image": "sometimes"}])
    assert "accounts[0].image" in caught.value.render()
    with pytest.raises(ConfigError) as caught:
        config_of(tmp_path, [{**tg, "image": "card", "card_size": "huge"}])
    said = caught.value.render()
    assert "no card size 'huge'" in said and "landscape, portrait, square" in said
    config = config_of(tmp_path, [{**tg, "card_size": "story"}], cards={"sizes": {"story": [1080, 1920]}})
    assert config.accounts[0].card_size == "story"


def test_the_card_label_is_the_first_breaking_label_the_article_has() -> None:
    assert card_label(("سياسة", "عاجل"), ["عاجل"]) == "عاجل"
    assert card_label(("سياسة",), ["عاجل"]) is None
    assert card_label(("Breaking", "عاجل"), ["عاجل", "breaking"]) == "عاجل"  # the template's order
    assert card_label(("BREAKING",), ["breaking"]) == "breaking"  # names compare as hashtags do


def fetch(url: str, method: str = "GET") -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=5) as resp:
            return resp.status, resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Content-Type", "")


def test_hosted_images_are_served_at_an_unguessable_address_until_they_expire_or_are_withdrawn(
    tmp_path: Path, clock: ManualClock,
) -> None:
    from bot.web import WebSide
    from bot.web.app import Hooks, build_app

    store = Store.open(f"sqlite:///{tmp_path / 'bot.db'}")
    web = WebSide("127.0.0.1", 0, build_app(Hooks(lambda: (True, {}), image=lambda key: store.hosted_image(
        key, clock.now()))), lambda: None)
    web.start()
    try:
        base = f"http://127.0.0.1:{web.port}"
        host = ImageHost(store, base + "/", clock.now)
        png = io.BytesIO()
        PILImage.new("RGB", (300, 200), (200, 16, 46)).save(png, format="PNG")
        hosted = host.put(Image("card-1.png", png.getvalue(), "image/png"), jpeg=True)
        other = host.put(Image("a.jpg", PHOTO, "image/jpeg"), ttl=timedelta(hours=3))
        svg = host.put(Image("a.svg", png.getvalue(), "image/svg+xml"))  # never served as the type it claims
        assert svg.url.endswith(".jpg") and fetch(svg.url)[2] == "image/jpeg"
        assert hosted.url.startswith(f"{base}/media/") and hosted.url.endswith(".jpg")
        token = hosted.url.rsplit("/", 1)[1].removesuffix(".jpg")
        assert len(token) == 43 and hosted.key == hosted_key(token) != token
        status, body, kind = fetch(hosted.url)
        assert (status, kind) == (200, "image/jpeg") and decoded(body).size == (300, 200)  # made a JPEG
        with urllib.request.urlopen(hosted.url, timeout=5) as resp:  # kept by no shared cache
            assert resp.headers["Cache-Control"].startswith("private") and resp.headers["X-Robots-Tag"] == "noindex"
        assert fetch(hosted.url, "HEAD")[0] == 200
        assert fetch(other.url)[1] == PHOTO
        # a wrong or malformed token, another path: nothing
        for wrong in (f"{base}/media/{'A' * 43}.jpg", f"{base}/media/{token[:-1]}.jpg", f"{base}/media/..%2Fbot.db",
                      f"{base}/media/{hosted.key}.jpg"):
            assert fetch(wrong)[0] == 404, wrong
        # the store keeps only the token's hash
        assert token not in (tmp_path / "bot.db").read_bytes().decode("latin-1")
        host.drop(hosted)
        assert fetch(hosted.url)[0] == 404  # withdrawn once the platform has it
        clock.advance(timedelta(hours=3, seconds=1))
        assert fetch(other.url)[0] == 404  # expired
        assert store.prune_hosted(clock.now()) == 2  # the other and the SVG-made-JPEG
    finally:
        web.stop()
        store.close()


def test_media_is_not_served_without_an_image_store() -> None:
    from bot.web import WebSide
    from bot.web.app import Hooks, build_app

    web = WebSide("127.0.0.1", 0, build_app(Hooks(lambda: (True, {}))), lambda: None)
    web.start()
    try:
        assert fetch(f"http://127.0.0.1:{web.port}/media/{'A' * 43}.jpg")[0] == 404
    finally:
        web.stop()


def test_preview_and_the_console_account_show_the_card_as_it_will_be_posted(
    tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run],
) -> None:
    import json

    config = site(tmp_path, feed_server, [
        {"id": "cards", "platform": "console", "image": "card", "card_size": "portrait",
         "output": str(tmp_path / "posts.jsonl")},
        {"id": "photos", "platform": "console", "image": "article_or_card"},
    ])
    publish(feed_server, items(feed_server.base))
    result = run_bot("preview", "--config", str(config), "--limit", "2", "--json")
    assert result.code == 0
    shown = {(r["guid"].rsplit("=", 1)[1], r["account"]): r.get("picture") for r in map(json.loads,
                                                                                     result.out.splitlines())}
    card = Path(shown[("150", "cards")].removeprefix("card: "))
    assert shown[("150", "cards")].startswith("card: ") and decoded(card.read_bytes()).size == (1080, 1350)
    assert near(decoded(card.read_bytes()).getpixel((20, 20)), BAND)  # عاجل
    assert shown[("151", "photos")] == f"image: {feed_server.base}/up/bridge.jpg"
    assert shown[("150", "photos")].startswith("card: ")  # no image of its own
    text = run_bot("preview", "--config", str(config), "--limit", "2", "--account", "photos").out
    assert f"image: {feed_server.base}/up/bridge.jpg\n" in text and "card: " in text
    # the console account shows the same card when it "posts"
    assert run_bot("poll", "--config", str(config)).code == 0
    publish(feed_server, [*items(feed_server.base), Item(152, "عاجل | زلزال بقوة خمس درجات يضرب شمال العراق",
                                                         ["عاجل"], site=feed_server.base)])
    assert run_bot("poll", "--config", str(config)).code == 0
    [posted] = [json.loads(line) for line in (tmp_path / "posts.jsonl").read_text().splitlines()]
    assert Path(posted["card"]).parent == card.parent and decoded(Path(posted["card"]).read_bytes()).size == \
        (1080, 1350)


def test_the_compose_preview_shows_the_card_to_signed_in_people(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    import re

    from .kit.console import ConsoleServer, with_console

    config = with_console(site(tmp_path, feed_server, [account(fake_x, "x", image="card"),
                                                       account(fake_x, "plain", image="article")]))
    server = ConsoleServer(config, clock)
    try:
        editor = server.client("omar")
        text = "عاجل | انقطاع التيار الكهربائي عن أحياء واسعة من العاصمة"
        preview = editor.post("/compose/preview", {"text": text, "account": ["x", "plain"],
                                                   "image": f"{feed_server.base}/up/bridge.jpg"})
        assert preview.status_code == 200
        [src] = re.findall(r'<img src="(/cards/[0-9a-f]{64}\.jpg)"', preview.text)  # over the photo: a JPEG
        # the other carries the article's image (shown where it is https://, which the local server is not)
        [plain] = [r for r in server.ops.manual_post(text=text, url=None, account_ids=["plain"], link=None,
                                                     image=f"{feed_server.base}/up/bridge.jpg", dry_run=True,
                                                     force=False, by="omar")]
        assert (plain.image, plain.card) == (f"{feed_server.base}/up/bridge.jpg", None)
        shown = editor.get(src)
        assert shown.status_code == 200 and shown.headers["Content-Type"] == "image/jpeg"
        assert decoded(shown.content).size == (1200, 675)
        assert near(decoded(shown.content).getpixel((600, 30)), (40, 160, 60), by=30)  # over the given photo
        assert fake_x.tweets == []  # a preview posts nothing
        assert editor.get("/cards/" + "0" * 64 + ".png").status_code == 404
        assert editor.get(src.replace(".jpg", ".png")).status_code == 404
        assert editor.get("/cards/..%2F..%2Fbot.sqlite3").status_code == 404
        anonymous = server.client(None)
        assert anonymous.get(src, allow_redirects=False).status_code in (302, 303, 401)
    finally:
        server.close()


def test_cards_not_drawn_for_a_week_are_pruned(tmp_path: Path, clock: ManualClock) -> None:
    import os
    import time

    from bot.core import Bot

    config = config_of(tmp_path, [], data_dir=str(tmp_path / "data"))
    bot = Bot.open(config, clock=clock)
    try:
        folder = tmp_path / "data" / "cards"
        folder.mkdir(parents=True)
        old, fresh, half, other = (folder / ("a" * 64 + ".png"), folder / ("b" * 64 + ".png"),
                                   folder / "c.1.2.tmp", folder / "notes.txt")
        old_jpeg = folder / ("d" * 64 + ".jpg")  # a card over a photo
        for path in (old, fresh, half, other, old_jpeg):
            path.write_bytes(b"x")
        week_ago = time.time() - 7 * 86400 - 60
        for path in (old, half, other, old_jpeg):
            os.utime(path, (week_ago, week_ago))
        bot.prune()
        assert sorted(p.name for p in folder.iterdir()) == sorted([fresh.name, other.name])
    finally:
        bot.close()


def test_a_retry_carries_the_card_of_the_headline_its_text_was_frozen_with(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    """A first attempt that did not go (X was down) froze its text; the site then corrects the headline. The
    retry sends the frozen text, and its card shows that same headline, not the corrected one."""
    from bot.cards import Card, cache_path
    from bot.core import Bot

    from .kit.fake_x import Fault

    config = load_config(site(tmp_path, feed_server, [account(fake_x, "x", image="card", timeout="2s")]))
    bot = Bot.open(config, clock=clock)
    try:
        bot.poll("main")
        first = items(feed_server.base)[:1]
        publish(feed_server, first)
        assert bot.poll("main").queued == 1
        fake_x.faults.append(Fault("/2/tweets", 503))
        assert [o.status for o in bot.dispatch()] == ["retry"] and fake_x.tweets == []  # X: safe to resend
        corrected = Item(150, "عاجل | البرلمان يقر قانون الموازنة العامة للعام المقبل", ["عاجل", "البرلمان"],
                         site=feed_server.base)
        publish(feed_server, [corrected])
        bot.poll("main")
        assert corrected.title in {a.title for a in bot.store.articles()}  # the site corrected it
        clock.advance(timedelta(hours=2))
        assert [o.status for o in bot.dispatch()] == ["sent"]
        [tweet] = fake_x.tweets
        assert tweet["text"].startswith(first[0].title)  # the frozen text
        card = fake_x.media[tweet["media_ids"][0]]["data"]
        on_disk = {p.name for p in (tmp_path / "var" / "cards").glob("*.png") if p.read_bytes() == card}
        assert on_disk == {cache_path(Card(first[0].title, "عاجل", None, "قريش"), config.cards, "landscape",
                                      tmp_path / "var" / "cards").name}
    finally:
        bot.close()


def test_card_sizes_and_photo_settings_that_cannot_work_are_refused(tmp_path: Path) -> None:
    tg = {"id": "tg", "platform": "telegram", "bot_token": "1:a", "chat_id": "@c"}
    fb = {"id": "fb", "platform": "facebook", "page_id": "1", "page_token": "t"}
    for sizes in ({"landscape": [0, 0]}, {"landscape": [100000, 100000]}, {"landscape": [-5, 600]}):
        with pytest.raises(ConfigError) as caught:
            config_of(tmp_path, [tg], cards={"sizes": sizes})
        assert "cards.sizes" in caught.value.render()
    # an account that draws no card does not need the default size to exist
    config = config_of(tmp_path, [tg], cards={"sizes": {"story": [1080, 1920]}})
    assert config.accounts[0].image == "none"
    with pytest.raises(ConfigError):
        config_of(tmp_path, [{**tg, "image": "card"}], cards={"sizes": {"story": [1080, 1920]}})
    assert config_of(tmp_path, [{**fb, "photo": "true"}]).accounts[0].image == "article"  # ${ENV} gives a string
    with pytest.raises(ConfigError) as caught:
        config_of(tmp_path, [{**fb, "photo": True, "image": "none"}])
    assert "disagree" in caught.value.render()
    assert config_of(tmp_path, [{**fb, "photo": True, "image": "card"}]).accounts[0].image == "card"


def png(width: int, height: int, colour: tuple[int, int, int] = (40, 160, 60)) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(("width", "height"), [(100, 30000), (30000, 100), (6400, 6300)])
def test_a_hostile_photo_gives_a_card_on_the_brand_colour(width: int, height: int) -> None:
    """A strip (a few KB that would scale to gigabytes) or a picture past the decoded bound: no photo behind the
    headline, and the card is drawn all the same."""
    import resource

    from bot.cards import Card, render
    from bot.config.cards import CardsConfig

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    card = decoded(render(Card("عاجل | خبر", None, png(width, height)), CardsConfig(), "landscape"))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert near(card.getpixel((600, 30)), (0x12, 0x26, 0x3F))  # the brand colour, not the green photo
    assert grown_mb < 200  # bounded (a strip once took 1.8 GB)


def test_a_large_jpeg_is_decoded_at_a_reduced_scale_and_drawn_behind_the_headline() -> None:
    from bot.cards import Card, _photo, render
    from bot.config.cards import CardsConfig

    out = io.BytesIO()
    PILImage.new("RGB", (4000, 3000), (40, 160, 60)).save(out, format="JPEG", quality=80)
    assert _photo(out.getvalue(), 1200, 675) is not None
    card = decoded(render(Card("خبر", None, out.getvalue()), CardsConfig(), "landscape"))
    assert near(card.getpixel((600, 30)), (40, 160, 60), by=30)


def test_a_card_that_cannot_be_drawn_never_stops_the_post(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run],
) -> None:
    config = site(tmp_path, feed_server, [account(fake_x, "x", image="card", timeout="2s")])
    text = config.read_text(encoding="utf-8") + f"cards:\n  font: {tmp_path / 'no-such-font.ttf'}\n"
    config.write_text(text, encoding="utf-8")
    first_poll_then_publish(run_bot, config, feed_server)
    assert len(fake_x.tweets) == 2 and all(t["media_ids"] == [] for t in fake_x.tweets)


def test_the_preview_chooses_and_finds_the_picture_as_the_post_does(
    tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run], telegram: FakeTelegram,
    discord: FakeDiscord,
) -> None:
    """No image in the feed but an og:image on the page: the preview shows that image, as the post carries it;
    a Telegram text too long for a caption shows none (it goes as a message); Discord shows the article's image
    only by an address the feed gives (its embed fetches nothing)."""
    import json
    from urllib.parse import urlsplit

    from .kit.wordpress import Item as WPItem

    plain = WPItem(160, "وزارة الصحة تعلن حملة تطعيم وطنية ضد الحصبة", ["صحة"], site=feed_server.base)
    long = WPItem(161, "تقرير: " + "الحكومة تناقش خطة إعادة إعمار المدن المتضررة " * 30, ["تقارير"],
                  site=feed_server.base)
    feed_server.set("/og.jpg", PHOTO, content_type="image/jpeg", conditional=False)
    feed_server.set(urlsplit(plain.link).path, f'<html><head><meta property="og:image" content="'
                    f'{feed_server.base}/og.jpg"></head></html>', content_type="text/html; charset=utf-8",
                    conditional=False)
    config = site(tmp_path, feed_server, [
        account(telegram, "tg", image="article", template="{title}\n{link}", timeout="2s"),
        account(discord, "dc", image="article_or_card", timeout="2s"),
    ])
    assert run_bot("poll", "--config", str(config)).code == 0  # a first start posts nothing
    publish(feed_server, [plain, long])
    result = run_bot("preview", "--config", str(config), "--limit", "2", "--json")
    assert result.code == 0, result.out
    shown = {(r["guid"].rsplit("=", 1)[1], r["account"]): r.get("picture") for r in map(json.loads,
                                                                                     result.out.splitlines())}
    assert shown[("160", "tg")] == f"image: {feed_server.base}/og.jpg"  # found on the page, as the post does
    assert shown[("161", "tg")] is None  # too long for a photo's caption: a message without a picture
    assert shown[("160", "dc")].startswith("card: ")  # the embed takes an address from the feed, or the card
    # and what is posted is what was shown
    assert run_bot("poll", "--config", str(config)).code == 0
    assert telegram.photos == [PHOTO]
    [dc_plain] = [m for m in discord.messages if plain.title in m["content"]]
    assert dc_plain["embeds"][0]["image"] == {"url": "attachment://card.jpg"}  # over the page's og:image


def test_mastodon_facebook_and_bluesky_carry_the_card_their_image_setting_asks_for(
    tmp_path: Path, feed_server: FeedServer, mastodon: Any, facebook: Any, bluesky: Any,
    run_bot: Callable[..., Run],
) -> None:
    config = site(tmp_path, feed_server, [account(mastodon, "ma", image="card", timeout="2s"),
                                          account(facebook, "fb", image="card", card_size="square", timeout="2s"),
                                          account(bluesky, "bs", image="card", timeout="2s")])
    first_poll_then_publish(run_bot, config, feed_server)
    uploaded = [m["data"] for m in mastodon.media.values()]
    assert len(uploaded) == 2 and all(decoded(d).size == (1200, 675) for d in uploaded)
    assert all(s["media_attachments"][0]["description"] for s in mastodon.statuses)  # the headline, for alt text
    assert [decoded(p["photo"]).size for p in facebook.posts] == [(1080, 1080)] * 2  # photo posts
    thumbs = [bluesky.blobs[r["embed"]["external"]["thumb"]["ref"]["$link"]] for r in bluesky.records.values()]
    assert len(thumbs) == 2 and all(decoded(t).size == (1200, 675) and len(t) <= 1_000_000 for t in thumbs)
    breaking = next(d for d in uploaded if near(decoded(d).getpixel((20, 20)), BAND))
    assert breaking in [m["data"] for m in mastodon.media.values()]


def test_bluesky_re_encodes_a_card_over_a_megabyte_as_a_jpeg(
    tmp_path: Path, feed_server: FeedServer, bluesky: Any, run_bot: Callable[..., Run],
) -> None:
    import os

    noise = PILImage.frombytes("RGB", (1200, 900), os.urandom(1200 * 900 * 3))  # a photo PNG cannot squeeze
    out = io.BytesIO()
    noise.save(out, format="JPEG", quality=95)
    feed_server.set("/up/bridge.jpg", out.getvalue(), content_type="image/jpeg", conditional=False)
    config = sample_site(tmp_path, feed_server, [account(bluesky, "bs", image="card", timeout="2s")])
    first_poll_then_publish(run_bot, config, feed_server)
    pictured = next(r for r in bluesky.records.values() if "الجادرية" in r["text"])
    thumb = bluesky.blobs[pictured["embed"]["external"]["thumb"]["ref"]["$link"]]
    assert thumb.startswith(b"\xff\xd8") and len(thumb) <= 1_000_000  # a JPEG within Bluesky's limit


def test_an_instagram_preview_shows_the_card_that_replaces_a_picture_of_a_shape_it_refuses(
    tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run], instagram: Any,
) -> None:
    import json

    feed_server.set("/up/bridge.jpg", photo(3000, 1000), content_type="image/jpeg", conditional=False)  # 3:1
    config = sample_site(tmp_path, feed_server, [account(instagram, "ig", timeout="2s")],
                         server={"public_url": "https://bot.news.example"})
    assert run_bot("poll", "--config", str(config)).code == 0
    publish(feed_server, items(feed_server.base))
    result = run_bot("preview", "--config", str(config), "--limit", "2", "--json")
    assert result.code == 0, result.out
    shown = {r["guid"].rsplit("=", 1)[1]: r.get("picture") for r in map(json.loads, result.out.splitlines())}
    assert shown["151"].startswith("card: ")  # its panorama is outside 4:5 to 1.91:1: a card over it
    assert decoded(Path(shown["151"].removeprefix("card: ")).read_bytes()).size == (1080, 1350)
    assert shown["150"].startswith("card: ")  # no image of its own
    with pytest.raises(ConfigError) as caught:
        load_config(sample_site(tmp_path, feed_server, [account(instagram, "ig", card_size="story")],
                                server={"public_url": "https://bot.news.example"},
                                cards={"sizes": {"story": [1080, 1920]}}))
    assert "Instagram takes pictures from 4:5 to 1.91:1" in caught.value.render()
