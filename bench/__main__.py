"""The whole benchmark suite, in under five minutes: prints one table (Markdown) of every figure beside its
goal. The scale run (three minutes of a thousand feeds) goes on in the background meanwhile; it measures its
daemon's own CPU, which the others do not disturb on two cores.

    .venv/bin/python -m bench            # print the table
    .venv/bin/python -m bench --readme   # and write it into README.md, between the bench markers
"""

from __future__ import annotations

import argparse
import datetime
import re
import threading
import time
from typing import Any

from bench import cards, console, footprint, latency, peers, poll_cost, scale
from bench.common import ROOT, machine

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--readme", action="store_true", help="write the table into README.md")
    args = parser.parse_args()
    started = time.monotonic()
    results: dict[str, Any] = {}
    scaled = threading.Thread(target=lambda: results.update(scale=scale.run()), daemon=True)
    scaled.start()
    for name, step in (("poll", poll_cost.run), ("footprint", footprint.run), ("latency", latency.run),
                       ("console", console.run), ("cards", cards.run)):
        print(f"… {name}", flush=True)
        results[name] = step()
    print("… peers", flush=True)
    bin_dir = peers.ensure_peers()
    results["cycles"] = peers.cycle_costs(bin_dir)
    results["after_500"] = peers.after_a_500(bin_dir)
    print("… scale (a thousand feeds, two cycles of 60 s after the first)", flush=True)
    scaled.join()
    table = render(results, time.monotonic() - started)
    print(table)
    if args.readme:
        readme = ROOT / "README.md"
        text = readme.read_text(encoding="utf-8")
        if START not in text or END not in text:
            raise SystemExit(f"README.md has no {START} … {END} block to write into")
        readme.write_text(re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: f"{START}\n{table}\n{END}",
                                 text, flags=re.S), encoding="utf-8")
        print("README.md updated")


def render(r: dict[str, Any], seconds: float) -> str:
    poll, fp, lat, sc, cyc, bad = (r["poll"], r["footprint"], r["latency"], r["scale"], r["cycles"],
                                   r["after_500"])
    parse = poll["parse_ms"]
    rows: list[tuple[str, str, str, bool | None]] = []

    def ratio(key: str, what: str, goal: float) -> None:
        cpu, wall = poll[f"{key}_cpu_ms"], poll[f"{key}_ms"]
        rows.append((what, f"≤ {goal:g}× a parse", f"{cpu / parse:.2f}× ({cpu:.2f} ms CPU, {wall:.2f} ms wall)",
                     cpu / parse <= goal))

    ratio("feed", "poll, feed unchanged (304)", 0.10)
    ratio("moved", "poll, body changed but no item (lastBuildDate moved)", 0.20)
    ratio("new", "poll, one new item", 1.2)
    rows.append((f"{sc['feeds']} feeds every {sc['interval']:g} s, 10 % changing per cycle, {sc['cycles']} cycles: "
                 "CPU", "≤ 10 % of a core", f"{sc['cpu_share']:.1%} (RSS {sc['rss_mb']:.0f} MB)",
                 sc["cpu_share"] <= 0.10))
    rows.append(("… every cycle inside its interval", "no feed waits longer than the interval (+ its 10 % jitter)",
                 f"longest gap {sc['max_gap']:.1f} s, {sc['late']} late; {sc['polled_in_window']} of {sc['feeds']} "
                 f"polled; {sc['errors']} failed polls", sc["late"] == 0 and sc["polled_in_window"] == sc["feeds"]))
    p99 = latency.quantile(lat["ping"], 0.99)
    rows.append(("publish → post on X, with WordPress's ping", "p99 ≤ 0.2 s",
                 f"p99 {p99 * 1000:.0f} ms, p50 {latency.quantile(lat['ping'], 0.5) * 1000:.0f} ms "
                 f"({len(lat['ping'])} pings)", p99 <= 0.2))
    worst = max(lat["poll"])
    rows.append((f"publish → post on X, polling every {latency.INTERVAL:g} s", f"≤ {latency.INTERVAL + 1:g} s",
                 f"max {worst:.1f} s ({len(lat['poll'])} articles)", worst <= latency.INTERVAL + 1))
    rows.append(("idle daemon (one feed at 60 s, one X account): memory", "RSS ≤ 60 MB", f"{fp['rss_mb']:.0f} MB",
                 fp["rss_mb"] <= 60))
    rows.append(("… CPU", "≤ 0.1 %", f"{fp['idle_cpu']:.3%} over {fp['idle_seconds']:.0f} s", fp["idle_cpu"] <= 0.001))
    rows.append(("`bot --help`", "≤ 0.3 s", f"{fp['help_s']:.2f} s", fp["help_s"] <= 0.3))
    rows.append(("`bot post --dry-run`", "≤ 1.5 s", f"{fp['dry_run_s']:.2f} s", fp["dry_run_s"] <= 1.5))
    rows.append(console_row(r["console"]))
    c = r["cards"]
    rows.append(("a headline card drawn (Arabic over a photo, 1200×675 and 1080×1350)", "≤ 150 ms",
                 f"p95 {c['p95_ms']:.0f} ms, median {c['median_ms']:.0f} ms ({c['cards']} cards); "
                 f"{c['cached_ms']:.1f} ms from the cache", c["p95_ms"] <= 150))
    ours, ours_wall = cyc["bot (warm daemon)"]["cpu"], cyc["bot (warm daemon)"]["wall"]
    for peer in ("feed2toot", "feed2fedi"):
        theirs, theirs_wall = cyc[peer]["cpu"], cyc[peer]["wall"]
        rows.append((f"cycle on an unchanged feed: warm daemon vs {peer}'s cron run", "CPU ≤ 0.005×",
                     f"CPU {ours / theirs:.4f}× ({ours * 1000:.2f} ms vs {theirs * 1000:.0f} ms); wall "
                     f"{ours_wall / theirs_wall:.4f}× ({ours_wall * 1000:.2f} ms vs {theirs_wall * 1000:.0f} ms)",
                     ours / theirs <= 0.005))
    rows.append(("… this bot as a cron run (`bot poll`), for comparison", "—",
                 f"{cyc['bot']['cpu'] * 1000:.0f} ms CPU, {cyc['bot']['wall'] * 1000:.0f} ms wall", None))
    for tool in ("bot", "feed2toot", "feed2fedi"):
        b = bad[tool]
        name = "this bot" if tool == "bot" else tool
        rows.append((f"Mastodon answers 500 to the 5th of 10 new posts, then a healthy run: {name}",
                     "0 duplicates, 0 lost" if tool == "bot" else "—",
                     f"{b['duplicates']} duplicates, {b['missing']} lost" + (
                         f" (the failed post went out at its retry, {b['waited']:.0f} s later)" if tool == "bot"
                         else f" (exit codes {b['exit'][0]}, {b['exit'][1]})"),
                     (b["duplicates"] == 0 and b["missing"] == 0) if tool == "bot" else None))
    lines = [f"Measured {datetime.date.today().isoformat()} on {machine()}; the suite took {seconds / 60:.1f} min. "
             f"One feedparser parse of the WordPress feed ({poll['source']}): {parse:.1f} ms.", "",
             "| what | goal | measured | |", "| --- | --- | --- | --- |"]
    for what, goal, got, met in rows:
        lines.append(f"| {what} | {goal} | {got} | {'' if met is None else 'met' if met else '**missed**'} |")
    return "\n".join(lines)


def console_row(c: dict[str, Any]) -> tuple[str, str, str, bool]:
    worst = max(c["pages"], key=lambda p: c["pages"][p]["p95_ms"])
    return (f"console pages with {c['posts']:,} posts in the history: server time", "≤ 50 ms each",
            f"worst p95 {c['worst_p95_ms']:.0f} ms (`{worst}`), {len(c['pages'])} pages, each loaded 30 times",
            c["worst_p95_ms"] <= 50)


if __name__ == "__main__":
    main()
