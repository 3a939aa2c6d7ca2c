"""Time from an article's publication to its post on (a local fake) X, through the real daemon process:
with WordPress's ping, and with polling alone.

    .venv/bin/python -m bench.latency [PINGS] [POLLED]

Starts a local feed server, the fake X from the tests and `bot run` (feed interval 10 s, the shortest the
config allows, and the ping endpoint). First POLLED times: wait a random part of the interval, publish a new
item, and wait for the post without pinging (goal: at most the interval + 1 s). Then PINGS times: publish,
ping, wait for the post (goal: p99 ≤ 0.2 s). Measured, never asserted: a slow machine is not a failure.
"""

from __future__ import annotations

import random
import signal
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import ManualClock
from tests.kit.configs import account, sample_site
from tests.kit.fake_x import FakeX, tweet_body_problem
from tests.kit.runs import bot_process, free_port
from tests.kit.servers import FeedServer
from tests.kit.wordpress import SAMPLE_ITEMS, Item, rss2

TOKEN = "bench-token"
INTERVAL = 10.0


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(pings: int = 30, polled: int = 4, seed: int = 1129) -> dict[str, list[float]]:
    rng = random.Random(seed)
    feeds, x = FeedServer(), FakeX(ManualClock(datetime.now(UTC)), daily_cap=10_000)
    tweet_body_problem(b'{"text": "warm-up"}')  # the fake loads X's OpenAPI document once (about 0.5 s)
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    config = sample_site(tmp, feeds, [account(x, "x")], feed={"interval": f"{INTERVAL:g}s"},
                         server={"host": "127.0.0.1", "port": port, "ping_token": TOKEN},
                         dispatch_interval="1h", log_level="warning")
    proc = bot_process("run", "--config", str(config))
    items: list[Item] = []
    out: dict[str, list[float]] = {"ping": [], "poll": []}

    def publish(n: int) -> float:
        items.insert(0, Item(1000 + n, f"خبر عاجل رقم {n} من قياس زمن النشر", ["عاجل"]))
        feeds.set("/feed", rss2([*items, *SAMPLE_ITEMS]))
        return time.monotonic()

    def posted(count: int, since: float, timeout: float = 60.0) -> float:
        while len(x.tweets) < count:
            if time.monotonic() - since > timeout:
                raise SystemExit(f"no post within {timeout:.0f} s")
            time.sleep(0.002)
        return time.monotonic() - since

    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(1)  # the first poll (the feed's first start) is done
        for i in range(polled):
            time.sleep(rng.uniform(0, INTERVAL))
            out["poll"].append(posted(len(x.tweets) + 1, publish(i)))
        for i in range(polled, polled + pings):
            started = publish(i)
            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/ping/{TOKEN}", data=b"{}"),
                                   timeout=10)
            out["ping"].append(posted(len(x.tweets) + 1, started))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        feeds.close()
        x.close()
    return out


def main() -> None:
    pings = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    polled = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    r = run(pings, polled)
    print(f"ping → post on X, {pings} pings: p50 {quantile(r['ping'], 0.5) * 1000:.0f} ms, "
          f"p99 {quantile(r['ping'], 0.99) * 1000:.0f} ms (goal ≤ 200 ms)")
    print(f"publish → post by polling every {INTERVAL:g} s, {polled} times: "
          f"max {max(r['poll']):.1f} s (goal ≤ {INTERVAL + 1:g} s)")


if __name__ == "__main__":
    main()
