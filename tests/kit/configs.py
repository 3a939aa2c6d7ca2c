"""Bot configs for tests: ``write_config`` (a config file in the test's folder, one console account unless
told), ``sample_site`` (the sample feed served at /feed and a config that reads it), ``account`` (the
account entry that reaches a platform fake), and ``posts`` (what the console account wrote)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from .fake_bluesky import FakeBluesky
from .fake_discord import FakeDiscord
from .fake_facebook import FakeFacebook
from .fake_instagram import FakeInstagram
from .fake_mastodon import FakeMastodon
from .fake_telegram import FakeTelegram
from .fake_threads import FakeThreads
from .fake_x import FakeX
from .servers import FakeServer, FeedServer
from .wordpress import SAMPLE_ITEMS, rss2


def write_config(tmp_path: Path, *, feeds: list[dict[str, Any]], accounts: list[dict[str, Any]] | None = None,
                 **top: Any) -> Path:
    """A config file in tmp_path with one console account (posts also appended to posts.jsonl)."""
    data: dict[str, Any] = {
        "site": {"name": "قريش", "url": "https://news.example", "timezone": "Asia/Baghdad"},
        "database": f"sqlite:///{tmp_path / 'bot.sqlite3'}",
        "feeds": feeds,
        "accounts": accounts if accounts is not None else [
            {"id": "console", "platform": "console", "output": str(tmp_path / "posts.jsonl")},
        ],
        **top,
    }
    path = tmp_path / "bot.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def sample_site(tmp_path: Path, feed_server: FeedServer, accounts: list[dict[str, Any]] | None = None, *,
                feed: dict[str, Any] | None = None, **top: Any) -> Path:
    """Serve the sample feed (``SAMPLE_ITEMS``) at /feed and write a config whose one feed, ``main``, reads it
    (with ``feed``'s settings); ``accounts`` and ``top`` as for ``write_config``."""
    feed_server.set("/feed", rss2(SAMPLE_ITEMS))
    return write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed"), **(feed or {})}],
                        accounts=accounts, **top)


def account(fake: FakeServer, id: str, **settings: Any) -> dict[str, Any]:
    """The account ``id`` on ``fake``: its platform and what reaches it (address, credentials), then
    ``settings`` (which may replace any of those)."""
    reach: dict[str, Any]
    if isinstance(fake, FakeX):
        reach = {"platform": "x", "base_url": fake.base, "credentials": fake.credentials()}
    elif isinstance(fake, FakeTelegram):
        reach = {"platform": "telegram", "bot_token": fake.token, "chat_id": f"@{fake.channel}",
                 "base_url": fake.base}
    elif isinstance(fake, FakeFacebook):
        reach = {"platform": "facebook", "page_id": fake.page_id, "page_token": fake.token, "base_url": fake.base}
    elif isinstance(fake, FakeMastodon):
        reach = {"platform": "mastodon", "instance": fake.base, "access_token": fake.token}
    elif isinstance(fake, FakeBluesky):
        reach = {"platform": "bluesky", "handle": fake.handle, "app_password": fake.password, "base_url": fake.base}
    elif isinstance(fake, FakeDiscord):
        reach = {"platform": "discord", "webhook_url": fake.webhook_url, "base_url": fake.base}
    elif isinstance(fake, FakeInstagram):
        reach = {"platform": "instagram", "user_id": fake.user_id, "access_token": fake.token, "base_url": fake.base}
    elif isinstance(fake, FakeThreads):
        reach = {"platform": "threads", "user_id": fake.user_id, "access_token": fake.token, "base_url": fake.base}
    else:
        raise TypeError(f"no account for {type(fake).__name__}")
    return {"id": id, **reach, **settings}


def posts(tmp_path: Path, name: str = "posts.jsonl") -> list[dict[str, Any]]:
    """The posts the console account appended to ``name`` in tmp_path (none if it wrote nothing)."""
    path = tmp_path / name
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
