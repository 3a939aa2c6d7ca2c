"""One config with an account on each of the seven platforms: the whole sample feed in a single `bot poll`,
every post right for its platform, exactly once; and each publisher can delete what it posted."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import regex

from bot.clock import ManualClock
from bot.compose.hashtags import count_hashtags
from bot.compose.length import count_utf16, count_x
from bot.config import load_config
from bot.config.database import database_url
from bot.core import Bot

from .kit.configs import account, write_config
from .kit.e2e import JPEG
from .kit.fake_bluesky import FakeBluesky
from .kit.fake_discord import FakeDiscord
from .kit.fake_facebook import FakeFacebook
from .kit.fake_instagram import FakeInstagram, MediaSide
from .kit.fake_mastodon import FakeMastodon, mastodon_length
from .kit.fake_telegram import FakeTelegram
from .kit.fake_threads import FakeThreads
from .kit.fake_x import FakeX
from .kit.runs import Run
from .kit.servers import FeedServer, closed_clean
from .kit.wordpress import SAMPLE_ITEMS, SITE, rss2


class Fakes:
    def __init__(self, clock: ManualClock) -> None:
        self.x = FakeX(clock)
        self.telegram = FakeTelegram()
        self.facebook = FakeFacebook()
        self.mastodon = FakeMastodon()
        self.bluesky = FakeBluesky()
        self.discord = FakeDiscord(clock)
        self.discord.limit = self.discord.remaining = 50  # the whole feed in one poll, on a clock that stands still
        self.instagram = FakeInstagram(clock)
        self.threads = FakeThreads(clock)
        self.clock = clock
        self.media = MediaSide()  #: the bot's HTTP side, serving the pictures Instagram fetches

    def serve_pictures(self, path: Path) -> None:
        config = load_config(path)
        self.media.start(database_url(config.database, config.data_dir), self.clock.now)

    def close(self) -> None:
        self.media.close()
        for fake in (self.x, self.telegram, self.facebook, self.mastodon, self.bluesky, self.discord, self.instagram,
                     self.threads):
            closed_clean(fake)


@pytest.fixture
def fakes(clock: ManualClock) -> Iterator[Fakes]:
    f = Fakes(clock)
    yield f
    f.close()


def all_accounts(f: Fakes) -> list[dict[str, object]]:
    template = "{title}\n\n{short_link}\n{hashtags}"
    return [
        account(f.x, "x", image=True, template=template),
        account(f.telegram, "telegram", image=True, template="{title}\n\n{excerpt}\n\n{short_link}"),
        account(f.facebook, "facebook", photo=True, template="{title}\n\n{excerpt}"),
        account(f.mastodon, "mastodon", image=True, template="{title}\n\n{excerpt}\n\n{short_link}\n{hashtags}"),
        account(f.bluesky, "bluesky", template=template),
        account(f.discord, "discord", template="{title}\n\n{excerpt}\n\n{short_link}"),
        account(f.instagram, "instagram", hashtags={"max": 30}),  # its own template: link line, hashtags
        account(f.threads, "threads", template="{title}\n\n{excerpt}\n\n{short_link}\n{hashtags}"),
    ]


def test_the_whole_feed_reaches_all_seven_platforms_once(
    tmp_path: Path, feed_server: FeedServer, fakes: Fakes, run_bot: Callable[..., Run],
) -> None:
    base = feed_server.base
    items = [replace(i, site=base, image=i.image.replace(SITE, base) if i.image else None) for i in SAMPLE_ITEMS]
    feed_server.set("/feed", rss2(items))
    feed_server.set("/wp-content/uploads/2026/11/babylon.jpg", JPEG, content_type="image/jpeg", conditional=False)
    path = write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed"), "backfill": 10}],
                        site={"name": "قريش", "url": base, "timezone": "Asia/Baghdad"},
                        server={"public_url": fakes.media.public_url}, accounts=all_accounts(fakes))
    fakes.serve_pictures(path)
    assert run_bot("poll", "--config", str(path)).code == 0
    assert run_bot("poll", "--config", str(path)).code == 0  # again: nothing more

    x_texts = [t["text"] for t in fakes.x.tweets]
    assert len(x_texts) == 10 and all(count_x(t) <= 280 for t in x_texts)
    assert sum(1 for t in fakes.x.tweets if t["media_ids"]) == 1  # the one article with an image
    assert len(fakes.telegram.messages) == 10 and len(fakes.telegram.photos) == 1
    assert len(fakes.facebook.posts) == 10 and sum(1 for p in fakes.facebook.posts if "photo" in p) == 1
    assert len(fakes.mastodon.statuses) == 10 and all(mastodon_length(s["text"]) <= 500
                                                      for s in fakes.mastodon.statuses)
    records = list(fakes.bluesky.records.values())
    assert len(records) == 10 and all(len(regex.findall(r"\X", r["text"])) <= 300 for r in records)
    assert fakes.bluesky.logins == 1 and fakes.telegram.problems == [] and fakes.bluesky.problems == []
    assert fakes.x.validation_errors == []
    assert len(fakes.discord.messages) == 10 and all(len(m["content"]) <= 2000 for m in fakes.discord.messages)
    assert sum(1 for m in fakes.discord.messages if "image" in m["embeds"][0]) == 1
    captions = [p["caption"] for p in fakes.instagram.posts]
    assert len(captions) == 10 and all(count_utf16(c) <= 2200 and count_hashtags(c) <= 5 for c in captions)
    assert all("🔗 الرابط في الملف الشخصي" in c and "http" not in c for c in captions)
    assert sorted(p["size"] for p in fakes.instagram.posts) == [(1080, 1350)] * 10  # cards (babylon.jpg is no image)
    threads_texts = fakes.threads.texts()
    assert len(threads_texts) == 10 and all(len(t.encode()) <= 500 for t in threads_texts)  # Threads' bytes
    assert all(p.container.link_attachment for p in fakes.threads.posts)  # each with its article's link card
    # One tag made by the bot at most (a headline's own #tag comes first and is the topic then; one after it
    # stays plain text on Threads)
    assert all(t.count("#") - t.split("\n")[0].count("#") <= 1 for t in threads_texts)
    for text in x_texts + [s["text"] for s in fakes.mastodon.statuses] + [r["text"] for r in records] + captions + \
            threads_texts:
        assert "&#" not in text and "<" not in text

    bot = Bot.open(load_config(path))
    rows = bot.store.deliveries()
    assert len(rows) == 80 and {r.state for r in rows} == {"sent"}
    bot.close()


def test_each_publisher_deletes_what_it_posted(
    tmp_path: Path, feed_server: FeedServer, fakes: Fakes, clock: ManualClock,
) -> None:
    feed_server.set("/feed", rss2(SAMPLE_ITEMS[:1]))
    accounts = [{**a, "image": False} if "image" in a else a for a in all_accounts(fakes)]
    for a in accounts:  # the article's page is on news.example, not on this machine: no image lookups
        a.pop("photo", None)
        if a["platform"] == "bluesky":
            a["link_card"] = False
    for a in accounts:
        if a["platform"] == "instagram":
            a["image"] = "card"  # Instagram takes only pictures: a card, drawn here
    path = write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed"), "backfill": 1}],
                        site={"name": "قريش", "url": "https://news.example",
                              "short_link": {"kind": "wordpress", "page_lookup": False}},
                        server={"public_url": fakes.media.public_url}, cards={"photo": False}, accounts=accounts)
    fakes.serve_pictures(path)
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    outcomes = bot.dispatch()
    assert sorted(o.status for o in outcomes) == ["sent"] * 8
    for row in bot.store.deliveries():
        publisher = bot.publishers[row.account_id]
        assert row.remote_id
        publisher.delete(row.remote_id)
    assert fakes.x.tweets == [] and fakes.telegram.messages == [] and fakes.facebook.posts == []
    assert fakes.mastodon.statuses == [] and fakes.bluesky.records == {} and fakes.discord.messages == []
    assert fakes.instagram.posts == []
    assert fakes.threads.posts == [] and len(fakes.threads.deleted) == 1
    bot.close()


def test_no_secret_reaches_the_logs_on_any_platform(
    tmp_path: Path, feed_server: FeedServer, fakes: Fakes, run_bot: Callable[..., Run],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every platform refuses (revoked tokens), at debug level, in both log formats: no secret appears.
    The bot's own redaction is tested by logging a secret on purpose too."""
    import json
    import logging

    feed_server.set("/feed", rss2(SAMPLE_ITEMS[:2]))
    accounts = all_accounts(fakes)
    for a in accounts:  # the articles' pages are on news.example, not on this machine: no image lookups
        a.pop("image", None)
        a.pop("photo", None)
        if a["platform"] == "bluesky":
            a["link_card"] = False
    secrets = [fakes.x.keys["consumer_secret"], fakes.x.keys["token_secret"], fakes.telegram.token,
               fakes.facebook.token, fakes.mastodon.token, fakes.bluesky.password, fakes.discord.token,
               fakes.instagram.token,
               fakes.threads.token]
    fakes.x.revoked = True
    fakes.telegram.token, fakes.facebook.token, fakes.mastodon.token = "other", "other", "other"
    fakes.bluesky.password = "other"
    fakes.discord.token = "other"
    fakes.instagram.token = "other"  # refused at its first call, the publishing limit: before any picture
    fakes.threads.tokens[fakes.threads.token].valid = False  # revoked
    path = write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed"), "backfill": 2}],
                        site={"name": "قريش", "url": "https://news.example",
                              "short_link": {"kind": "wordpress", "page_lookup": False}},
                        server={"public_url": fakes.media.public_url}, accounts=accounts)
    for fmt in ("text", "json"):
        run_bot("poll", "-v", "--log-format", fmt, "--config", str(path))
        run_bot("check", "-v", "--log-format", fmt, "--config", str(path))
        logging.getLogger("bot.test").warning("a careless line with %s in it", secrets[2])
    out = capsys.readouterr()
    logs = out.err + out.out
    assert logs.count("is HELD") >= 7 and "***" in logs
    for secret in secrets:
        assert secret not in logs
    json_lines = [line for line in out.err.splitlines() if line.startswith("{")]
    assert json_lines and all(json.loads(line)["level"] for line in json_lines)
    assert any(json.loads(line).get("feed") == "main" and json.loads(line).get("status") for line in json_lines)
