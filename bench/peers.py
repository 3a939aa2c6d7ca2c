"""Side by side with two peers, feed2toot and feed2fedi, on the same feed, posting to the same local
Mastodon-compatible fake. The bench installs them from PyPI into their own virtual environment
(bench/.peers, made once).

    .venv/bin/python -m bench.peers

1. The cost of a cycle on an unchanged feed: theirs is a cron run (a process: imports, config, fetch,
   parse, compare with their cache); ours as a cron run (`bot poll`) and as a warm daemon's cycle (a poll
   of the feed and a dispatch pass, inside the running process).
2. What each does when Mastodon answers 500 in the middle of a run of ten new articles, then is healthy
   again for the next run: posts made twice, posts lost.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import ROOT, FeedHost
from tests.kit.configs import account, write_config
from tests.kit.e2e import publish
from tests.kit.fake_mastodon import FakeMastodon, error
from tests.kit.servers import Answer, FeedServer, Request
from tests.kit.wordpress import SAMPLE_ITEMS, Item, rss2

VENV = ROOT / "bench" / ".peers"
PINS = ["feed2toot==0.17", "feed2fedi==3.5.0"]
RUNS = 5


class FlakyMastodon(FakeMastodon):
    """Answers 500 to the ``fail_at``-th status post (counting from 1), once."""

    fail_at: int | None = None

    def answer(self, request: Request) -> Answer:
        if request.method == "POST" and request.path == "/api/v1/statuses" and self.fail_at is not None:
            self.fail_at -= 1
            if self.fail_at == 0:
                self.fail_at = None
                return error(500, "We're sorry, but something went wrong on our end.")
        return super().answer(request)


def ensure_peers() -> Path:
    """The peers' virtual environment (made and filled from PyPI on the first run)."""
    bin_dir = VENV / "bin"
    if not (bin_dir / "feed2toot").exists() or not (bin_dir / "feed2fedi").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        done = subprocess.run([str(bin_dir / "pip"), "install", "--quiet", "--disable-pip-version-check", *PINS],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"installing {' '.join(PINS)} from PyPI failed:\n{done.stderr[-3000:]}")
    return bin_dir


def run_child(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[int, float, float]:
    """Exit status, wall seconds and CPU seconds (user + system) of one run of a command."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, time.perf_counter() - started, usage.ru_utime + usage.ru_stime


class Setup:
    """One working folder per tool, each tool's config pointing at the feed and the fake Mastodon."""

    def __init__(self, bin_dir: Path, feed_url: str, mastodon: FakeMastodon) -> None:
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="bench-peers-"))
        self.feed_url = feed_url
        self.mastodon = mastodon
        for tool in ("feed2toot", "feed2fedi", "bot"):
            (self.dir / tool).mkdir()
        (self.dir / "feed2toot" / "client.secret").write_text(f"bench\nbench-secret\n{mastodon.base}\n")
        (self.dir / "feed2toot" / "f2t.ini").write_text(
            f"[mastodon]\ninstance_url={mastodon.base}\nuser_credentials={mastodon.token}\n"
            f"client_credentials={self.dir / 'feed2toot' / 'client.secret'}\ntoot_visibility=public\n\n"
            f"[cache]\ncachefile={self.dir / 'feed2toot' / 'cache.txt'}\n\n"
            f"[rss]\nuri={feed_url}\ntoot={{title}} {{link}}\n", encoding="utf-8")
        (self.dir / "feed2fedi" / "config.json").write_text(json.dumps({
            "feeds": [{"url": feed_url, "prefix": None, "max_attachments": 0}], "fedi_instance": mastodon.base,
            "fedi_access_token": mastodon.token, "cache_max_age": 30,
            "cache_db_path": str(self.dir / "feed2fedi" / "cache.sqlite"), "bot_post_media": False,
            "bot_post_visibility": "public", "bot_post_template": "{title}\n\n{link}"}), encoding="utf-8")
        self.bot_config = write_config(
            self.dir / "bot", feeds=[{"id": "main", "url": feed_url, "interval": "60s"}], log_level="warning",
            accounts=[account(mastodon, "mastodon", template="{title}\n\n{short_link}")])

    def command(self, tool: str, first: bool = False) -> list[str]:
        if tool == "feed2toot":
            return [str(self.bin / "feed2toot"), "-c", "f2t.ini", "--lockfile", str(self.dir / "feed2toot" / "lock"),
                    *(["--populate-cache"] if first else [])]
        if tool == "feed2fedi":
            return [str(self.bin / "feed2fedi"), "--config-file", "config.json"]
        return [sys.executable, "-m", "bot", "poll", "--config", str(self.bot_config)]

    def run(self, tool: str, first: bool = False) -> tuple[int, float, float]:
        return run_child(self.command(tool, first), self.dir / tool, {"PYTHONPATH": str(ROOT)})


def cycle_costs(bin_dir: Path) -> dict[str, dict[str, float]]:
    """Median wall and CPU seconds of a cycle on an unchanged feed, per tool."""
    host, mastodon = FeedHost(), FakeMastodon()
    setup = Setup(bin_dir, host.url("/feed"), mastodon)
    out: dict[str, dict[str, float]] = {}
    try:
        for tool in ("feed2toot", "feed2fedi", "bot"):
            setup.run(tool, first=True)  # what the feed holds is now seen (feed2fedi posts it once)
            runs = [setup.run(tool) for _ in range(RUNS)]
            assert all(rc == 0 for rc, _, _ in runs), f"{tool} failed: {runs}"
            out[tool] = {"wall": statistics.median(r[1] for r in runs), "cpu": statistics.median(r[2] for r in runs)}
        out["bot (warm daemon)"] = _warm_cycle(setup.bot_config)
    finally:
        host.close()
        mastodon.close()
    return out


def _warm_cycle(config_path: Path) -> dict[str, float]:
    """A running daemon's cycle: one poll of the (unchanged) feed and one dispatch pass, in this process."""
    from bot.config import load_config
    from bot.core import Bot

    bot = Bot.open(load_config(config_path))
    try:
        bot.poll("main")
        bot.dispatch()
        walls, cpus = [], []
        for _ in range(50):
            wall, cpu = time.perf_counter(), time.process_time()
            assert bot.poll("main").status in ("not_modified", "unchanged")
            bot.dispatch()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
    finally:
        bot.close()
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus)}


NEW = [Item(700 + n, f"خبر جديد رقم {n} في تجربة الخطأ ٥٠٠", ["محليات"]) for n in range(1, 11)]


def after_a_500(bin_dir: Path) -> dict[str, dict[str, Any]]:
    """Ten new articles; Mastodon answers 500 to the fifth post of the run; the next run finds it healthy."""
    out: dict[str, dict[str, Any]] = {}
    for tool in ("feed2toot", "feed2fedi", "bot"):
        feeds, mastodon = FeedServer(), FlakyMastodon()
        try:
            feeds.set("/feed", rss2(SAMPLE_ITEMS))
            setup = Setup(bin_dir, feeds.url("/feed"), mastodon)
            setup.run(tool, first=True)
            mastodon.statuses.clear()
            publish(feeds, NEW)
            mastodon.fail_at = 5
            first = setup.run(tool)[0]
            second = setup.run(tool)[0]
            waited = 0.0
            if tool == "bot":  # the failed post waits for its retry time (backoff from 30 s): poll until then
                started = time.monotonic()
                while _missing(mastodon) and time.monotonic() - started < 150:
                    time.sleep(5)
                    setup.run(tool)
                waited = time.monotonic() - started
            counts = Counter(t for s in mastodon.statuses for t in _titles(s["text"]))
            out[tool] = {"exit": (first, second), "duplicates": sum(c - 1 for c in counts.values() if c > 1),
                         "missing": len(_missing(mastodon)), "posted": len(mastodon.statuses), "waited": waited}
        finally:
            feeds.close()
            mastodon.close()
    return out


def _titles(text: str) -> list[str]:
    return [i.title for i in NEW if i.title in text]


def _missing(mastodon: FakeMastodon) -> list[str]:
    posted = {t for s in mastodon.statuses for t in _titles(s["text"])}
    return [i.title for i in NEW if i.title not in posted]


def main() -> None:
    bin_dir = ensure_peers()
    costs = cycle_costs(bin_dir)
    ours = costs["bot (warm daemon)"]["cpu"]
    print("cycle on an unchanged feed (median of runs): wall, CPU, and our warm daemon's CPU as a share of theirs")
    for tool, c in costs.items():
        share = "" if tool.startswith("bot") else f"; ours = {ours / c['cpu']:.4f}× theirs"
        print(f"  {tool:>18}: wall {c['wall'] * 1000:8.2f} ms, CPU {c['cpu'] * 1000:8.2f} ms{share}")
    print("a 500 from Mastodon at the 5th of 10 new posts, then a healthy next run:")
    for tool, r in after_a_500(bin_dir).items():
        extra = f" (the 500'd post went out at its retry, {r['waited']:.0f} s later)" if tool == "bot" else ""
        print(f"  {tool:>9}: exit codes {r['exit']}, {r['posted']} posts, {r['duplicates']} duplicates, "
              f"{r['missing']} lost{extra}")


if __name__ == "__main__":
    main()
