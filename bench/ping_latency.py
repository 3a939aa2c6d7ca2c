"""Time from WordPress's ping to the post on (a local fake) X, through the real daemon process.

    .venv/bin/python -m bench.ping_latency [N]

Starts a local feed server, the fake X from the tests and `bot run` with the ping endpoint; then N times:
publish a new item in the feed, ping, and wait for the post. Prints each latency and p50 / p99 / max.
Measured, never asserted: a slow machine is not a failure.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import ManualClock
from tests.conftest import ROOT, FeedServer, write_config
from tests.fake_x import FakeX, tweet_body_problem
from tests.wordpress import SAMPLE_ITEMS, Item, rss2

TOKEN = "bench-token"


def main(n: int = 20) -> None:
    feeds, x = FeedServer(), FakeX(ManualClock(datetime.now(UTC)), daily_cap=10_000)
    tweet_body_problem(b'{"text": "warm-up"}')  # the fake loads X's OpenAPI document once (about 0.5 s)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = Path(tempfile.mkdtemp(prefix="bench-ping-"))
    feeds.set("/feed", rss2(SAMPLE_ITEMS))
    config = write_config(tmp, feeds=[{"id": "main", "url": feeds.url("/feed"), "interval": "1h"}],
                          server={"host": "127.0.0.1", "port": port, "ping_token": TOKEN},
                          accounts=[{"id": "x", "platform": "x", "base_url": x.base, "credentials": x.credentials()}],
                          dispatch_interval="1h", log_level="warning")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--config", str(config)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.05)
        items: list[Item] = []
        latencies = []
        for i in range(n):
            items.insert(0, Item(1000 + i, f"خبر عاجل رقم {i} من قياس زمن النشر", ["عاجل"]))
            feeds.set("/feed", rss2([*items, *SAMPLE_ITEMS]))
            started = time.monotonic()
            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/ping/{TOKEN}", data=b"{}"),
                                   timeout=10)
            while len(x.tweets) <= i:
                time.sleep(0.002)
            latencies.append(time.monotonic() - started)
            print(f"ping {i + 1:3d}: {latencies[-1] * 1000:7.1f} ms")
        latencies.sort()
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
        print(f"\nping → post on X, {n} pings: p50 {p(0.5) * 1000:.1f} ms, p99 {p(0.99) * 1000:.1f} ms, "
              f"max {latencies[-1] * 1000:.1f} ms")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        feeds.close()
        x.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
