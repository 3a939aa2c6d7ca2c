"""The benchmark suite still runs (its figures are never asserted: a slow machine is not a failure). The
poll-cost bench runs with every test run, shortened; the others, slower, with `pytest -m bench`."""

from __future__ import annotations

import pytest

from bench import cards, console, footprint, latency, peers, poll_cost, scale


def test_poll_cost_measures_each_kind_of_poll() -> None:
    r = poll_cost.run(n=3)  # it asserts each poll's status (304, unchanged, one new item) as it goes
    assert {"parse_ms", "feed_ms", "moved_ms", "new_ms", "feed_cpu_ms"} <= set(r)


def test_cards_are_timed() -> None:
    r = cards.run(cards=2)
    assert r["cards"] == 2 and r["max_ms"] > 0 and r["cached_ms"] >= 0


def test_console_pages_are_timed() -> None:
    r = console.run(posts=300, loads=2)  # it asserts every page answers 200 as it goes
    assert set(r["pages"]) == set(console.PAGES) and r["worst_p95_ms"] > 0


@pytest.mark.bench
def test_latency_footprint_and_scale_run() -> None:
    lat = latency.run(pings=3, polled=1)
    assert len(lat["ping"]) == 3 and len(lat["poll"]) == 1
    fp = footprint.run(idle=1.0)
    assert fp["rss_mb"] > 0
    sc = scale.run(feeds=20, interval=10.0, cycles=1)
    assert sc["polled_in_window"] == 20 and sc["errors"] == 0


@pytest.mark.bench
def test_peers_side_by_side() -> None:
    bin_dir = peers.ensure_peers()
    assert set(peers.cycle_costs(bin_dir)) == {"feed2toot", "feed2fedi", "bot", "bot (warm daemon)"}
    assert peers.after_a_500(bin_dir)["bot"]["duplicates"] == 0
