"""bot preview: the post each account would get, its length and limit; it changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import load_config
from bot.core import Bot

from .kit.configs import sample_site, write_config
from .kit.runs import Run
from .kit.servers import FeedServer
from .kit.wordpress import LONG_TITLE, SAMPLE_ITEMS


def config(tmp_path: Path, feed_server: FeedServer) -> Path:
    return sample_site(tmp_path, feed_server, accounts=[
        {"id": "x-like", "platform": "console", "count_as": "x", "template": "{title}\n\n{short_link}"},
        {"id": "tiny", "platform": "console", "max_length": 20, "url_length": None},
        {"id": "off", "platform": "console", "enabled": False, "count_as": "mastodon"},
    ])


def test_preview_json_lines(tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run]) -> None:
    result = run_bot("preview", "--config", str(config(tmp_path, feed_server)), "--limit", "3", "--json")
    assert result.code == 0
    records = [json.loads(line) for line in result.out.splitlines()]
    assert len(records) == 6  # 3 articles × 2 enabled accounts
    first = records[0]
    assert {k: first[k] for k in ("feed", "guid", "account", "platform")} == {
        "feed": "main", "guid": "https://news.example/?p=120", "account": "x-like", "platform": "console"}
    assert first["text"].endswith("https://news.example/?p=120") and first["fits"] is True
    assert first["limit"] == 280 and first["length"] == len(first["text"])  # no emoji: X counts 1 each
    long_one = next(r for r in records if r["guid"].endswith("?p=117") and r["account"] == "x-like")
    assert long_one["text"].split("\n")[0].endswith("…") and long_one["length"] <= 280
    assert not long_one["text"].startswith(LONG_TITLE)
    tiny = [r for r in records if r["account"] == "tiny"]
    assert all(r["fits"] is False and r["text"] == "" and "cannot fit in 20" in r["error"] for r in tiny)


def test_preview_changes_nothing(tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run],
                                 clock: ManualClock) -> None:
    path = config(tmp_path, feed_server)
    assert run_bot("preview", "--config", str(path)).code == 0
    bot = Bot.open(load_config(path), clock=clock)
    assert bot.store.feed_states() == [] and bot.store.articles() == [] and bot.store.deliveries() == []
    bot.close()
    # ... so the first real poll is still a first start.
    assert run_bot("poll", "--config", str(path)).code == 0
    assert (tmp_path / "posts.jsonl").exists() is False


def test_preview_filters_and_text_output(tmp_path: Path, feed_server: FeedServer,
                                         run_bot: Callable[..., Run]) -> None:
    path = config(tmp_path, feed_server)
    result = run_bot("preview", "--config", str(path), "--account", "off", "--limit", "1")
    assert result.code == 0
    assert result.out.startswith("── main → off (console) · ") and " fits · https://news.example/?p=120" in result.out
    assert SAMPLE_ITEMS[0].title in result.out
    assert run_bot("preview", "--config", str(path), "--account", "nobody").code == 2
    assert run_bot("preview", "--config", str(path), "--limit", "0").code == 2


def test_preview_of_a_broken_feed_says_so(tmp_path: Path, feed_server: FeedServer, run_bot: Callable[..., Run],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/missing")}])
    assert run_bot("preview", "--config", str(path)).code == 1
    assert "feed main: HTTP 404" in capsys.readouterr().err
