"""End-to-end publishing against one platform fake: ``publish`` (new articles on top of the sample feed, as
WordPress lists them) and ``EndToEnd``, one platform's setup (its account, the articles its tests publish,
an image on the site) with the ``config`` / ``publish`` / ``queued`` each platform's tests use. ``JPEG`` (or
``jpeg(n)``) is the image the site serves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.clock import ManualClock
from bot.config import load_config
from bot.core import Bot

from .configs import account, sample_site
from .servers import FakeServer, FeedServer
from .wordpress import SAMPLE_ITEMS, Item, rss2


def jpeg(repeats: int = 20) -> bytes:
    """A small body that starts as a JPEG does (``repeats`` × 256 bytes after the marker)."""
    return b"\xff\xd8\xff\xe0" + bytes(range(256)) * repeats


JPEG = jpeg()


def publish(feed_server: FeedServer, items: list[Item]) -> None:
    """Publish ``items`` (oldest first) above the sample feed's: the feed lists them newest first."""
    feed_server.set("/feed", rss2([*reversed(items), *SAMPLE_ITEMS]))


@dataclass(frozen=True)
class EndToEnd:
    """One platform's end-to-end setup: the account ``account_id`` on the fake with ``settings``, reading the
    sample feed (with ``feed``'s settings); ``new_items(base)`` are the articles its tests publish (``base``:
    the feed server's address); ``image_path``, when given, serves ``image`` as a JPEG from the start."""

    account_id: str
    new_items: Callable[[str], list[Item]]
    settings: dict[str, Any] = field(default_factory=dict)
    feed: dict[str, Any] = field(default_factory=dict)
    image_path: str | None = None
    image: bytes = JPEG

    def config(self, tmp_path: Path, feed_server: FeedServer, fake: FakeServer, **settings: Any) -> Path:
        """The config file: the sample feed, and the one account (``settings`` over the setup's own)."""
        if self.image_path is not None:
            feed_server.set(self.image_path, self.image, content_type="image/jpeg", conditional=False)
        return sample_site(tmp_path, feed_server, [account(fake, self.account_id, **{**self.settings, **settings})],
                           feed=self.feed)

    def publish(self, feed_server: FeedServer, items: list[Item] | None = None) -> None:
        """Publish ``items`` (all of ``new_items`` unless told) above the sample feed."""
        publish(feed_server, self.new_items(feed_server.base) if items is None else items)

    def queued(self, path: Path, clock: ManualClock, feed_server: FeedServer, n: int = 2) -> Bot:
        """A bot on the config ``path`` that has had its first poll and then queued the first ``n`` new items."""
        bot = Bot.open(load_config(path), clock=clock)
        bot.poll("main")
        self.publish(feed_server, self.new_items(feed_server.base)[:n])
        assert bot.poll("main").queued == n
        return bot
