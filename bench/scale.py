"""A thousand feeds on one local host, a tenth of them changing every cycle, each polled every 60 s by one
daemon, for two cycles after the first: the daemon's CPU as a share of one core, and whether every cycle
finishes inside its interval (the polls run on a bounded pool of workers).

    .venv/bin/python -m bench.scale [FEEDS] [INTERVAL_SECONDS]
"""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import FeedHost, cpu_seconds, rss_mb
from tests.kit.configs import write_config
from tests.kit.runs import bot_process

JITTER_SHARE = 0.1  # the daemon's scheduler spreads each feed's polls by up to 10 % of the interval


def run(feeds: int = 1000, interval: float = 60.0, cycles: int = 2) -> dict[str, Any]:
    host = FeedHost(interval=interval)
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    config = write_config(tmp, feeds=[{"id": f"f{n}", "url": host.url(f"/site/{n}"), "interval": f"{interval:g}s"}
                                      for n in range(feeds)], accounts=[], log_level="warning")
    log = (tmp / "daemon.log").open("wb")
    proc = bot_process("run", "--config", str(config), stderr=log)
    try:
        # Cycle 0 is every feed's first start; then `cycles` cycles are measured.
        _wait_until(host, interval)
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        _wait_until(host, interval * (cycles + 1))
        cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
        rss = rss_mb(proc.pid)
        stats = _stats(host)
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
        host.close()
    window = (interval, interval * (cycles + 1))
    gaps = [b - a for hits in stats["hits"].values() for a, b in itertools.pairwise(hits)
            if a >= window[0] - interval]
    late = sum(1 for g in gaps if g > interval * (1 + JITTER_SHARE) + 1)
    polled = sum(1 for hits in stats["hits"].values() if any(window[0] <= h < window[1] for h in hits))
    return {"feeds": feeds, "interval": interval, "cycles": cycles, "cpu_share": (cpu1 - cpu0) / (t1 - t0),
            "max_gap": max(gaps, default=0.0), "late": late, "polled_in_window": polled, "rss_mb": rss,
            "errors": (tmp / "daemon.log").read_text(errors="replace").count(" status=error")}


def _stats(host: FeedHost) -> dict[str, Any]:
    with urllib.request.urlopen(host.url("/stats"), timeout=10) as r:
        data: dict[str, Any] = json.loads(r.read())
    return data


def _wait_until(host: FeedHost, at: float) -> None:
    while (now := _stats(host)["now"]) < at:
        time.sleep(min(5.0, at - now))


def main() -> None:
    feeds = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    interval = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
    r = run(feeds, interval)
    print(f"{r['feeds']} feeds every {r['interval']:g} s, {r['cycles']} cycles: CPU {r['cpu_share']:.1%} of one core "
          f"(goal ≤ 10 %), longest gap between two polls of a feed {r['max_gap']:.1f} s, "
          f"{r['late']} late, {r['polled_in_window']} feeds polled in the window, RSS {r['rss_mb']:.0f} MB, "
          f"{r['errors']} failed polls")


if __name__ == "__main__":
    main()
