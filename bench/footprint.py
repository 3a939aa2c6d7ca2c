"""What the bot costs a small server: an idle daemon (one feed polled every 60 s, one X account) in memory
and CPU, and how long `bot --help` and `bot post --dry-run` take.

    .venv/bin/python -m bench.footprint [IDLE_SECONDS]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, FeedHost, cpu_seconds, rss_mb
from tests.kit.configs import write_config

BOT = [sys.executable, "-m", "bot"]


def run(idle: float = 60.0) -> dict[str, Any]:
    host = FeedHost()
    tmp = Path(tempfile.mkdtemp(prefix="bench-footprint-"))
    config = write_config(tmp, feeds=[{"id": "main", "url": host.url("/feed"), "interval": "60s"}], accounts=[
        {"id": "x", "platform": "x", "base_url": "http://127.0.0.1:9",
         "credentials": {"consumer_key": "k", "consumer_secret": "s", "access_token": "t",
                         "access_token_secret": "ts"}}], log_level="warning")
    proc = subprocess.Popen([*BOT, "run", "--config", str(config)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        time.sleep(5)  # started, first poll done
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(idle)
        cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
        rss = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
        host.close()
    return {"rss_mb": rss, "idle_cpu": (cpu1 - cpu0) / (t1 - t0), "idle_seconds": idle,
            "help_s": _median_wall([*BOT, "--help"], 5),
            "dry_run_s": _median_wall([*BOT, "post", "--config", str(config), "--dry-run",
                                       "خبر عاجل: اختبار زمن النشر اليدوي"], 3)}


def _median_wall(cmd: list[str], n: int) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    r = run(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0)
    print(f"idle daemon (one feed at 60 s, one X account): RSS {r['rss_mb']:.0f} MB (goal ≤ 60), "
          f"CPU {r['idle_cpu']:.3%} over {r['idle_seconds']:.0f} s (goal ≤ 0.1 %); "
          f"bot --help {r['help_s']:.2f} s (goal ≤ 0.3); bot post --dry-run {r['dry_run_s']:.2f} s (goal ≤ 1.5)")


if __name__ == "__main__":
    main()
