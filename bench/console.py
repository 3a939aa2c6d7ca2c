"""The console's pages with 10,000 posts in the history: each page's server time (the ``Server-Timing`` the
console sends: the session, the store's queries and rendering), median and 95th percentile over repeated loads.
The goal: at most 50 ms each.

    .venv/bin/python -m bench.console [POSTS] [LOADS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.clock import ManualClock
from tests.kit.configs import write_config
from tests.kit.console import ConsoleServer, with_console

PAGES = ["/", "/queue", "/approvals", "/history", "/history?q=الكهرباء", "/history?state=failed&page=2",
         "/accounts", "/posts/{middle}", "/live/overview", "/live/queue", "/compose"]
HEADLINES = ["عاجل | الحكومة تعلن خطة طوارئ للكهرباء", "وزير الخارجية يلتقي نظيره التركي في أنقرة",
             "ارتفاع أسعار النفط مع تراجع المخزونات الأمريكية", "منتخب العراق يتأهل إلى نهائي كأس الخليج",
             "افتتاح معرض بغداد الدولي للكتاب بمشاركة 300 دار نشر"]


def seed(server: ConsoleServer, posts: int, now: datetime) -> None:
    """``posts`` deliveries over ``posts`` articles: most sent, some failed and skipped, a few waiting and
    awaiting approval; a history event for each."""
    from bot.store.tables import articles, deliveries, events

    accounts = [a.id for a in server.bot.config.accounts]
    arts, dels, evs = [], [], []
    for n in range(1, posts + 1):
        at = now - timedelta(minutes=posts - n)
        arts.append({"id": n, "feed_id": "main", "guid": f"https://news.example/?p={n}",
                     "title": f"{HEADLINES[n % len(HEADLINES)]} ({n})", "link": f"https://news.example/?p={n}",
                     "summary": "", "author": "", "published_at": at, "labels": [], "image_urls": [],
                     "first_seen_at": at, "updated_at": at, "post_key": str(n)})
        state = ("queued" if n > posts - 30 else "awaiting_approval" if n > posts - 50 else
                 "failed" if n % 97 == 0 else "skipped" if n % 89 == 0 else "sent")
        dels.append({"id": n, "article_id": n, "account_id": accounts[n % len(accounts)], "state": state,
                     "priority": 0, "attempts": 1 if state in ("sent", "failed") else 0, "created_at": at,
                     "updated_at": at, "sent_at": at if state == "sent" else None,
                     "text": f"{HEADLINES[n % len(HEADLINES)]} https://news.example/?p={n}" if state == "sent"
                     else None,
                     "remote_url": f"https://x.com/i/web/status/{10**15 + n}" if state == "sent" else None,
                     "remote_id": str(10**15 + n) if state == "sent" else None,
                     "last_error": "403 Forbidden" if state == "failed" else None, "revision": 0})
        evs.append({"delivery_id": n, "at": at, "event": "sent" if state == "sent" else "post", "by": "bench"})
    with server.bot.store.engine.begin() as c:
        for table, rows in ((articles, arts), (deliveries, dels), (events, evs)):
            for i in range(0, len(rows), 2000):
                c.execute(sa.insert(table), rows[i:i + 2000])


def run(posts: int = 10_000, loads: int = 30) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-console-"))
    config = with_console(write_config(tmp, feeds=[{"id": "main", "url": "http://127.0.0.1:9/feed"}], accounts=[
        {"id": f"acc{n}", "platform": "console", "output": str(tmp / f"posts{n}.jsonl")} for n in range(4)],
        log_level="warning"))
    now = datetime.now(UTC).replace(microsecond=0)
    server = ConsoleServer(config, ManualClock(now))
    try:
        seed(server, posts, now)
        client = server.client("sara")
        times: dict[str, dict[str, float]] = {}
        for page in PAGES:
            samples = []
            for _ in range(loads):
                r = client.get(page.format(middle=posts // 2))
                assert r.status_code == 200, (page, r.status_code)
                samples.append(float(r.headers["Server-Timing"].split("dur=")[1]))
            samples.sort()
            times[page] = {"median_ms": statistics.median(samples),
                           "p95_ms": samples[max(0, int(len(samples) * 0.95) - 1)]}
        return {"posts": posts, "pages": times, "worst_p95_ms": max(t["p95_ms"] for t in times.values())}
    finally:
        server.close()


if __name__ == "__main__":
    result = run(*(int(a) for a in sys.argv[1:3]))
    for page, t in result["pages"].items():
        print(f"{page:35} median {t['median_ms']:6.1f} ms   p95 {t['p95_ms']:6.1f} ms")
    print(f"worst p95 {result['worst_p95_ms']:.1f} ms with {result['posts']} posts (goal ≤ 50 ms)")
