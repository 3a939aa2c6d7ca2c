"""The store: created on first start, WAL, aware UTC times, one article per (feed, guid), one delivery per
(article, account), and a clear error when the database cannot be opened."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.clock import ManualClock
from bot.config import ConsoleAccount
from bot.errors import StoreError
from bot.feeds.poll import plan_poll
from bot.models import Article, Validators
from bot.store import Store, database_url

from .kit.articles import site_article


def article(n: int, title: str = "خبر") -> Article:
    return site_article(n, f"{title} {n}")


def test_first_start_creates_the_data_folder_and_uses_wal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = database_url(None, "var")
    assert url == "sqlite:///var/bot.sqlite3"
    store = Store.open(url)
    assert (tmp_path / "var" / "bot.sqlite3").exists()
    with store.engine.connect() as c:
        assert c.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert c.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
    store.close()


def test_in_memory_is_a_throwaway_file_each_time() -> None:
    a, b = Store.open("sqlite://"), Store.open("sqlite://")
    assert a.engine.url.database != b.engine.url.database
    assert a.feed_states() == [] == b.feed_states()
    a.close()
    b.close()


def test_an_unusable_database_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot open the database"):
        Store.open(f"sqlite:///{blocker / 'sub' / 'bot.sqlite3'}")
    if os.geteuid() != 0:  # root can write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(StoreError):
            Store.open(f"sqlite:///{locked / 'bot.sqlite3'}")


def test_articles_and_deliveries_are_unique_and_times_come_back_aware(db_url: str, clock: ManualClock) -> None:
    store = Store.open(db_url)
    items = [article(1), article(2)]
    accounts = [ConsoleAccount(id=a, platform="console") for a in ("a", "b")]

    def poll(found: list[Article]):  # type: ignore[no-untyped-def]
        return store.apply_poll("main", "https://news.example/feed", clock.now(), Validators(etag='"e1"'), found,
                                lambda known, first: plan_poll(found, known, accounts, first_start=False,
                                                               backfill=0, now=clock.now()))

    plan, first, queued = poll(items)
    assert first and len(plan.new) == 2 and len(plan.deliveries) == 4 and queued == 4
    clock.advance(timedelta(minutes=1))
    plan, first, queued = poll(items)
    assert not first and plan.new == [] and plan.deliveries == [] and queued == 0
    assert len(store.articles()) == 2 and len(store.deliveries()) == 4
    # The unique constraints hold even if a plan asked twice.
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as c:
        c.execute(sa.text("INSERT INTO deliveries (article_id, account_id, state, priority, attempts, created_at, "
                          "updated_at) SELECT article_id, account_id, state, priority, attempts, created_at, "
                          "updated_at FROM deliveries LIMIT 1"))
    state = store.feed_state("main")
    assert state is not None and state.etag == '"e1"' and state.initialized
    assert state.last_success_at == clock.now() and state.last_success_at.tzinfo is not None
    store.close()


def test_retention_prunes_only_what_is_finished_and_old(db_url: str, clock: ManualClock) -> None:
    from bot.models import DeliveryState

    store = Store.open(db_url)
    accounts = [ConsoleAccount(id="a", platform="console")]
    old = [Article(feed_id="main", guid=f"https://news.example/?p={n}", title=f"خبر {n}",
                   link=f"https://news.example/?p={n}", published=clock.now()) for n in range(1, 5)]
    store.apply_poll("main", "u", clock.now(), Validators(), old,
                     lambda known, first: plan_poll(old, known, accounts, first_start=False, backfill=0,
                                                    now=clock.now()))
    rows = {r.guid[-4:]: r for r in store.deliveries()}
    store.record_sent(rows["?p=1"].id, clock.now(), "1", "https://x.com/i/web/status/1")
    store.record_failed(rows["?p=2"].id, clock.now(), "refused")
    store.record_in_doubt(rows["?p=3"].id, clock.now(), "interrupted")
    # ?p=4 stays queued
    clock.advance(timedelta(days=91))
    fresh = [Article(feed_id="main", guid="https://news.example/?p=99", title="جديد", link="https://news.example/?p=99",
                     published=clock.now())]
    store.apply_poll("main", "u", clock.now(), Validators(), fresh,
                     lambda known, first: plan_poll(fresh, known, accounts, first_start=False, backfill=0,
                                                    now=clock.now()))
    gone, dropped = store.prune(clock.now() - timedelta(days=90))
    assert (gone, dropped) == (2, 2)  # the sent and the failed ones, and their articles
    left = {r.guid[-4:]: r.state for r in store.deliveries()}
    assert left == {"?p=3": DeliveryState.IN_DOUBT, "?p=4": DeliveryState.QUEUED, "p=99": DeliveryState.QUEUED}
    assert {a.guid[-4:] for a in store.articles()} == {"?p=3", "?p=4", "p=99"}
    store.close()
