"""Exactly once, for real: each way an adversarial review found to post twice, late or never, as a scenario
over real sockets (local feed servers, the platform fakes, SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clock import ManualClock
from bot.config import load_config
from bot.core import Bot
from bot.models import DeliveryState
from bot.operations import Operations
from bot.platforms.bluesky import record_key
from bot.store import Store, deliveries

from .kit.articles import site_article
from .kit.configs import account, posts, sample_site, write_config
from .kit.databases import expire_claims
from .kit.e2e import publish
from .kit.fake_bluesky import FakeBluesky
from .kit.fake_mastodon import FakeMastodon
from .kit.fake_telegram import FakeTelegram
from .kit.fake_x import FakeX
from .kit.servers import FeedServer
from .kit.wordpress import SAMPLE_ITEMS, Item, rss2


def items(first: int, n: int, *, site: str = "https://news.example", pretty: bool = False,
          start: datetime | None = None) -> list[Item]:
    """``n`` articles, newest first as a feed lists them, a minute apart (the newest at ``start``)."""
    start = start or datetime(2026, 11, 29, 5, 0, tzinfo=UTC)
    return [Item(first + i, f"خبر رقم {first + i} من أخبار المحافظات", ["محليات"], site=site, pretty_guid=pretty,
                 published=start - timedelta(minutes=i)) for i in range(n)]


def console_config(tmp_path: Path, feed_server: FeedServer, **feed: object) -> Path:
    return write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed"), **feed}])


# 2. A failed catch-up page loses nothing.

@pytest.mark.parametrize("trouble", ["a 500", "a stop"])
def test_an_unfinished_catch_up_goes_on_at_the_next_poll(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock, trouble: str,
) -> None:
    old = items(800, 5, start=datetime(2026, 11, 29, 4, 0, tzinfo=UTC))
    feed_server.set("/feed", rss2(old))
    path = console_config(tmp_path, feed_server)
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")  # the first start: these are seen
    downtime = items(900, 16)  # 16 new while the bot was down: page 1 shows 10, page 2 the rest and old ones
    feed_server.set("/feed", rss2(downtime[:10]))
    stop = threading.Event()
    if trouble == "a 500":
        feed_server.set("/feed?paged=2", "oops", status=500, conditional=False)
    else:  # SIGTERM while page 2 arrives
        feed_server.set("/feed?paged=2", rss2(downtime[10:] + old[:4]), conditional=False, trickle=0.01)
        threading.Timer(0.5, stop.set).start()
    clock.advance(timedelta(hours=5))
    first = bot.poll("main", stop=stop)
    assert first.status == "ok" and first.new == 10
    bot.dispatch()
    assert len(posts(tmp_path)) == 10
    state = bot.store.feed_state("main")
    assert state is not None and state.catch_up_since is not None and state.etag is None  # not a complete poll
    # The next poll: page 2 answers now; the feed itself has not changed.
    clock.advance(timedelta(minutes=1))
    feed_server.set("/feed?paged=2", rss2(downtime[10:] + old[:4]), conditional=False)
    feed_server.set("/feed?paged=3", rss2(old[4:]), conditional=False)
    second = bot.poll("main")
    assert second.status == "ok" and second.new == 6
    bot.dispatch()
    titles = [p["title"] for p in posts(tmp_path)]
    assert sorted(titles) == sorted(i.title for i in downtime) and len(titles) == 16  # each once
    state = bot.store.feed_state("main")
    assert state is not None and state.catch_up_since is None and state.etag is not None
    assert feed_server.hits("/feed?paged=3") == []  # page 2 held articles known before the catch-up
    assert bot.poll("main").status == "not_modified"
    bot.close()


# 3. Retention never makes an old article new again.

def test_an_article_still_in_a_slow_feed_outlives_retention(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    slow = items(300, 4, start=clock.now() - timedelta(hours=1))
    feed_server.set("/feed", rss2(slow))
    path = console_config(tmp_path, feed_server)
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")  # the first start marks them seen
    clock.advance(timedelta(days=120))  # a category feed that changes once in months
    dropped = bot.prune()[1]
    assert dropped == 0  # still in the feed: kept, however old
    fresh = items(400, 1, start=clock.now())
    feed_server.set("/feed", rss2([*fresh, *slow]))
    assert bot.poll("main").new == 1
    bot.dispatch()
    assert [p["title"] for p in posts(tmp_path)] == [fresh[0].title]
    # Once an article has left the feed for the retention period, its record goes.
    clock.advance(timedelta(days=1))
    feed_server.set("/feed", rss2(fresh))
    assert bot.poll("main").status == "unchanged"  # nothing new to parse; four items left the feed
    clock.advance(timedelta(days=91))
    assert bot.prune()[1] == 4
    bot.close()


def test_an_article_older_than_retention_that_looks_new_is_not_posted(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    feed_server.set("/feed", rss2(items(500, 3, start=clock.now())))
    path = console_config(tmp_path, feed_server)
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    ancient = Item(77, "خبر قديم من أرشيف الموقع", ["أرشيف"], published=clock.now() - timedelta(days=200))
    feed_server.set("/feed", rss2([*items(500, 3, start=clock.now()), ancient]))
    assert bot.poll("main").new == 1
    bot.dispatch()
    assert posts(tmp_path) == []
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.SKIPPED and "older than the retention period" in (row.note or "")
    bot.close()


# 4. A guid change does not flood every account.

def test_http_to_https_guids_are_the_same_articles(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    feed_server.set("/feed", rss2(items(600, 10, site="http://news.example")))
    path = console_config(tmp_path, feed_server)
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    moved = items(600, 10, site="https://news.example")  # a search-and-replace rewrote every guid
    new = items(610, 1, start=datetime(2026, 11, 29, 6, 0, tzinfo=UTC))
    feed_server.set("/feed", rss2([*new, *moved]))
    result = bot.poll("main")
    assert result.new == 1
    bot.dispatch()
    assert [p["title"] for p in posts(tmp_path)] == [new[0].title]
    assert {a.guid for a in bot.store.articles()} >= {i.guid for i in moved}  # they took the new guids
    bot.close()


def test_a_flood_of_older_articles_under_new_guids_is_held_back(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    """Pretty guids on a new domain: neither post id nor link matches. They are older than what was posted,
    so they are recorded as skipped, not posted; a genuinely new article in the same poll is posted."""
    before = f"http://localhost:{feed_server.base.rsplit(':', 1)[1]}"  # the site's old address
    feed_server.set("/feed", rss2(items(620, 10, site=before, pretty=True)))
    path = console_config(tmp_path, feed_server)
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    new = items(640, 1, site=feed_server.base, pretty=True, start=datetime(2026, 11, 29, 6, 0, tzinfo=UTC))
    moved = items(620, 10, site=feed_server.base, pretty=True)[1:]  # the newest has scrolled off meanwhile
    feed_server.set("/feed", rss2([*new, *moved]))
    assert bot.poll("main").new == 10
    bot.dispatch()
    assert [p["title"] for p in posts(tmp_path)] == [new[0].title]
    held = bot.store.deliveries(state="skipped")
    assert len(held) == 9 and all("older than articles already posted" in (r.note or "") for r in held)
    report = Operations(bot).status(limit=20)
    assert any("older than articles already posted" in (r["note"] or "") for r in report["recent"])
    Operations(bot).retry(held[0].id, "editor")  # the operator posts one deliberately
    assert len(posts(tmp_path)) == 2
    bot.close()


# 5. `bot post --url` and the feed agree on identity.

@pytest.mark.parametrize("order", ["post first", "feed first"])
def test_post_by_url_and_a_permalink_guid_are_one_article(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, order: str,
) -> None:
    path = sample_site(tmp_path, feed_server, [account(fake_x, "x", template="{title}\n\n{short_link}")])
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    item = Item(420, "وزارة التربية تعلن نتائج الامتحانات الوزارية", ["تعليم"], site=feed_server.base,
                pretty_guid=True)  # published in one step: the guid is the permalink
    page = item.link.removeprefix(feed_server.base)
    feed_server.set(page, (
        "<html><head><title>وزارة التربية تعلن نتائج الامتحانات الوزارية – قريش</title>"
        f"<link rel='shortlink' href='{feed_server.base}/?p=420' /><link rel='canonical' href='{item.link}' />"
        "</head><body></body></html>"), content_type="text/html; charset=UTF-8", conditional=False)
    ops = Operations(bot)
    if order == "feed first":
        publish(feed_server, [item])
        bot.poll("main")
        bot.dispatch()
        assert len(fake_x.tweets) == 1
        results = ops.manual_post(text=None, url=feed_server.url(page), account_ids=["x"], link=None, image=None,
                                  dry_run=False, force=False, by="editor")
        [result] = results
        assert result.status == "already posted"
    else:
        [result] = ops.manual_post(text=None, url=feed_server.url(page), account_ids=["x"], link=None, image=None,
                                   dry_run=False, force=False, by="editor")
        assert result.status == "sent"
        publish(feed_server, [item])
        bot.poll("main")
        bot.dispatch()
    assert len(fake_x.tweets) == 1
    bot.close()


# 6. A repost is a new post with keys of its own.

@pytest.mark.parametrize("platform", ["mastodon", "bluesky"])
def test_repost_on_edit_posts_again_on_mastodon_and_bluesky(
    tmp_path: Path, feed_server: FeedServer, mastodon: FakeMastodon, bluesky: FakeBluesky, clock: ManualClock,
    platform: str,
) -> None:
    fake = mastodon if platform == "mastodon" else bluesky
    extra = {"image": False} if platform == "mastodon" else {"link_card": False}
    path = sample_site(tmp_path, feed_server, [account(fake, "acc", repost_on_edit=True, **extra)])
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    item = Item(430, "الحكومة تقر الموازنة", ["اقتصاد"])
    publish(feed_server, [item])
    bot.poll("main")
    bot.dispatch()
    clock.advance(timedelta(minutes=10))
    publish(feed_server, [Item(430, "الحكومة تقر الموازنة بعد تعديلها", ["اقتصاد"])])
    assert bot.poll("main").queued == 1
    [o] = bot.dispatch()
    assert o.status == "sent"
    texts = [s["text"] for s in mastodon.statuses] if platform == "mastodon" else \
        [r["text"] for r in bluesky.records.values()]
    assert len(texts) == 2 and "بعد تعديلها" in texts[-1]  # a second post, with the corrected headline
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.SENT and "بعد تعديلها" in (row.text or "")
    bot.close()


# 7. A claim does not expire mid-send, outcomes are fenced to their claim, expiry is by the database's clock.

def test_a_slow_send_keeps_its_claim_and_no_other_dispatcher_takes_it(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    path = sample_site(tmp_path, feed_server, [account(telegram, "tg", image=False, timeout="10s")],
                       dispatch_lease="5s")
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    publish(feed_server, [Item(440, "انطلاق حملة التلقيح الوطنية", ["صحة"])])
    bot.poll("main")
    telegram.answer_late("/bot", 9.0)  # one send takes longer than a lease and a half
    sending = threading.Thread(target=bot.dispatch)
    sending.start()
    time.sleep(6.5)  # past the first lease
    other = Bot.open(load_config(path), clock=ManualClock(clock.now() + timedelta(hours=1)))  # a clock ahead
    assert other.dispatch() == []  # the claim was renewed: nothing to take, nothing in doubt
    assert [r.state for r in other.store.deliveries()] == [DeliveryState.SENDING]
    sending.join(20)
    assert [r.state for r in bot.store.deliveries()] == [DeliveryState.SENT] and len(telegram.messages) == 1
    other.close()
    bot.close()


def test_an_outcome_is_recorded_only_by_the_claim_that_holds_the_row(db_url: str, clock: ManualClock) -> None:
    from bot.config import ConsoleAccount
    from bot.feeds.poll import plan_poll
    from bot.models import Validators

    a, b = Store.open(db_url), Store.open(db_url)
    article = [site_article(1, "خبر عن الطقس")]
    a.apply_poll("main", "u", clock.now(), Validators(), article,
                 lambda known, first: plan_poll(article, known, [ConsoleAccount(id="acc", platform="console")],
                                                first_start=False, backfill=0, now=clock.now()))
    first = a.claim_next(clock.now(), ["acc"], timedelta(minutes=2))
    assert first is not None and a.freeze_text(first, "نص", clock.now()) == "نص"
    assert b.claim_next(clock.now() + timedelta(hours=1), ["acc"], timedelta(minutes=2)) is None  # not expired
    assert b.recover_expired(clock.now() + timedelta(hours=1), lambda *_: True) == (0, 0)  # by the db's clock
    expire_claims(a)  # the first claim's process stalls past its lease
    assert b.recover_expired(clock.now(), lambda *_: True) == (1, 0)
    second = b.claim_next(clock.now(), ["acc"], timedelta(minutes=2))
    assert second is not None and second.attempts == first.attempts + 1
    assert not a.record_sent(first, clock.now(), "stale", None)  # the stalled claim's late outcome: refused
    assert not a.renew_claim(first.id, first.attempts, timedelta(minutes=2))
    assert a.freeze_text(first, "نص", clock.now()) is None  # it would not be sent again either
    assert b.record_sent(second, clock.now(), "fresh", None)
    [row] = a.deliveries()
    assert row.state == DeliveryState.SENT and row.remote_id == "fresh"
    a.close()
    b.close()


def test_a_mastodon_resend_after_its_idempotency_window_is_in_doubt(
    tmp_path: Path, feed_server: FeedServer, mastodon: FakeMastodon, clock: ManualClock,
) -> None:
    path = sample_site(tmp_path, feed_server, [account(mastodon, "m", image=False)])
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    publish(feed_server, [Item(450, "افتتاح معرض الكتاب الدولي", ["ثقافة"])])
    bot.poll("main")
    claimed = bot.store.claim_next(clock.now(), ["m"], timedelta(minutes=2))
    assert claimed is not None
    bot.store.freeze_text(claimed, "افتتاح معرض الكتاب الدولي", clock.now())  # then the process dies
    clock.advance(timedelta(hours=2))  # and comes back after the instance has forgotten the key
    expire_claims(bot.store)
    assert bot.dispatch() == []
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.IN_DOUBT and mastodon.statuses == []
    bot.close()


# 8. Bluesky record keys are unique per delivery.

def test_bluesky_record_keys_of_one_poll_are_unique() -> None:
    queued = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
    keys = {record_key(i, queued) for i in range(1, 50_001)}
    assert len(keys) == 50_000  # 1,024 deliveries apart no longer collide
    assert record_key(5, queued) == record_key(5, queued)  # stable across resends
    assert record_key(5, queued) != record_key(5, queued + timedelta(minutes=3))  # a repost: its own key


@settings(max_examples=3000, deadline=None)
@given(st.integers(1, 10**8), st.integers(1, 10**8), st.integers(0, 10**6), st.integers(0, 10**6))
def test_bluesky_record_keys_never_collide(a: int, b: int, sa_: int, sb: int) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    ka, kb = record_key(a, base + timedelta(seconds=sa_)), record_key(b, base + timedelta(seconds=sb))
    assert (ka == kb) == (a == b and sa_ == sb)
    assert len(ka) == 13


def test_1025_deliveries_of_one_poll_all_go_to_bluesky(
    tmp_path: Path, feed_server: FeedServer, bluesky: FakeBluesky, clock: ManualClock,
) -> None:
    """Deliveries 1 and 1025 of one poll used to share a record key: the second was taken for a duplicate."""
    path = sample_site(tmp_path, feed_server, [account(bluesky, "bsky", link_card=False)])
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    publish(feed_server, [Item(460, "خبر أول", ["محليات"]), Item(461, "خبر ثان", ["محليات"])])
    bot.poll("main")
    rows = bot.store.deliveries()
    with bot.store.engine.begin() as c:  # the two deliveries are 1,024 apart, as after a thousand others
        c.execute(sa.update(deliveries).where(deliveries.c.id == rows[1].id).values(id=rows[0].id + 1024))
    assert [o.status for o in bot.dispatch()] == ["sent", "sent"] and len(bluesky.records) == 2
    bot.close()


# 9. Two articles in one second.

def test_two_articles_published_in_one_second_are_both_posted(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    feed_server.set("/feed", rss2(SAMPLE_ITEMS), wordpress_validators=True)
    path = console_config(tmp_path, feed_server)
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    second = datetime.now(UTC).replace(microsecond=0)  # WordPress's validators: whole seconds
    a, b = Item(470, "الخبر الأول في هذه الثانية", ["محليات"]), Item(471, "الخبر الثاني في الثانية نفسها", ["محليات"])
    feed_server.set("/feed", rss2([a, *SAMPLE_ITEMS]), wordpress_validators=True, last_modified=second)
    assert bot.poll("main").new == 1  # A's ping
    feed_server.set("/feed", rss2([b, a, *SAMPLE_ITEMS]), wordpress_validators=True, last_modified=second)
    assert bot.poll("main").new == 1  # B's ping: not a 304 to A's validators
    bot.dispatch()
    assert sorted(p["title"] for p in posts(tmp_path)) == sorted([a.title, b.title])
    bot.close()


def test_a_ping_that_finds_nothing_new_looks_once_more(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    from bot.daemon import Daemon

    from .kit.runs import paused_scheduler

    feed_server.set("/feed", rss2(SAMPLE_ITEMS))
    path = console_config(tmp_path, feed_server)
    daemon = Daemon(Bot.open(load_config(path), clock=clock), path)
    daemon._scheduler = paused_scheduler()
    daemon.poll_job("main", True)  # the first start
    daemon.poll_job("main", True, ping=True)  # a ping, and the feed answers 304
    assert [j.name for j in daemon._scheduler.get_jobs()] == ["ping recheck main"]
    daemon.poll_job("main", True)  # a poll that is not a ping: no recheck
    assert len(daemon._scheduler.get_jobs()) == 1
    daemon._scheduler.shutdown(wait=False)
    daemon.bot.close()



def test_a_morning_edition_published_at_one_time_is_all_posted(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    """Posts scheduled for the same minute, published one cron run apart: not a flood of old articles."""
    old = items(650, 2, start=datetime(2026, 11, 29, 4, 0, tzinfo=UTC))
    feed_server.set("/feed", rss2(old))
    path = console_config(tmp_path, feed_server)
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    at = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
    edition = [Item(660 + i, f"نشرة الصباح: الخبر {i}", ["محليات"], published=at) for i in range(8)]
    feed_server.set("/feed", rss2([edition[0], *old]))
    bot.poll("main")
    feed_server.set("/feed", rss2([*edition[::-1], *old]))  # seven more of the same minute: most of the feed
    assert bot.poll("main").queued == 7
    bot.dispatch()
    assert sorted(p["title"] for p in posts(tmp_path)) == sorted(i.title for i in edition)
    bot.close()


def test_two_sites_with_the_same_post_ids_are_two_articles(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    """Two WordPress installs (news and sport) both have a post 96: two articles, each posted."""
    news = Item(96, "الأخبار: افتتاح المعرض", ["محليات"], site=feed_server.base)
    sport = Item(96, "الرياضة: فوز المنتخب", ["رياضة"], site=f"http://localhost:{feed_server.base.rsplit(':', 1)[1]}")
    feed_server.set("/feed", rss2(SAMPLE_ITEMS))
    feed_server.set("/sport", rss2(SAMPLE_ITEMS[:3]))
    path = write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed")},
                                         {"id": "sport", "url": feed_server.url("/sport"),
                                          "site_url": sport.site}],
                        site={"name": "قريش", "url": feed_server.base, "allowed_hosts": ["localhost"]})
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll_all()
    feed_server.set("/feed", rss2([news, *SAMPLE_ITEMS]))
    feed_server.set("/sport", rss2([sport, *SAMPLE_ITEMS[:3]]))
    assert [r.queued for r in bot.poll_all()] == [1, 1]
    bot.dispatch()
    assert sorted(p["title"] for p in posts(tmp_path)) == sorted([news.title, sport.title])
    bot.close()


def test_items_that_link_to_one_page_are_still_different_articles(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    """Live-blog updates that all link to the front page, or to one page with and without its slash."""
    feed_server.set("/feed", rss2(SAMPLE_ITEMS))
    path = console_config(tmp_path, feed_server)
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    updates = [Item(670 + i, f"تحديث مباشر رقم {i}", ["مباشر"]) for i in range(4)]
    links = ["https://news.example/", "https://news.example/", "https://news.example/live/", "https://news.example/live"]
    body = rss2([*updates, *SAMPLE_ITEMS])
    for item, link in zip(updates, links, strict=True):  # each item's <link> as the site sets it
        body = body.replace(f"<link>{item.link}</link>", f"<link>{link}</link>", 1)
    assert body.count("<link>https://news.example/live") == 2
    clock.advance(timedelta(minutes=1))
    feed_server.set("/feed", body)
    assert bot.poll("main").queued == 4
    bot.close()


def test_a_queued_mastodon_resend_after_the_window_is_in_doubt_not_posted(
    tmp_path: Path, feed_server: FeedServer, mastodon: FakeMastodon, clock: ManualClock,
) -> None:
    """The first attempt posted but its answer came too late; the retry waits past the instance's memory of the
    key (a rate limit, a stopped daemon): it is not sent again."""
    path = sample_site(tmp_path, feed_server, [account(mastodon, "m", image=False, timeout="1s")])
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    publish(feed_server, [Item(690, "وزارة النقل تفتتح خط القطار السريع", ["نقل"])])
    bot.poll("main")
    mastodon.answer_late("/api/v1/statuses", 2.0)
    [o] = bot.dispatch()
    assert o.status == "retry" and len(mastodon.statuses) == 1
    clock.advance(timedelta(hours=2))
    mastodon.idempotency.clear()  # the instance has forgotten the key
    [o] = bot.dispatch()
    assert o.status == "in_doubt" and len(mastodon.statuses) == 1
    bot.close()
