"""What the benchmarks share: the WordPress feed they read, timing helpers, the machine's description."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAPTURED = ROOT.parent / "shared" / "fixtures" / "wordpress" / "rss2.xml"
DEMO = ROOT / "config" / "demo" / "feed.xml"


def wordpress_feed() -> tuple[bytes, str]:
    """The captured WordPress feed (../shared) when it is there, else the demo feed of the same shape."""
    path = CAPTURED if CAPTURED.exists() else DEMO
    return path.read_bytes(), str(path.relative_to(ROOT.parent) if path == CAPTURED else path.relative_to(ROOT))


def median_seconds(fn: Callable[[], object], n: int, warm: int = 3) -> float:
    """The median wall time of ``fn`` over ``n`` runs, after ``warm`` runs that are not counted."""
    for _ in range(warm):
        fn()
    times = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def machine() -> str:
    return f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"


class FeedHost:
    """bench.feedhost in its own process."""

    def __init__(self, interval: float = 60.0) -> None:
        import subprocess
        import sys

        from tests.kit.runs import free_port

        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.feedhost", str(self.port), "--interval",
                                      str(interval)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
