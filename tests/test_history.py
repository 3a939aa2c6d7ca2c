"""The history searched, on SQLite and PostgreSQL: by a piece of an Arabic headline (any case, ``%`` and ``_`` as
plain characters), by account, state and time, newest first, paged and counted; quick with ten thousand
deliveries."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.clock import ManualClock
from bot.config import load_config
from bot.core import Bot
from bot.errors import UsageError
from bot.models import Article, DeliveryState
from bot.operations import Operations
from bot.store import DeliveryRow, Store, articles, deliveries

from .kit.clock import T0
from .kit.configs import sample_site
from .kit.servers import FeedServer

HEADLINES = [
    "افتتاح معرض الكتاب الدولي في بغداد",
    "CENTCOM: تدريبات مشتركة في الخليج",
    "ارتفاع أسعار النفط 50% خلال عام",
    "ارتفاع الصادرات 500 مليون دولار",
    "وزارة الثقافة تعلن جوائز معرض الفنون",
    "رمز_الحملة يتصدر المنصات",
    "رمزXالحملة ليس هو",
]


def filled(url: str) -> tuple[Store, list[int]]:
    """A store with one post by hand per headline, on x and on tg alternately, one a minute (the last newest);
    the third is skipped."""
    store = Store.open(url)
    made = []
    for i, title in enumerate(HEADLINES):
        a = Article(feed_id="manual", guid=f"manual:{i}", title=title, link="", published=T0)
        ids, _ = store.add_manual([a], ["x" if i % 2 == 0 else "tg"], T0 + timedelta(minutes=i), "هدى")
        made += ids
    store.skip(made[2], T0 + timedelta(minutes=2), "هدى")
    return store, made


def titles(found: tuple[list[DeliveryRow], int]) -> tuple[list[str], int]:
    rows, total = found
    return [r.title for r in rows], total


def test_a_piece_of_a_headline_finds_it_in_any_case_and_percent_is_a_plain_character(db_url: str) -> None:
    store, _ = filled(db_url)
    assert titles(store.search("معرض")) == ([HEADLINES[4], HEADLINES[0]], 2)  # newest first, and counted
    assert titles(store.search("centcom")) == ([HEADLINES[1]], 1)
    assert titles(store.search("50%")) == ([HEADLINES[2]], 1)  # not "500 …"
    assert titles(store.search("رمز_")) == ([HEADLINES[5]], 1)  # not "رمزX…"
    assert titles(store.search("لا يوجد")) == ([], 0)
    store.close()


def test_filters_pages_and_counts(db_url: str) -> None:
    store, made = filled(db_url)
    assert titles(store.search(account_id="x")) == ([HEADLINES[6], HEADLINES[4], HEADLINES[2], HEADLINES[0]], 4)
    assert titles(store.search("ارتفاع", state=DeliveryState.SKIPPED.value)) == ([HEADLINES[2]], 1)
    assert titles(store.search(since=T0 + timedelta(minutes=3), until=T0 + timedelta(minutes=5))) == \
        ([HEADLINES[4], HEADLINES[3]], 2)  # by the last change: at or after since, before until
    pages = [store.search(offset=o, limit=3) for o in (0, 3, 6)]
    assert [total for _, total in pages] == [7, 7, 7]
    assert [r.id for rows, _ in pages for r in rows] == list(reversed(made))  # each once, newest first
    store.close()


def test_the_history_is_quick_with_ten_thousand_deliveries(db_url: str) -> None:
    store = Store.open(db_url)
    words = ["معرض", "انفجار", "وزير", "النفط", "البصرة", "مهرجان", "المنتخب", "الكهرباء", "الموازنة", "الأمطار"]
    n = 10_000
    with store.engine.begin() as c:
        c.execute(articles.insert(), [
            {"feed_id": "main", "guid": f"g{i}", "title": f"{words[i % 10]}: خبر رقم {i} عن {words[i * 7 % 10]}",
             "link": f"https://news.example/?p={i}", "summary": "", "author": "", "labels": [], "image_urls": [],
             "first_seen_at": T0, "updated_at": T0, "published_at": T0} for i in range(n)])
        ids = c.execute(sa.select(articles.c.id).order_by(articles.c.id)).scalars().all()
        c.execute(deliveries.insert(), [
            {"article_id": a, "account_id": ("x", "tg", "m")[i % 3], "state": ("sent", "skipped", "failed")[i % 3],
             "priority": 0, "attempts": 1, "created_at": T0, "updated_at": T0 + timedelta(seconds=i)}
            for i, a in enumerate(ids)])
    slowest = 0.0
    for query, kw in ((None, {}), ("معرض", {}), ("رقم 99", {"account_id": "x"}), ("وزير", {"offset": 950}),
                      (None, {"state": "failed", "since": T0 + timedelta(hours=2)})):
        started = time.perf_counter()
        rows, total = store.search(query, **kw)  # type: ignore[arg-type]
        slowest = max(slowest, time.perf_counter() - started)
        assert rows and total >= len(rows)
    assert store.search("معرض")[1] == 1000
    # Some 20 ms here on either database; the bound only catches a query that reads the table row by row in Python
    # or sorts without its index on a very slow machine.
    assert slowest < 1.0
    store.close()


def test_operations_check_what_they_are_asked(tmp_path: Path, feed_server: FeedServer, clock: ManualClock) -> None:
    ops = Operations(Bot.open(load_config(sample_site(tmp_path, feed_server)), clock=clock))
    ops.manual_post(text="افتتاح معرض الكتاب", url=None, account_ids=[], link=None, image=None, dry_run=False,
                    force=False, by="هدى")
    rows, total = ops.history("  معرض ", state="sent", since=T0 - timedelta(hours=1))
    assert total == 1 and rows[0].title == "افتتاح معرض الكتاب" and rows[0].remote_id
    assert [e.event for e in ops.post_history(rows[0].id)] == ["post"]
    for bad in ({"state": "posted"}, {"limit": 0}, {"offset": -1}, {"since": T0.replace(tzinfo=None)}):
        with pytest.raises(UsageError):
            ops.history(**bad)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="there is no delivery 99"):
        ops.post_history(99)
    ops.bot.close()
