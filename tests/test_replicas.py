"""Several replicas on one database: poll leases share the feeds, claims share the deliveries (on PostgreSQL
with FOR UPDATE SKIP LOCKED, one send at a time per account), and new articles are recorded one poll at a
time, so an article two feeds carry is queued once. The last test runs three real `bot run` processes on
PostgreSQL while 500 articles are published."""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.clock import ManualClock
from bot.models import Article, DeliveryState, Validators
from bot.store import PlannedDelivery, PollPlan, Store, feeds

from .kit.articles import site_article
from .kit.clock import T0
from .kit.configs import account, write_config
from .kit.databases import empty_postgres, expire_claims
from .kit.fake_mastodon import FakeMastodon
from .kit.fake_telegram import FakeTelegram
from .kit.fake_x import FakeX
from .kit.paths import ROOT
from .kit.runs import bot_process, free_port, wait_for
from .kit.servers import FeedServer
from .kit.wordpress import Item, rss2

INTERVAL = timedelta(minutes=1)


@pytest.fixture
def two(db_url: str) -> Iterator[tuple[Store, Store]]:
    """Two replicas' stores on one database."""
    a, b = Store.open(db_url), Store.open(db_url)
    assert a.owner != b.owner
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def two_pg(postgres_database: str) -> Iterator[tuple[Store, Store]]:
    """Two replicas' stores on PostgreSQL (SQLite serves one process; replicas share work on PostgreSQL)."""
    url = empty_postgres(postgres_database)
    a, b = Store.open(url), Store.open(url)
    yield a, b
    a.close()
    b.close()


def article(n: int, feed: str = "main") -> Article:
    return site_article(n, f"خبر رقم {n}", feed=feed, published=T0 + timedelta(seconds=n))


def queue(store: Store, items: list[Article], accounts: list[str], feed: str = "main") -> None:
    store.apply_poll(feed, "https://news.example/feed/", T0, Validators(), items, lambda known, first: PollPlan(
        new=[a for a in items if a.guid not in known],
        deliveries=[PlannedDelivery(a.guid, acc) for a in items if a.guid not in known for acc in accounts]))


# --- poll leases --------------------------------------------------------------------------------------------


def test_one_replica_at_a_time_holds_a_feeds_poll_lease(two: tuple[Store, Store]) -> None:
    a, b = two
    assert a.lease_feed("main", "u", T0, T0 + INTERVAL)
    assert not b.lease_feed("main", "u", T0, T0 + INTERVAL)
    assert a.lease_feed("main", "u", T0, T0 + INTERVAL)  # its own lease: renewed
    assert not b.lease_feed("main", "u", T0 + INTERVAL - timedelta(seconds=1), T0 + 2 * INTERVAL)
    assert b.lease_feed("main", "u", T0 + INTERVAL + timedelta(seconds=1), T0 + 2 * INTERVAL)  # expired: taken
    assert not a.lease_feed("main", "u", T0 + INTERVAL + timedelta(seconds=2), T0 + 2 * INTERVAL)
    b.release_feed("main")
    a.release_feed("other")  # releasing what one does not hold changes nothing
    assert a.lease_feed("main", "u", T0 + INTERVAL + timedelta(seconds=3), T0 + 2 * INTERVAL)


def test_a_scheduled_poll_is_skipped_when_another_replica_just_polled(two: tuple[Store, Store]) -> None:
    a, b = two
    assert a.lease_feed("main", "u", T0, T0 + INTERVAL)
    a.record_not_modified("main", "u", T0, Validators())
    a.release_feed("main")
    soon = T0 + timedelta(seconds=20)
    assert not b.lease_feed("main", "u", soon, soon + INTERVAL, polled_before=soon - INTERVAL * 0.7)
    assert b.lease_feed("main", "u", soon, soon + INTERVAL)  # asked for by name (a ping): it polls
    b.release_feed("main")
    later = T0 + timedelta(seconds=45)
    assert b.lease_feed("main", "u", later, later + INTERVAL, polled_before=later - INTERVAL * 0.7)


def test_the_lease_of_a_process_that_died_here_is_taken_over_at_once(two: tuple[Store, Store]) -> None:
    a, _ = two
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    for owner, free in ((f"{socket.gethostname()}:{dead.stdout.strip()}:gone", True),
                        (f"other-host:{os.getpid()}:alive", False),  # another machine: wait for its lease
                        (f"{socket.gethostname()}:{os.getppid()}:alive", False)):  # alive here
        with a.engine.begin() as c:
            c.execute(sa.delete(feeds))
            c.execute(sa.insert(feeds).values(id="main", url="u", initialized=True, failures=0, lease_owner=owner,
                                              leased_until=T0 + timedelta(hours=1)))
        assert (a.lease_feed("main", "u", T0, T0 + INTERVAL) is not None) is free, owner


# --- deliveries (PostgreSQL) ------------------------------------------------------------------------------------


def test_claims_pass_over_rows_another_replica_has_locked(two_pg: tuple[Store, Store]) -> None:
    a, _ = two_pg
    queue(a, [article(1), article(2)], ["x", "mastodon"])
    first = a.deliveries(account_id="x")[0]
    with a.engine.connect() as other:  # another replica in the middle of claiming this row
        tx = other.begin()
        other.execute(sa.text("SELECT id FROM deliveries WHERE id = :id FOR UPDATE"), {"id": first.id})
        got: list[object] = []
        t = threading.Thread(target=lambda: got.append(a.claim_next(T0, ["x", "mastodon"], INTERVAL)))
        t.start()
        t.join(10)
        alive = t.is_alive()
        tx.rollback()
        t.join(10)
    assert not alive, "the claim waited for a locked row instead of passing over it"
    claimed = got[0]
    assert claimed is not None and claimed.id != first.id  # type: ignore[attr-defined]


def test_replicas_send_one_post_at_a_time_per_account(two_pg: tuple[Store, Store]) -> None:
    a, b = two_pg
    queue(a, [article(1), article(2)], ["x", "mastodon"])
    one = a.claim_next(T0, ["x", "mastodon"], INTERVAL)
    assert one is not None
    other = b.claim_next(T0, ["x", "mastodon"], INTERVAL)
    assert other is not None and other.account_id != one.account_id  # not the account being sent to
    assert b.claim_next(T0, ["x", "mastodon"], INTERVAL) is None  # both accounts are busy now
    a.record_sent(one.id, T0, "1", None)
    nxt = b.claim_next(T0, ["x", "mastodon"], INTERVAL)
    assert nxt is not None and nxt.account_id == one.account_id and nxt.article.guid != one.article.guid
    # A claim that outlived its lease (its replica died) does not block the account.
    expire_claims(a)
    assert a.claim_next(T0 + 2 * INTERVAL, ["x", "mastodon"], INTERVAL) is not None


def test_concurrent_claims_never_hold_one_account_twice(two_pg: tuple[Store, Store]) -> None:
    """Replicas claiming at the same moment: per account, one claim at a time, and every delivery once."""
    a, b = two_pg
    accounts = ["x", "mastodon", "telegram"]
    queue(a, [article(n) for n in range(1, 41)], accounts)
    holding: dict[str, int] = {}
    overlaps: list[str] = []
    sent: list[int] = []
    guard = threading.Lock()

    def work(store: Store) -> None:
        while True:
            d = store.claim_next(T0, accounts, INTERVAL)
            if d is None:
                with guard:
                    if len(sent) == 120:
                        return
                time.sleep(0.001)
                continue
            with guard:
                if d.account_id in holding:
                    overlaps.append(d.account_id)
                holding[d.account_id] = d.id
            time.sleep(0.002)  # the send
            with guard:
                holding.pop(d.account_id, None)
                sent.append(d.id)
            store.record_sent(d.id, T0, str(d.id), None)

    threads = [threading.Thread(target=work, args=(s,)) for s in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert overlaps == [], f"two replicas sent to one account at once: {Counter(overlaps)}"
    assert sorted(sent) == sorted({r.id for r in a.deliveries()})  # each once


def test_two_feeds_carrying_the_same_articles_polled_at_once_queue_each_once(two_pg: tuple[Store, Store]) -> None:
    """The main feed and a category feed, polled by two replicas at the same moment."""
    a, b = two_pg
    for store, feed in ((a, "main"), (b, "local")):
        queue(store, [], ["x"], feed)  # each feed's first start is behind it
    items = [article(n) for n in range(1, 61)]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def poll(store: Store, feed: str) -> None:
        try:
            start.wait()
            queue(store, [replace(i, feed_id=feed) for i in items], ["x"], feed)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=poll, args=(a, "main")), threading.Thread(target=poll, args=(b, "local"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    rows = a.deliveries(account_id="x")
    assert len(rows) == 60 and len({r.guid for r in rows}) == 60


# --- three real replicas ----------------------------------------------------------------------------------------

ARTICLES = int(os.environ.get("BOT_REPLICA_ARTICLES", "500"))
REPLICAS = 3
TOKEN = "replica-test-token"


@pytest.mark.slow
def test_three_replicas_share_500_articles_without_duplicates_or_losses(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock, postgres_database: str,
) -> None:
    url = empty_postgres(postgres_database)
    rng = random.Random(500)
    x, mastodon, telegram = FakeX(clock, daily_cap=100_000), FakeMastodon(), FakeTelegram()
    items: list[Item] = [Item(1, "المقال الأول قبل التشغيل", ["محليات"])]
    feed_server.set("/feed", rss2(items))
    template = "{title}\n\n{short_link}"
    path = write_config(
        tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed"), "interval": "20s"}], database=url,
        server={"host": "127.0.0.1", "port": 0, "ping_token": TOKEN}, dispatch_interval="1s", log_level="info",
        accounts=[
            account(fake, id, timeout="5s", template=template)
            for id, fake in (("x", x), ("mastodon", mastodon), ("telegram", telegram))
        ])
    first = subprocess.run([sys.executable, "-m", "bot", "poll", "-v", "--config", str(path)], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == 0 and "first_start=yes" in first.stderr, first.stderr[-2000:]

    ports = [free_port() for _ in range(REPLICAS)]
    logs = [tmp_path / f"replica-{i}.log" for i in range(REPLICAS)]
    procs: list[subprocess.Popen[bytes]] = []
    watcher = Store.open(url)
    try:
        for port, log in zip(ports, logs, strict=True):
            with log.open("wb") as out:
                procs.append(bot_process("run", "--config", str(path), stderr=out, PORT=str(port)))
        for port, proc in zip(ports, procs, strict=True):
            def listening(port: int = port, proc: subprocess.Popen[bytes] = proc) -> bool:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    return True
                except OSError:
                    assert proc.poll() is None, "a replica died at start"
                    return False
            wait_for(listening, 60, "the replicas to listen")

        # WordPress's feed shows the newest 50; articles come in batches, each announced by a ping to one
        # replica or other, and the next batch waits until some replica has read this one.
        published = 1
        while published < ARTICLES:
            for _ in range(min(rng.randint(5, 25), ARTICLES - published)):
                published += 1
                items.insert(0, Item(published, f"خبر رقم {published} في اختبار النسخ المتعددة", ["عاجل"]))
            feed_server.set("/feed", rss2(items[:50]))
            port = rng.choice(ports)
            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/ping/{TOKEN}", data=b"{}"),
                                   timeout=5)
            newest = items[0]
            wait_for(lambda guid=f"https://news.example/?p={newest.post_id}":
                  watcher.known_guids("main", [guid]), 60, f"article {newest.post_id} to be read")

        expected = ARTICLES - 1

        def settled() -> bool:
            waiting = [r for r in watcher.deliveries() if r.state in (DeliveryState.QUEUED, DeliveryState.SENDING)]
            return (len(x.tweets) >= expected and len(mastodon.statuses) >= expected
                    and len(telegram.messages) >= expected and not waiting)

        wait_for(settled, 300, f"{expected} articles on every account")
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            assert proc.wait(timeout=30) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        watcher.close()
        for fake in (x, mastodon, telegram):
            fake.close()

    titles = [f"خبر رقم {n} في اختبار النسخ المتعددة" for n in range(2, ARTICLES + 1)]
    for name, texts in (("X", [t["text"] for t in x.tweets]), ("Mastodon", [s["text"] for s in mastodon.statuses]),
                        ("Telegram", [m["text"] for m in telegram.messages])):
        counts = Counter(text.split("\n")[0] for text in texts)
        assert max(counts.values()) == 1, f"{name}: duplicates {[t for t, c in counts.items() if c > 1][:5]}"
        assert sorted(counts) == sorted(titles), f"{name}: missing {sorted(set(titles) - set(counts))[:5]}"
    # The work was spread: every replica sent posts and polled the feed.
    sent = [len(re.findall(r"status=sent", log.read_text(encoding="utf-8"))) for log in logs]
    polls = [len(re.findall(r"feed=main status=ok", log.read_text(encoding="utf-8"))) for log in logs]
    print(f"\n{REPLICAS} replicas, {expected} articles × 3 accounts: sent {sent}, polls that found news {polls}")
    assert sum(sent) == 3 * expected
    assert min(sent) >= 0.05 * sum(sent), f"the sends were not spread over the replicas: {sent}"
    assert sum(1 for p in polls if p) >= 2, f"the polls were not spread over the replicas: {polls}"


def test_an_accounts_limits_hold_across_replicas(two_pg: tuple[Store, Store]) -> None:
    """Replica B decided the account could send, then replica A sent for it: B's claim asks again under the
    account's lock, after A's send is recorded, and takes nothing for that account."""
    a, b = two_pg
    queue(a, [article(1), article(2)], ["x"])

    def ready(account: str) -> bool:  # a min_interval of an hour: ready only if nothing was sent yet
        return not a.sent_times(account, T0 - timedelta(hours=1))

    assert ready("x")  # B's view before A's send
    first = a.claim_next(T0, ["x"], INTERVAL, still_ready=ready)
    assert first is not None
    a.record_sent(first.id, T0, "1", None)
    assert b.claim_next(T0, ["x"], INTERVAL, still_ready=ready) is None
    assert b.claim_next(T0, ["x"], INTERVAL) is not None  # without the check it would have sent too
