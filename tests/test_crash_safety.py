"""Crash safety, proven: the daemon runs as a real process against the fakes while articles flow, and is
killed with SIGKILL at random moments, again and again, then restarted. In the end every article is on X
and on Mastodon exactly once; on Telegram (no idempotency) every article is posted once or shows as
in_doubt, and none is posted twice.

CI runs a bounded version (40 articles, 12 kills). The full one, by hand:
    BOT_CRASH_ARTICLES=200 BOT_CRASH_KILLS=50 .venv/bin/python -m pytest tests/test_crash_safety.py
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import load_config
from bot.core import Bot
from bot.models import DeliveryState

from .kit.configs import account, write_config
from .kit.fake_mastodon import FakeMastodon
from .kit.fake_telegram import FakeTelegram
from .kit.fake_x import FakeX
from .kit.paths import ROOT
from .kit.runs import bot_process, free_port, wait_for
from .kit.servers import FeedServer
from .kit.wordpress import Item, rss2

ARTICLES = int(os.environ.get("BOT_CRASH_ARTICLES", "40"))
KILLS = int(os.environ.get("BOT_CRASH_KILLS", "12"))
TOKEN = "crash-test-token"


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_and_posts_nothing_twice(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock, db_url: str,
) -> None:
    """On SQLite and on PostgreSQL."""
    rng = random.Random(20261129)
    x, mastodon, telegram = FakeX(clock, daily_cap=100_000), FakeMastodon(), FakeTelegram()
    port = free_port()
    items: list[Item] = [Item(1, "المقال الأول قبل التشغيل", ["محليات"])]
    feed_server.set("/feed", rss2(items))
    path = write_config(
        tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed"), "interval": "1h"}],
        server={"host": "127.0.0.1", "port": port, "ping_token": TOKEN}, dispatch_interval="1s",
        dispatch_lease="5s", log_level="warning", database=db_url,
        accounts=[
            account(fake, id, timeout="2s", template="{title}\n\n{short_link}")
            for id, fake in (("x", x), ("mastodon", mastodon), ("telegram", telegram))
        ])
    log = (tmp_path / "daemon.log").open("ab")

    def start() -> subprocess.Popen[bytes]:
        proc = bot_process("run", "--config", str(path), stderr=log)

        def healthy() -> bool:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                return True
            except OSError:
                return proc.poll() is not None  # died: the wait below will fail on it

        wait_for(healthy, 60, "the daemon to listen")
        assert proc.poll() is None, (tmp_path / "daemon.log").read_text(errors="replace")[-2000:]
        return proc

    def ping() -> None:
        with contextlib.suppress(OSError):  # killed meanwhile: that is the point
            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/ping/{TOKEN}", data=b"{}"),
                                   timeout=2)

    # The feed's first start (which only marks what the feed holds as seen) happens before the kills: the
    # proof is about a bot in service, where every new article is owed to every account.
    first = subprocess.run([sys.executable, "-m", "bot", "poll", "-v", "--config", str(path)], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == 0 and "first_start=yes" in first.stderr, first.stderr[-2000:]
    proc: subprocess.Popen[bytes] | None = None
    try:
        published = 1
        for _ in range(KILLS):
            proc = start()
            batch = rng.randint(1, max(1, 2 * (ARTICLES - 1) // KILLS))
            for _ in range(batch):
                if published < ARTICLES:
                    published += 1
                    items.insert(0, Item(published, f"خبر رقم {published} في اختبار الانهيار", ["عاجل"]))
            feed_server.set("/feed", rss2(items))
            ping()
            time.sleep(rng.uniform(0.0, 0.4))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        while published < ARTICLES:  # the rest, then a last run that is not killed
            published += 1
            items.insert(0, Item(published, f"خبر رقم {published} في اختبار الانهيار", ["عاجل"]))
        feed_server.set("/feed", rss2(items))
        proc = start()
        ping()
        expected = ARTICLES - 1  # the first article was there at the first start: marked seen

        def done() -> bool:  # everything settled: nothing queued or in flight (claims of killed runs expired)
            return len(x.tweets) >= expected and len(mastodon.statuses) >= expected and _unsettled(path, clock) == 0

        wait_for(done, 120, f"{expected} articles on every platform")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        log.close()
        for fake in (x, mastodon, telegram):
            fake.close()

    titles = [f"خبر رقم {n} في اختبار الانهيار" for n in range(2, ARTICLES + 1)]
    for name, texts in (("X", [t["text"] for t in x.tweets]), ("Mastodon", [s["text"] for s in mastodon.statuses])):
        counts = Counter(text.split("\n")[0] for text in texts)
        assert sorted(counts) == sorted(titles), f"{name}: missing or extra posts"
        assert max(counts.values()) == 1, f"{name}: duplicates {[t for t, c in counts.items() if c > 1]}"
    telegram_counts = Counter(m["text"].split("\n")[0] for m in telegram.messages)
    assert max(telegram_counts.values(), default=1) == 1, "Telegram: a post went out twice"
    bot = Bot.open(load_config(path), clock=clock)
    rows = bot.store.deliveries(account_id="telegram")
    assert sorted(r.title for r in rows) == sorted(titles)
    for row in rows:
        assert row.state in (DeliveryState.SENT, DeliveryState.IN_DOUBT), row
        if row.state == DeliveryState.SENT:
            assert telegram_counts[row.title] == 1  # sent means posted, once
    # Nothing silent: every in-doubt delivery says what to do, and bot status lists it.
    for row in bot.store.deliveries(state="in_doubt"):
        assert "retry or skip" in (row.note or "")
    bot.close()
    print(f"\n{KILLS} kills, {ARTICLES - 1} articles: X {len(x.tweets)}, Mastodon {len(mastodon.statuses)}, "
          f"Telegram {len(telegram.messages)} sent + {sum(r.state == 'in_doubt' for r in rows)} in doubt")


def _unsettled(path: Path, clock: ManualClock) -> int:
    """Deliveries still waiting or in flight (a killed run's claim lasts until its lease expires)."""
    bot = Bot.open(load_config(path), clock=clock)
    try:
        rows = bot.store.deliveries()
        return sum(r.state in (DeliveryState.QUEUED, DeliveryState.SENDING) for r in rows) + (0 if rows else 1)
    finally:
        bot.close()
