"""/metrics' gauges come from aggregate queries (COUNT, MAX), not from loading the outbox's rows: a scrape
costs the same with ten thousand deliveries as with ten, and says the same as the rows do."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.clock import ManualClock
from bot.config import load_config, parse_config
from bot.core import Bot
from bot.daemon import Daemon
from bot.feeds.poll import plan_poll
from bot.metrics import Metrics
from bot.models import Article, Validators
from bot.store import Store

from .kit.configs import write_config
from .kit.runs import paused_scheduler
from .kit.servers import FeedServer
from .kit.wordpress import SAMPLE_ITEMS, rss2

CONFIG = """
site: {name: قريش, url: https://news.example}
feeds: [{id: main, url: "https://news.example/?feed=rss2"}, {id: never, url: "https://news.example/?cat=2"}]
accounts:
  - {id: a, platform: console}
  - {id: b, platform: console}
  - {id: quiet, platform: console}
"""


def articles(n: int, clock: ManualClock) -> list[Article]:
    return [Article(feed_id="main", guid=f"https://news.example/?p={i}", title=f"خبر رقم {i}",
                    link=f"https://news.example/?p={i}", published=clock.now()) for i in range(1, n + 1)]


@pytest.fixture
def filled(db_url: str, clock: ManualClock, tmp_path: Path) -> Bot:
    config = parse_config(CONFIG, "bot.yaml", {}, tmp_path)
    store = Store.open(db_url)
    items = articles(40, clock)
    takers = [a for a in config.accounts if a.id != "quiet"]
    store.apply_poll("main", "u", clock.now(), Validators(), items,
                     lambda known, first: plan_poll(items, known, takers, first_start=False, backfill=0,
                                                    now=clock.now()))
    rows = store.deliveries()
    assert len(rows) == 80
    for i, row in enumerate(rows[:30]):  # 30 sent, a minute apart; the last of them by account b
        clock.advance(timedelta(minutes=1))
        store.record_sent(row.id, clock.now(), str(i), None)
    store.record_failed(rows[30].id, clock.now(), "refused")
    clock.advance(timedelta(minutes=5))
    return Bot(config, store, clock)


def test_the_store_counts_the_queue_and_finds_each_last_post(filled: Bot, clock: ManualClock) -> None:
    store = filled.store
    rows = store.deliveries()
    assert store.queue_depth() == sum(1 for r in rows if r.state == "queued") == 49
    sent = [r for r in rows if r.state == "sent"]
    expected = {acc: max(r.sent_at for r in sent if r.account_id == acc and r.sent_at) for acc in ("a", "b")}
    assert store.last_sent() == expected
    assert "quiet" not in store.last_sent()
    assert store.last_successes() == {"main": clock.now() - timedelta(minutes=35)}  # "never": never polled
    filled.close()


def test_a_scrape_asks_aggregates_only_and_says_what_the_rows_say(filled: Bot, clock: ManualClock) -> None:
    daemon = Daemon(filled)
    metrics = Metrics(daemon)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()).lower())

    engines = {id(e): e for e in (filled.store.engine, filled.store.light)}.values()
    for e in engines:
        sa.event.listen(e, "before_cursor_execute", seen)
    try:
        text = metrics.render().decode()
    finally:
        for e in engines:
            sa.event.remove(e, "before_cursor_execute", seen)
    assert "bot_queue_depth 49.0" in text and "bot_awaiting_approval 0.0" in text
    assert 'bot_seconds_since_last_post{account="b"} 300.0' in text  # the last post: row 30, by b
    assert 'bot_seconds_since_last_post{account="a"} 360.0' in text
    assert 'account="quiet"' not in text
    assert 'bot_seconds_since_last_successful_poll{feed="main"} 2100.0' in text
    on_outbox = [s for s in statements if "from deliveries" in s]
    assert on_outbox, statements
    for s in on_outbox:  # never the rows themselves
        assert "count(" in s or "max(" in s, s
        assert "deliveries.text" not in s and "deliveries.sent_at," not in s, s
    filled.close()


def test_health_and_metrics_speak_of_the_feeds_and_accounts_configured_now(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    """A feed removed from the config no longer makes /healthz 503, and its series leave /metrics."""
    feed_server.set("/feed", rss2(SAMPLE_ITEMS))
    feeds = [{"id": "main", "url": feed_server.url("/feed")}, {"id": "old", "url": feed_server.url("/gone")}]
    accounts = [{"id": "console", "platform": "console", "output": str(tmp_path / "posts.jsonl")},
                {"id": "retired", "platform": "console", "output": str(tmp_path / "old.jsonl")}]
    path = write_config(tmp_path, feeds=feeds, accounts=accounts, server={"port": 0, "unhealthy_after": 2})
    daemon = Daemon(Bot.open(load_config(path), clock=clock), path)
    daemon.metrics = metrics = Metrics(daemon)
    daemon._scheduler = paused_scheduler()
    for _ in range(2):
        daemon.poll_job("main")
        daemon.poll_job("old", force=True)  # /gone answers 404
    metrics.count(metrics.deliveries, "retired", "sent")
    ok, report = daemon.health()
    assert not ok and any("feed old" in p for p in report["problems"])
    assert 'feed="old"' in metrics.render().decode() and 'account="retired"' in metrics.render().decode()
    write_config(tmp_path, feeds=feeds[:1], accounts=accounts[:1], server={"port": 0, "unhealthy_after": 2})
    assert daemon.reload()
    ok, report = daemon.health()
    assert ok, report
    text = metrics.render().decode()
    assert 'feed="old"' not in text and 'account="retired"' not in text
    assert 'bot_polls_total{feed="main",status="ok"}' in text
    daemon._scheduler.shutdown(wait=False)
    daemon.bot.close()


def test_a_reload_redacts_the_new_configs_secrets(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock, capfd: pytest.CaptureFixture[str],
) -> None:
    import logging

    from bot.logs import setup_logging

    feed_server.set("/feed", rss2(SAMPLE_ITEMS))
    feeds = [{"id": "main", "url": feed_server.url("/feed")}]
    path = write_config(tmp_path, feeds=feeds, server={"port": 0, "ping_token": "first-token-1234"})
    config = load_config(path)
    setup_logging("info", None, "text", config.secrets())
    root = logging.getLogger()
    try:
        daemon = Daemon(Bot.open(config, clock=clock), path)
        daemon._scheduler = paused_scheduler()
        write_config(tmp_path, feeds=feeds, server={"port": 0, "ping_token": "rotated-token-5678"})
        assert daemon.reload()
        logging.getLogger("bot").warning("tokens: first-token-1234 rotated-token-5678")
        err = capfd.readouterr().err
        assert "tokens: *** ***" in err and "token-1234" not in err and "token-5678" not in err
        daemon._scheduler.shutdown(wait=False)
        daemon.bot.close()
    finally:
        for h in [h for h in root.handlers if getattr(h, "_bot_handler", False)]:
            root.removeHandler(h)
