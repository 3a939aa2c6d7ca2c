"""Approvals, an editor's own text and scheduled posts, end to end over the platform fakes: a feed post the
account's ``approval:`` names waits and is never sent until a person approves it (with their own text, maybe),
a rejected one never goes, a stale one is skipped; an editor's text must fit the platform as it counts, goes out
exactly as given, and never replaces a text the platform may already have; a post made for a time waits for it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.clock import ManualClock
from bot.compose.length import count_x
from bot.config import load_config
from bot.core import Bot
from bot.models import DeliveryState
from bot.operations import Operations
from bot.store import DeliveryRow, Store

from .kit.articles import site_article
from .kit.clock import T0
from .kit.configs import account, posts, sample_site
from .kit.databases import expire_claims
from .kit.e2e import publish
from .kit.fake_mastodon import FakeMastodon
from .kit.fake_telegram import FakeTelegram
from .kit.fake_x import FakeX
from .kit.runs import Run, free_port
from .kit.servers import Answer, FeedServer
from .kit.wordpress import LONG_TITLE, Item

URGENT = Item(400, "عاجل | انفجار في مخزن للعتاد جنوب بغداد", ["عاجل", "أمن"], published=T0 - timedelta(minutes=10))
BOOKS = Item(401, "افتتاح معرض الكتاب الدولي في بغداد", ["ثقافة"], published=T0 - timedelta(minutes=5))
OWN = "انفجار في مخزن للعتاد جنوب بغداد ولا إصابات، بحسب الدفاع المدني\n\nhttps://news.example/?p=400"


def site(tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, **x: Any) -> Path:
    """The sample site with a console account (no approval) and an X account (approval for عاجل unless told)."""
    return sample_site(tmp_path, feed_server, [
        {"id": "console", "platform": "console", "output": str(tmp_path / "posts.jsonl"), "template": "{title}"},
        account(fake_x, "x", template="{title}\n\n{short_link}", **{"approval": {"categories": ["عاجل"]}, **x}),
    ])


def polled(path: Path, clock: ManualClock, feed_server: FeedServer, items: list[Item]) -> Bot:
    """A bot on ``path`` after its first start and then a poll (with its sends) that found ``items``."""
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    publish(feed_server, items)
    bot.poll("main")
    bot.dispatch()
    return bot


def row_of(bot: Bot, account_id: str, item: Item) -> DeliveryRow:
    [row] = [r for r in bot.store.deliveries(account_id=account_id) if r.title == item.title]
    return row


def titles(fake_x: FakeX) -> list[str]:
    return [t["text"].split("\n")[0] for t in fake_x.tweets]


def test_a_post_in_an_approval_category_waits_for_a_person(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, run_bot: Callable[..., Run],
) -> None:
    path = site(tmp_path, feed_server, fake_x)
    bot = polled(path, clock, feed_server, [URGENT, BOOKS])
    assert [p["text"] for p in posts(tmp_path)] == [URGENT.title, BOOKS.title]  # the console asks no approval
    assert titles(fake_x) == [BOOKS.title]
    waiting = row_of(bot, "x", URGENT)
    assert waiting.state == DeliveryState.AWAITING_APPROVAL and waiting.note == "awaiting approval (category عاجل)"
    clock.advance(timedelta(hours=3))
    assert bot.dispatch() == [] and titles(fake_x) == [BOOKS.title]  # the dispatcher never takes it
    from bot.daemon import Daemon
    from bot.metrics import Metrics

    assert "bot_awaiting_approval 1.0" in Metrics(Daemon(bot)).render().decode()
    # What it would go with (for an editor's form), composed as the dispatcher will; nothing frozen by asking.
    assert Operations(bot).composed_text(waiting.id) == f"{URGENT.title}\n\nhttps://news.example/?p=400"
    assert row_of(bot, "x", URGENT).text is None
    bot.close()
    out = run_bot("status", "--config", str(path)).out
    assert f"awaiting approval (category عاجل): bot approve {waiting.id} or bot reject {waiting.id}" in out
    assert f"approval x: 1 post(s) await approval (#{waiting.id})" in out


def test_approve_sends_it_once_and_keeps_who_in_its_history(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, run_bot: Callable[..., Run],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = site(tmp_path, feed_server, fake_x)
    bot = polled(path, clock, feed_server, [URGENT, BOOKS])
    waiting = row_of(bot, "x", URGENT)
    bot.close()
    done = run_bot("approve", str(waiting.id), "--by", "هدى", "--config", str(path))
    assert done.code == 0 and f"delivery {waiting.id} (x) is approved: sent: https://x.com/" in done.out
    assert fake_x.tweets[-1]["text"] == f"{URGENT.title}\n\nhttps://news.example/?p=400"
    run_bot("poll", "--config", str(path))
    assert titles(fake_x) == [BOOKS.title, URGENT.title]  # once
    capsys.readouterr()
    assert run_bot("approve", str(waiting.id), "--config", str(path)).code == 2
    said = capsys.readouterr().err
    assert f"delivery {waiting.id} is sent; only awaiting_approval deliveries can be approved" in said
    ops = Operations(Bot.open(load_config(path), clock=clock))
    assert [(e.event, e.by) for e in ops.post_history(waiting.id)] == [("approve", "هدى")]
    ops.bot.close()


def test_approve_with_the_editors_text_sends_exactly_that_text(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, run_bot: Callable[..., Run],
) -> None:
    path = site(tmp_path, feed_server, fake_x)
    bot = polled(path, clock, feed_server, [URGENT])
    waiting = row_of(bot, "x", URGENT)
    bot.close()
    assert run_bot("approve", str(waiting.id), "--text", f"  {OWN}\n", "--by", "هدى", "--config", str(path)).code == 0
    assert [t["text"] for t in fake_x.tweets] == [OWN]  # as given (without the white space around it)
    ops = Operations(Bot.open(load_config(path), clock=clock))
    assert [(e.event, e.by, e.detail) for e in ops.post_history(waiting.id)][1] == ("edit", "هدى", OWN)
    ops.bot.close()


def test_a_rejected_post_is_never_sent(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, run_bot: Callable[..., Run],
) -> None:
    path = site(tmp_path, feed_server, fake_x)
    bot = polled(path, clock, feed_server, [URGENT])
    waiting = row_of(bot, "x", URGENT)
    bot.close()
    done = run_bot("reject", str(waiting.id), "--reason", "خبر غير مؤكد", "--by", "محرر", "--config", str(path))
    assert done.code == 0 and "is rejected: it is never sent" in done.out
    clock.advance(timedelta(hours=1))
    run_bot("poll", "--config", str(path))
    assert fake_x.tweets == []
    assert run_bot("approve", str(waiting.id), "--config", str(path)).code == 2  # too late: it is skipped
    assert fake_x.tweets == []
    out = run_bot("status", "--config", str(path)).out
    assert f"#{waiting.id} x skipped" in out and "rejected by محرر: خبر غير مؤكد" in out


def test_stale_after_skips_a_post_that_waited_too_long_for_approval(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    """Only posts awaiting approval, nothing queued: the dispatcher still finds them stale."""
    path = sample_site(tmp_path, feed_server, [account(fake_x, "x", approval="all", stale_after="1h")])
    bot = polled(path, clock, feed_server, [URGENT, BOOKS])
    assert {r.state for r in bot.store.deliveries()} == {DeliveryState.AWAITING_APPROVAL}
    clock.advance(timedelta(minutes=30))
    bot.dispatch()
    assert {r.state for r in bot.store.deliveries()} == {DeliveryState.AWAITING_APPROVAL}  # not stale yet
    clock.advance(timedelta(minutes=40))
    bot.dispatch()
    rows = bot.store.deliveries()
    assert {r.state for r in rows} == {DeliveryState.SKIPPED} and all("stale" in (r.note or "") for r in rows)
    assert fake_x.tweets == []
    bot.close()


def test_a_repost_of_an_edited_headline_awaits_approval_too(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    path = sample_site(tmp_path, feed_server, [account(fake_x, "x", approval="all", repost_on_edit=True,
                                                       template="{title}")])
    bot = polled(path, clock, feed_server, [BOOKS])
    ops = Operations(bot)
    ops.approve(row_of(bot, "x", BOOKS).id, "هدى")
    assert titles(fake_x) == [BOOKS.title]
    edited = Item(BOOKS.post_id, "افتتاح معرض بغداد الدولي للكتاب بمشاركة 300 دار نشر", BOOKS.labels,
                  published=BOOKS.published)
    publish(feed_server, [edited])
    bot.poll("main")
    bot.dispatch()
    again = row_of(bot, "x", edited)
    assert again.state == DeliveryState.AWAITING_APPROVAL and "the headline was edited" in (again.note or "")
    assert titles(fake_x) == [BOOKS.title]
    assert "approved: sent" in ops.approve(again.id, "هدى")
    assert titles(fake_x) == [BOOKS.title, edited.title]
    bot.close()


def test_an_editors_text_must_fit_the_platform_as_it_counts(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, run_bot: Callable[..., Run],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = site(tmp_path, feed_server, fake_x)
    bot = polled(path, clock, feed_server, [])
    bot.store.hold_account("x", "held by a test", clock.now())  # its posts wait, queued
    publish(feed_server, [URGENT, BOOKS])
    bot.poll("main")
    queued, waiting = row_of(bot, "x", BOOKS), row_of(bot, "x", URGENT)
    bot.close()
    assert count_x(LONG_TITLE) > 280  # a real headline, too long for X by X's own count
    capsys.readouterr()
    for args in (("edit", str(queued.id), LONG_TITLE), ("approve", str(waiting.id), "--text", LONG_TITLE)):
        assert run_bot(*args, "--config", str(path)).code == 2
        err = capsys.readouterr().err
        assert err == f"bot: the text is {count_x(LONG_TITLE)} weighted characters (X); x takes at most 280\n"
    assert run_bot("edit", str(queued.id), " \n ", "--config", str(path)).code == 2
    assert "the text is empty" in capsys.readouterr().err
    bot = Bot.open(load_config(path), clock=clock)
    assert row_of(bot, "x", URGENT).state == DeliveryState.AWAITING_APPROVAL  # a refused approval changes nothing
    assert row_of(bot, "x", BOOKS).text is None
    bot.close()
    mine = "معرض بغداد الدولي للكتاب يفتح أبوابه اليوم بمشاركة 300 دار نشر عربية وأجنبية"
    done = run_bot("edit", str(queued.id), mine, "--by", "هدى", "--config", str(path))
    assert done.code == 0 and f"its text is now yours ({count_x(mine)}/280)" in done.out
    run_bot("release", "x", "--config", str(path))
    run_bot("poll", "--config", str(path))
    assert [t["text"] for t in fake_x.tweets] == [mine]  # as the editor wrote it: no template, no link added


def test_an_edit_is_refused_where_the_platform_may_have_the_text(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    path = sample_site(tmp_path, feed_server, [account(fake_x, "x", template="{title}"),
                                               account(telegram, "tg", template="{title}")])
    bot = polled(path, clock, feed_server, [BOOKS])
    ops = Operations(bot)
    sent = row_of(bot, "x", BOOKS)
    with pytest.raises(Exception, match=f"delivery {sent.id} is sent; only the text of queued, awaiting_approval "
                                        "deliveries can be edited"):
        ops.edit_text(sent.id, "نص آخر", "هدى")
    fake_x.fail_next(1, 503)  # X may have posted it: resent with the same text, which never changes
    telegram.fail_next("/bot", Answer(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}))
    publish(feed_server, [BOOKS, URGENT])
    bot.poll("main")
    bot.dispatch()
    resend, doubt = row_of(bot, "x", URGENT), row_of(bot, "tg", URGENT)
    assert (resend.state, resend.text, resend.maybe_posted) == (DeliveryState.QUEUED, URGENT.title, True)
    assert doubt.state == DeliveryState.IN_DOUBT
    with pytest.raises(Exception, match=f"delivery {resend.id}'s text may be on the platform already"):
        ops.edit_text(resend.id, "نص آخر", "هدى")
    with pytest.raises(Exception, match=f"delivery {doubt.id} is in_doubt; only the text of queued"):
        ops.edit_text(doubt.id, "نص آخر", "هدى")
    ops.hold("tg", "هدى")
    ops.retry(doubt.id, "هدى")  # the operator looked: it was not posted; it goes again with its frozen text
    with pytest.raises(Exception, match="may be on the platform already"):
        ops.edit_text(doubt.id, "نص آخر", "هدى")
    ops.release("tg")
    clock.advance(timedelta(hours=1))
    bot.dispatch()
    assert titles(fake_x) == [BOOKS.title, URGENT.title]  # the resend carried its own text
    assert [m["text"] for m in telegram.messages] == [BOOKS.title, URGENT.title]
    bot.close()


def test_a_post_back_from_a_send_that_surely_never_left_may_be_edited(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    """A rate limit (X's 429), or no connection at all to Telegram: the platform surely has no post, and the
    editor's text goes instead of the frozen one. (On X, Mastodon and Bluesky a failed request of any other kind
    counts as perhaps posted: their publishers need not tell, a resend being safe there.)"""
    def config(telegram_at: str) -> Path:
        return sample_site(tmp_path, feed_server, [account(fake_x, "x", template="{title}"),
                                                   account(telegram, "tg", template="{title}", base_url=telegram_at)])

    fake_x.rate_limit_next(T0 + timedelta(minutes=15))
    bot = polled(config(f"http://127.0.0.1:{free_port()}"), clock, feed_server, [BOOKS])  # Telegram unreachable
    ops = Operations(bot)
    for account_id in ("x", "tg"):
        row = row_of(bot, account_id, BOOKS)
        assert (row.state, row.text, row.maybe_posted) == (DeliveryState.QUEUED, BOOKS.title, False)
        assert "its text is now yours" in ops.edit_text(row.id, f"{OWN} ({account_id})", "هدى")
    bot.close()
    bot = Bot.open(load_config(config(telegram.base)), clock=clock)  # Telegram reachable again
    clock.advance(timedelta(hours=1))
    bot.dispatch()
    assert [t["text"] for t in fake_x.tweets] == [f"{OWN} (x)"]
    assert [m["text"] for m in telegram.messages] == [f"{OWN} (tg)"]
    bot.close()


def test_an_editors_text_on_mastodon_goes_as_a_first_attempt(
    tmp_path: Path, feed_server: FeedServer, mastodon: FakeMastodon, clock: ManualClock,
) -> None:
    """Never tried, it is no resend: not in doubt for want of a first attempt's time."""
    path = sample_site(tmp_path, feed_server, [account(mastodon, "m", approval="all")])
    bot = polled(path, clock, feed_server, [BOOKS])
    ops = Operations(bot)
    waiting = row_of(bot, "m", BOOKS)
    ops.edit_text(waiting.id, OWN, "هدى")
    clock.advance(timedelta(hours=2))  # longer than Mastodon keeps an idempotency key
    assert "approved: sent" in ops.approve(waiting.id, "هدى")
    assert [s["text"] for s in mastodon.statuses] == [OWN]
    bot.close()


def test_x_counts_and_charges_an_editors_text_by_its_own_urls(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    """With link: never the template drops the link, but an editor's text that names a domain is a post with a
    URL, as X counts and charges it: the live counter says so before, the spending after."""
    path = sample_site(tmp_path, feed_server, [account(fake_x, "x", link="never", approval="all")])
    bot = polled(path, clock, feed_server, [BOOKS])
    ops = Operations(bot)
    plain, linked = "معرض الكتاب يفتح أبوابه", "معرض الكتاب يفتح أبوابه، التفاصيل على culture.gov.iq"
    assert (ops.measure("x", plain).has_link, ops.measure("x", plain).cost_usd) == (False, 0.015)
    measured = ops.measure("x", linked)
    assert (measured.length, measured.limit, measured.fits) == (count_x(linked), 280, True)
    assert (measured.has_link, measured.cost_usd) == (True, 0.2)
    assert not ops.measure("x", LONG_TITLE).fits and not ops.measure("x", "  ").fits
    ops.approve(row_of(bot, "x", BOOKS).id, "هدى", linked)
    assert [t["text"] for t in fake_x.tweets] == [linked]
    assert [(what, micro) for _, _, micro, what in bot.store.charges()] == [("Content: Create (with URL)", 200_000)]
    bot.close()


def test_a_scheduled_post_waits_for_its_time(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, run_bot: Callable[..., Run],
) -> None:
    """09:00 in Baghdad (06:00 UTC); the post is for 12:00 there. stale_after does not count the wait."""
    path = site(tmp_path, feed_server, fake_x, stale_after="1h")
    text = "تنويه: بث مباشر لمؤتمر وزير الخارجية عند الظهر"
    done = run_bot("post", text, "--account", "x", "--at", "2026-11-29 12:00", "--by", "هدى", "--config", str(path))
    assert done.code == 0 and done.out == "x: scheduled: for 2026-11-29 12:00+0300\n"
    assert fake_x.tweets == []
    assert "scheduled for 2026-11-29 12:00:00+0300 by هدى; due 2026-11-29 12:00:00+0300" in \
        run_bot("status", "--config", str(path)).out
    clock.set(T0 + timedelta(hours=2, minutes=59))
    run_bot("poll", "--config", str(path))
    assert fake_x.tweets == []
    clock.set(T0 + timedelta(hours=3))
    run_bot("poll", "--config", str(path))
    clock.advance(timedelta(minutes=5))
    run_bot("poll", "--config", str(path))
    assert [t["text"] for t in fake_x.tweets] == [text]  # once, at its time


def test_send_now_ends_a_posts_own_wait_not_its_accounts(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    from bot.errors import UsageError

    path = site(tmp_path, feed_server, fake_x)
    bot = polled(path, clock, feed_server, [URGENT])
    ops = Operations(bot)
    [scheduled] = ops.manual_post(text="تنويه: مؤتمر صحفي عند الظهر", url=None, account_ids=["x"], link=None,
                                  image=None, dry_run=False, force=False, by="هدى", at=T0 + timedelta(hours=3))
    assert scheduled.status == "scheduled" and fake_x.tweets == []
    [row] = [r for r in bot.store.deliveries(account_id="x") if r.created_by]
    ops.hold("x", "مدير")
    assert "is due now; it waits for its account" in ops.send_now(row.id, "هدى")  # the hold still holds
    ops.release("x")
    bot.dispatch()
    assert [t["text"] for t in fake_x.tweets] == ["تنويه: مؤتمر صحفي عند الظهر"]  # no longer waiting for 12:00
    assert [e.event for e in ops.post_history(row.id)] == ["schedule", "send now"]
    with pytest.raises(UsageError, match=r"is awaiting_approval; only queued .* \(approve it: bot approve "):
        ops.send_now(row_of(bot, "x", URGENT).id, "هدى")
    bot.close()


def test_a_time_past_or_not_a_time_is_one_line_and_exit_2(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = site(tmp_path, feed_server, fake_x)
    for at in ("غدا", "2026-11-29", "2026-13-01 09:00"):
        assert run_bot("post", "خبر", "--at", at, "--config", str(path)).code == 2
        err = capsys.readouterr().err
        assert err == f"bot: --at {at!r}: expected a time such as 2026-12-02 09:00 (the site's timezone)\n"
    assert not (tmp_path / "bot.sqlite3").exists()  # refused before anything opened
    assert run_bot("post", "خبر", "--at", "2026-11-29 08:30", "--config", str(path)).code == 2
    assert capsys.readouterr().err == ("bot: 2026-11-29 08:30+0300 is in the past (it is now 2026-11-29 09:00+0300): "
                                       "give a time to come\n")
    assert run_bot("post", "خبر", "--at", "2026-11-29T10:00+03:00", "--force", "--config", str(path)).code == 2
    assert "--force is for a post sent now" in capsys.readouterr().err
    assert fake_x.tweets == []


# --- the store, on SQLite and PostgreSQL: an edit and a claim never cross, an approval is given once ----------

def one_waiting(url: str, clock: ManualClock, **settings: Any) -> tuple[Store, int]:
    from bot.config import ConsoleAccount
    from bot.feeds.poll import plan_poll
    from bot.models import Validators

    store = Store.open(url)
    found = [site_article(1, BOOKS.title)]
    store.apply_poll("main", "u", clock.now(), Validators(), found, lambda known, first: plan_poll(
        found, known, [ConsoleAccount(id="acc", platform="console", **settings)], first_start=False, backfill=0,
        now=clock.now()))
    [row] = store.deliveries()
    return store, row.id


def test_an_edit_never_crosses_a_claim(db_url: str, clock: ManualClock) -> None:
    a, delivery = one_waiting(db_url, clock)
    b = Store.open(db_url)
    now, lease = clock.now(), timedelta(minutes=2)
    first = a.claim_next(now, ["acc"], lease)
    assert first is not None and not b.edit_text(delivery, "نص المحرر", now, "هدى")  # it is being sent
    expire_claims(a)  # the claim's process stalls past its lease while composing (no text frozen yet)
    assert b.recover_expired(now, lambda *_: False) == (1, 0)  # never frozen: it never reached the platform
    assert b.edit_text(delivery, "نص المحرر", now, "هدى")
    assert a.freeze_text(first, "نص قديم", now) is None  # the stalled claim neither freezes its text nor sends
    second = b.claim_next(now, ["acc"], lease)
    assert second is not None and (second.text, second.first_tried_at) == ("نص المحرر", None)  # a first attempt
    assert b.freeze_text(second, "نص قديم", now) == "نص المحرر"  # its first try noted, the editor's text kept
    b.record_in_doubt(second, now, "no answer came")
    assert b.retry(delivery, now, "هدى")  # queued again with its frozen text, which the platform may have
    assert not b.edit_text(delivery, "نص آخر", now, "هدى")
    [row] = b.deliveries()
    assert (row.state, row.text, row.maybe_posted) == (DeliveryState.QUEUED, "نص المحرر", True)
    assert [e.event for e in b.history(delivery)] == ["edit", "retry"]
    a.close()
    b.close()


def test_an_approval_is_given_once_however_many_approve_at_once(db_url: str, clock: ManualClock) -> None:
    first, delivery = one_waiting(db_url, clock, approval="all")
    stores = [first, *(Store.open(db_url) for _ in range(5))]
    start = threading.Barrier(len(stores))

    def approve(store: Store, n: int) -> bool:
        start.wait()
        return store.approve(delivery, clock.now(), f"editor {n}", f"نص المحرر {n}" if n % 2 else None)

    with ThreadPoolExecutor(len(stores)) as pool:
        done = list(pool.map(approve, stores, range(len(stores))))
    assert done.count(True) == 1
    assert [e.event for e in first.history(delivery)].count("approve") == 1
    assert not first.reject(delivery, clock.now(), "editor 9")  # approved: too late to reject
    [row] = first.deliveries()
    assert row.state == DeliveryState.QUEUED
    for store in stores:
        store.close()


def test_an_edit_between_a_claims_read_and_its_write_is_the_text_sent(tmp_path: Path, clock: ManualClock) -> None:
    """SQLite reads the row to claim before it takes the write lock: an editor's text committed in between is
    the one the claim carries (on PostgreSQL the claim's SELECT … FOR UPDATE holds the row: the edit waits)."""
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    a, delivery = one_waiting(url, clock)
    b = Store.open(url)
    now, lease = clock.now(), timedelta(minutes=2)
    first = a.claim_next(now, ["acc"], lease)
    assert first is not None and a.freeze_text(first, "نص البوت", now) == "نص البوت"
    a.record_retry(first, now, None, "connection refused")  # surely never left: its text may still change
    edits: list[bool] = []

    def edit_first(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("UPDATE deliveries SET state") and not edits:
            edits.append(b.edit_text(delivery, "نص المحرر", now, "هدى"))

    sa.event.listen(a.engine, "before_cursor_execute", edit_first)
    claimed = a.claim_next(now, ["acc"], lease)
    sa.event.remove(a.engine, "before_cursor_execute", edit_first)
    assert edits == [True] and claimed is not None
    assert (claimed.text, claimed.first_tried_at) == ("نص المحرر", None)  # sent as the editor's first attempt
    a.close()
    b.close()
