"""What the tests of corrections and retractions share: a site whose REST API is on (``site``), articles posted
(``posted``), and ``WordPressREST``, a local server's answers as WordPress's REST API gives them for posts."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.clock import ManualClock
from bot.config import load_config
from bot.core import Bot
from bot.operations import Operations

from .configs import account, sample_site, write_config
from .e2e import publish
from .fake_x import FakeX
from .servers import FeedServer, Seen
from .wordpress import SAMPLE_ITEMS, Item, rss2

HEADLINE = "مجلس النواب يصوت على قانون الانتخابات الجديد"
CORRECTED = "مجلس النواب يؤجل التصويت على قانون الانتخابات الجديد"
OTHER = "افتتاح جسر الجادرية بعد أعمال صيانة استمرت عامين"


def site(tmp_path: Path, feed_server: FeedServer, clock: ManualClock, accounts: list[dict[str, Any]],
         site_url: str | None = None, top: dict[str, Any] | None = None) -> Bot:
    path = sample_site(tmp_path, feed_server, accounts, feed={"site_url": site_url or feed_server.base},
                       site={"name": "قريش", "url": feed_server.base, "wordpress_api": True,
                             "timezone": "Asia/Baghdad"}, **(top or {}))
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")  # the first start: the sample feed is only marked seen
    return bot


def posted(bot: Bot, feed_server: FeedServer, clock: ManualClock, *items: Item) -> None:
    publish(feed_server, list(items))
    bot.poll("main")
    bot.dispatch()
    clock.advance(timedelta(minutes=5))


class WordPressREST:
    """The site's REST API for posts as WordPress answers it: the list (``include=``, published ones only) and
    one post (``rest_forbidden`` 401 for one not public, ``rest_post_invalid_id`` 404 for one deleted)."""

    def __init__(self, server: FeedServer, published: set[int], deleted: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        self.published, self.deleted = set(published), set(deleted)
        self.list_answer: tuple[int, str, bytes] | None = None  #: answer the list so instead (status, type, body)
        server.handlers["/wp-json/wp/v2/posts"] = self._list
        self.server = server

    def one(self, post_id: int) -> None:
        self.server.handlers[f"/wp-json/wp/v2/posts/{post_id}"] = lambda seen: self._one(post_id)

    def _list(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        if self.list_answer is not None:
            status, kind, body = self.list_answer
            return status, {"Content-Type": kind}, body
        query = seen.path.split("?", 1)[1]
        asked = [int(i) for part in query.split("&") if part.startswith("include=")
                 for i in part[len("include="):].split(",")]
        return 200, {"Content-Type": "application/json; charset=UTF-8"}, json.dumps(
            [{"id": i} for i in asked if i in self.published]).encode()

    def _one(self, post_id: int) -> tuple[int, dict[str, str], bytes]:
        if post_id in self.published:
            return 200, {}, json.dumps({"id": post_id, "status": "publish"}).encode()
        if post_id in self.deleted:
            return 404, {}, json.dumps({"code": "rest_post_invalid_id", "message": "Invalid post ID.",
                                        "data": {"status": 404}}).encode()
        return 401, {}, NOT_PUBLIC


#: WordPress's answer to a visitor asking for a post that is not public (a draft, private, trashed).
NOT_PUBLIC = json.dumps({"code": "rest_forbidden", "message": "Sorry, you are not allowed to do that.",
                         "data": {"status": 401}}).encode()


def two_sites(tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, sport: str,
              **site_settings: Any) -> tuple[Bot, Item]:
    """Two WordPress sites with the plugin and one secret: the news site at the feed server's address and the sport
    site at ``sport`` (another host, or a folder of the same one), each with a post 700, both posted to X (an
    account with ``on_retract: delete``). The bot, and the sport site's post."""
    feed_server.set("/feed", rss2(SAMPLE_ITEMS))
    feed_server.set("/sport/feed", rss2([]))
    path = write_config(
        tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed"), "site_url": feed_server.base},
                         {"id": "sport", "url": feed_server.url("/sport/feed"), "site_url": sport}],
        site={"name": "قريش", "url": feed_server.base, "timezone": "Asia/Baghdad", **site_settings},
        accounts=[account(fake_x, "x", template="{title}", on_retract="delete")])
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    bot.poll("sport")
    theirs = Item(700, OTHER, ["رياضة"], site=sport)
    publish(feed_server, [Item(700, HEADLINE, ["سياسة"], site=feed_server.base)])
    feed_server.set("/sport/feed", rss2([theirs]))
    bot.poll("main")
    bot.poll("sport")
    bot.dispatch()
    assert sorted(t["text"] for t in fake_x.tweets) == sorted([HEADLINE, OTHER])
    return bot, theirs


def items(feed_server: FeedServer) -> tuple[Item, Item]:
    return Item(601, HEADLINE, ["سياسة"], site=feed_server.base), Item(602, OTHER, ["محليات"], site=feed_server.base)


def withdrawn_listed(bot: Bot) -> list[dict[str, Any]]:
    """The withdrawn articles ``bot status`` lists (with their posts still out)."""
    return [p for p in Operations(bot).status()["problems"] if p["kind"] == "withdrawn"]
