"""The cost of one poll of the WordPress feed, as a ratio to one feedparser parse of the same feed.

    .venv/bin/python -m bench.poll_cost

Three cases, each the median of many polls through `Bot.poll` (the real code path: HTTP to a local server,
the poll lease, the store): the server answers 304; the body changed but no item did (only
``lastBuildDate`` moved, as on every comment); a new item at the top.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import FeedHost, median_seconds, wordpress_feed
from bot.config import load_config
from bot.core import Bot
from tests.kit.configs import write_config

N = 60


def run(n: int = N) -> dict[str, float | str]:
    """Median wall time and CPU time (this process only: the feed host runs in its own) of each kind of poll."""
    import feedparser

    body, source = wordpress_feed()
    parse = median_seconds(lambda: feedparser.parse(body), n)
    host = FeedHost()
    tmp = Path(tempfile.mkdtemp(prefix="bench-poll-"))
    feeds = [{"id": name, "url": host.url(f"/{name}")} for name in ("feed", "moved", "new")]
    bot = Bot.open(load_config(write_config(tmp, feeds=feeds, log_level="warning")))
    out: dict[str, float | str] = {"source": source, "parse_ms": parse * 1000}
    try:
        for feed, status in (("feed", "not_modified"), ("moved", "unchanged"), ("new", "ok")):
            assert bot.poll(feed).status == "ok"  # the first start

            def poll(feed: str = feed, status: str = status) -> None:
                result = bot.poll(feed)
                assert result.status == status, f"{feed}: poll status {result.status}, expected {status}"
                assert status != "ok" or result.new == 1, result

            cpu = time.process_time()
            out[f"{feed}_ms"] = median_seconds(poll, n) * 1000
            out[f"{feed}_cpu_ms"] = (time.process_time() - cpu) / (n + 3) * 1000
    finally:
        bot.close()
        host.close()
    return out


def main() -> None:
    r = run()
    parse = r["parse_ms"]
    print(f"feed: {r['source']}; one feedparser parse: {float(parse):.1f} ms")
    for key, what, goal in (("feed", "304", 0.10), ("moved", "only lastBuildDate moved", 0.20),
                            ("new", "a new item", 1.2)):
        wall, cpu = float(r[f"{key}_ms"]), float(r[f"{key}_cpu_ms"])
        print(f"{what:>24}: {wall:6.2f} ms wall = {wall / float(parse):5.2f}× a parse; CPU {cpu:6.2f} ms = "
              f"{cpu / float(parse):5.2f}× (goal ≤ {goal}×)")


if __name__ == "__main__":
    main()
