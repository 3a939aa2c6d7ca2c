"""Editors' hands on the outbox, attacked: a text a send may have taken to X is never followed by another
(skip, retry, edit); an editor's text X already has from another post fails instead of passing for sent; a crash
before an editor's text was ever sent resends it; a rejection stands against a retry; an approval shows and sends
exactly the text approved; a post made by hand is never skipped as stale; a stale post cannot be approved; a
schedule at a time the site's clock skips or repeats is refused; and the console's sends go through the
daemon's own dispatch."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock, wall_time
from bot.config import load_config
from bot.core import Bot
from bot.errors import UsageError
from bot.operations import Operations

from .kit.clock import T0
from .kit.configs import account, sample_site
from .kit.databases import expire_claims
from .kit.e2e import publish
from .kit.fake_telegram import FakeTelegram
from .kit.fake_x import FakeX
from .kit.servers import FeedServer
from .kit.wordpress import Item

URGENT = Item(400, "عاجل | انفجار في مخزن للعتاد جنوب بغداد", ["عاجل", "أمن"], published=T0 - timedelta(minutes=10))
BOOKS = Item(401, "افتتاح معرض الكتاب الدولي في بغداد", ["ثقافة"], published=T0 - timedelta(minutes=5))


def _bot(tmp_path: Path, feed_server: FeedServer, *accounts: dict[str, object], clock: ManualClock) -> Bot:
    bot = Bot.open(load_config(sample_site(tmp_path, feed_server, list(accounts))), clock=clock)
    bot.poll("main")  # the first poll marks the sample as seen
    return bot


def test_a_text_x_may_have_is_never_followed_by_another(tmp_path: Path, feed_server: FeedServer, fake_x: FakeX,
                                                        clock: ManualClock) -> None:
    bot = _bot(tmp_path, feed_server, account(fake_x, "x", template="{title}", timeout="1s"), clock=clock)
    fake_x.hang_next(2.5, store_first=True)  # X takes the post; its answer never arrives in time
    publish(feed_server, [BOOKS])
    bot.poll("main")
    bot.dispatch()
    [row] = bot.store.deliveries(account_id="x")
    assert row.maybe_posted and len(fake_x.tweets) == 1
    ops = Operations(bot)
    with pytest.raises(UsageError, match="may be on the platform"):
        ops.edit_text(row.id, "نص المحرر", "هدى")
    ops.skip(row.id, "هدى")
    ops.hold("x", "مدير")
    ops.retry(row.id, "هدى")  # the skip and the retry keep the text X may have, and say so
    row = bot.store.delivery(row.id)  # type: ignore[assignment]
    assert row.maybe_posted and row.text is not None
    with pytest.raises(UsageError, match="may be on the platform"):
        ops.edit_text(row.id, "افتتاح معرض الكتاب الدولي في بغداد اليوم", "هدى")
    ops.release("x")
    clock.advance(timedelta(hours=1))
    bot.dispatch()
    assert len(fake_x.tweets) == 1  # X's own copy, never a second post


def test_an_editors_text_x_already_has_from_another_post_fails(tmp_path: Path, feed_server: FeedServer,
                                                               fake_x: FakeX, clock: ManualClock) -> None:
    bot = _bot(tmp_path, feed_server, account(fake_x, "x", template="{title}", approval={"categories": ["عاجل"]}),
               clock=clock)
    publish(feed_server, [URGENT, BOOKS])
    bot.poll("main")
    bot.dispatch()
    waiting = bot.store.deliveries(state="awaiting_approval")[0]
    same = "تابعوا التغطية المباشرة على موقعنا"
    fake_x.tweets.append({"id": "1", "text": same, "media_ids": [], "created": clock.now()})  # tweeted by hand
    Operations(bot).approve(waiting.id, "هدى", same)
    row = bot.store.delivery(waiting.id)
    assert row is not None and row.state == "failed" and "already has this exact text" in (row.last_error or "")


def test_a_crash_before_an_editors_text_was_sent_resends_it(tmp_path: Path, feed_server: FeedServer,
                                                            telegram: FakeTelegram, clock: ManualClock) -> None:
    bot = _bot(tmp_path, feed_server, account(telegram, "tg", template="{title}", approval="all"), clock=clock)
    publish(feed_server, [BOOKS])
    bot.poll("main")
    [row] = bot.store.deliveries()
    assert bot.store.approve(row.id, clock.now(), "هدى", "نص المحرر")
    claimed = bot.store.claim_next(clock.now(), ["tg"], timedelta(minutes=2))
    assert claimed is not None and claimed.first_tried_at is None
    expire_claims(bot.store)  # the process died before it sent anything
    bot.dispatch()
    after = bot.store.delivery(row.id)
    assert after is not None and after.state == "sent" and [m["text"] for m in telegram.messages] == ["نص المحرر"]


def test_a_rejection_stands_against_a_retry(tmp_path: Path, feed_server: FeedServer, fake_x: FakeX,
                                            clock: ManualClock) -> None:
    bot = _bot(tmp_path, feed_server, account(fake_x, "x", template="{title}", approval="all"), clock=clock)
    publish(feed_server, [BOOKS])
    bot.poll("main")
    [row] = bot.store.deliveries(account_id="x")
    ops = Operations(bot)
    ops.reject(row.id, "رئيس التحرير", "خبر غير مؤكد")
    assert "awaits approval again" in ops.retry(row.id, "متدرب")
    assert bot.store.delivery(row.id).state == "awaiting_approval"  # type: ignore[union-attr]
    bot.dispatch()
    assert fake_x.tweets == []


def test_a_stale_post_cannot_be_approved(tmp_path: Path, feed_server: FeedServer, fake_x: FakeX,
                                         clock: ManualClock) -> None:
    bot = _bot(tmp_path, feed_server, account(fake_x, "x", template="{title}", approval="all", stale_after="1h"),
               clock=clock)
    publish(feed_server, [BOOKS])
    bot.poll("main")
    [row] = bot.store.deliveries(account_id="x")
    clock.advance(timedelta(hours=2))
    with pytest.raises(UsageError, match="stale_after"):
        Operations(bot).approve(row.id, "هدى")
    assert fake_x.tweets == []


def test_a_post_made_by_hand_is_never_skipped_as_stale(tmp_path: Path, feed_server: FeedServer, fake_x: FakeX,
                                                       clock: ManualClock) -> None:
    bot = _bot(tmp_path, feed_server, account(fake_x, "x", stale_after="1h"), clock=clock)
    ops = Operations(bot)
    at = clock.now() + timedelta(hours=3)
    [scheduled] = ops.manual_post(text="موعد مؤتمر صحفي للحكومة", url=None, account_ids=["x"], link=None,
                                  image=None, dry_run=False, force=False, by="هدى", at=at)
    row = bot.store.deliveries(account_id="x")[0]
    clock.advance(timedelta(hours=2))
    ops.send_now(row.id, "هدى")  # now, two hours after it was made: still sent, not skipped as stale
    assert bot.store.delivery(row.id).state == "sent"  # type: ignore[union-attr]
    assert scheduled.status == "scheduled"


def test_schedules_at_times_the_sites_clock_skips_or_repeats_are_refused() -> None:
    cairo = ZoneInfo("Africa/Cairo")  # clocks go forward at midnight on the last Friday of April (2027-04-30)
    with pytest.raises(ValueError, match="does not happen"):
        wall_time(datetime(2027, 4, 30, 0, 30), cairo)
    with pytest.raises(ValueError, match="happens twice"):
        wall_time(datetime(2027, 10, 28, 23, 30), cairo)  # and back at midnight on the last Thursday of October
    assert wall_time(datetime(2027, 5, 1, 9, 0), cairo).utcoffset() == timedelta(hours=3)
    assert wall_time(datetime(2026, 12, 2, 9, 0), ZoneInfo("Asia/Baghdad")).utcoffset() == timedelta(hours=3)


def test_the_console_wakes_the_daemon_instead_of_sending_itself(tmp_path: Path, feed_server: FeedServer,
                                                               fake_x: FakeX, clock: ManualClock) -> None:
    bot = _bot(tmp_path, feed_server, account(fake_x, "x", template="{title}", approval="all"), clock=clock)
    publish(feed_server, [BOOKS])
    bot.poll("main")
    [row] = bot.store.deliveries(account_id="x")
    woken: list[int] = []
    ops = Operations(bot, wake=lambda: woken.append(1))
    assert "the daemon sends it" in ops.approve(row.id, "هدى")
    assert woken == [1] and fake_x.tweets == []  # nothing sent from the console's thread
    bot.dispatch()  # the daemon's pass
    assert len(fake_x.tweets) == 1


def test_an_approval_sends_exactly_the_text_the_approver_saw(tmp_path: Path, feed_server: FeedServer,
                                                            fake_x: FakeX, clock: ManualClock) -> None:
    from .kit.console import ConsoleServer, with_console

    path = with_console(sample_site(tmp_path, feed_server, [account(fake_x, "x", template="{title}",
                                                                    approval="all")]))
    server = ConsoleServer(path, clock)
    try:
        server.bot.poll("main")
        publish(feed_server, [BOOKS])
        server.bot.poll("main")
        editor = server.client("omar")
        page = editor.get("/approvals").text
        import re

        form = re.search(r'<form method="post" action="/posts/(\d+)/approve".*?</form>', page, re.S)
        assert form is not None and BOOKS.title in page
        fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form.group(0)))
        # The headline is edited in WordPress before the editor clicks "approve as is".
        publish(feed_server, [Item(BOOKS.post_id, "عنوان آخر لم يره أحد", BOOKS.labels, published=BOOKS.published)])
        server.bot.poll("main")
        import html

        assert editor.post(f"/posts/{form.group(1)}/approve", {k: html.unescape(v) for k, v in fields.items()}
                           ).status_code == 200
        assert [t["text"] for t in fake_x.tweets] == [BOOKS.title]
    finally:
        server.close()
