"""Corrections and retractions at their edges, each found by an adversarial review: a repost waiting when the story
is withdrawn, a send that may have posted, a post whose id is unknown, two sites sharing one secret, a correction
during an update (two replicas), a person's deletion and a repost, the REST check's budget, a repost's earlier post
the platform keeps, a correction during a retry, the idle pass's cost. Over real sockets, with the fakes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.clock import ManualClock
from bot.config import load_config
from bot.core import Bot
from bot.models import DeliveryState
from bot.operations import Operations
from bot.revise import LEASE

from .kit.configs import account, sample_site
from .kit.e2e import publish
from .kit.fake_telegram import FakeTelegram
from .kit.fake_x import FakeX
from .kit.revising import (
    CORRECTED,
    HEADLINE,
    NOT_PUBLIC,
    WordPressREST,
    items,
    posted,
    site,
    two_sites,
    withdrawn_listed,
)
from .kit.servers import Answer, FeedServer, Seen
from .kit.wordpress import Item


def test_a_withdrawal_deletes_the_first_post_of_a_repost_that_waits(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}", on_edit="repost",
                                                      on_retract="delete", approval={"categories": ["عاجل"]})])
    first, _ = items(feed_server)
    posted(bot, feed_server, clock, first)
    publish(feed_server, [Item(601, CORRECTED, ["سياسة", "عاجل"], site=feed_server.base)])
    bot.poll("main")
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.AWAITING_APPROVAL  # the repost waits for a person
    assert bot.retractions.notice("trash", 601, "") == 1
    [o] = bot.dispatch()
    assert o.status == "deleted" and fake_x.tweets == []  # the first post, still out, is deleted
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.SKIPPED and [e.event for e in bot.store.history(row.id)][-2:] == [
        "withdrawn", "withdraw"]
    assert withdrawn_listed(bot) == []
    bot.close()


def test_a_withdrawal_flags_the_first_post_of_a_repost_that_waits(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}", on_edit="repost",
                                                      approval={"categories": ["عاجل"]})])
    first, _ = items(feed_server)
    posted(bot, feed_server, clock, first)
    tweet = fake_x.tweets[0]
    publish(feed_server, [Item(601, CORRECTED, ["سياسة", "عاجل"], site=feed_server.base)])
    bot.poll("main")
    bot.retractions.notice("trash", 601, "")
    [listed] = withdrawn_listed(bot)
    [post] = listed["posts"]
    assert post["url"] and post["url"].endswith(tweet["id"]) and not post["deleting"]  # the one out, shown
    assert Operations(bot).withdraw(post["id"], "هدى").startswith("deleted 1 of 1") and fake_x.tweets == []
    bot.close()


def test_a_send_that_may_have_posted_is_in_doubt_when_its_story_is_withdrawn(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}", on_retract="delete",
                                                      timeout="1s")])
    first, _ = items(feed_server)
    publish(feed_server, [first])
    bot.poll("main")
    fake_x.hang_next(3, store_first=True)  # X posts it; its answer never reaches the bot
    [o] = bot.dispatch()
    assert o.status == "retry" and [t["text"] for t in fake_x.tweets] == [HEADLINE]
    bot.retractions.notice("trash", 601, "")
    clock.advance(timedelta(minutes=5))
    assert bot.dispatch() == []  # not resent: the story is withdrawn
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.IN_DOUBT and "may have posted it" in (row.note or "")
    problems = Operations(bot).status()["problems"]
    assert [p["id"] for p in problems if p["kind"] == "delivery"] == [row.id]  # a person is asked to look
    bot.close()


def test_a_post_whose_id_is_unknown_is_never_taken_for_deleted(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}", on_retract="delete",
                                                      timeout="1s")])
    first, _ = items(feed_server)
    publish(feed_server, [first])
    bot.poll("main")
    fake_x.hang_next(3, store_first=True)
    bot.dispatch()
    clock.advance(timedelta(minutes=2))
    [o] = bot.dispatch()
    assert o.status == "duplicate"  # sent, X says, but its id is unknown
    bot.retractions.notice("trash", 601, "")
    [o] = bot.dispatch()
    assert o.status == "delete failed" and "its id on the platform is unknown" in (o.detail or "")
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.SENT and [t["text"] for t in fake_x.tweets] == [HEADLINE]
    [listed] = withdrawn_listed(bot)
    assert "its id on the platform is unknown" in (listed["posts"][0]["error"] or "")
    bot.close()


def test_a_notice_withdraws_only_its_own_sites_post_and_asks_that_sites_rest_api(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    def one(seen: Seen) -> tuple[int, dict[str, str], bytes]:
        if seen.headers.get("Host", "").startswith("127.0.0.1"):  # the news site's post 700 stands
            return 200, {}, json.dumps({"id": 700, "status": "publish"}).encode()
        return 401, {}, NOT_PUBLIC

    feed_server.handlers["/wp-json/wp/v2/posts/700"] = one
    sport = feed_server.base.replace("127.0.0.1", "localhost")  # another host
    bot, theirs = two_sites(tmp_path, feed_server, fake_x, clock, sport, wordpress_api=True)
    assert bot.retractions.notice("trash", 700, theirs.link, sport) == 1  # the sport site's post 700
    bot.dispatch()
    assert [t["text"] for t in fake_x.tweets] == [HEADLINE]  # the news site's post 700 stays
    # A notice from a site this config does not hold changes nothing.
    assert bot.retractions.notice("trash", 700, "", "https://elsewhere.example") == 0
    bot.close()


def test_a_correction_during_an_update_keeps_the_claim_and_the_later_text_wins(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    third = "مجلس النواب يقر قانون الانتخابات الجديد بالأغلبية"
    bot = Bot.open(load_config(sample_site(tmp_path, feed_server, [
        account(telegram, "tg", template="{title}", image="none", on_edit="update")])), clock=clock)
    bot.poll("main")
    first, _ = items(feed_server)
    posted(bot, feed_server, clock, first)
    publish(feed_server, [Item(601, CORRECTED, ["سياسة"], site=feed_server.base)])
    bot.poll("main")
    claimed = bot.store.claim_revision(clock.now(), ["tg"], LEASE)  # replica A starts updating the post
    assert claimed is not None
    publish(feed_server, [Item(601, third, ["سياسة"], site=feed_server.base)])  # corrected again meanwhile
    bot.poll("main")
    assert bot.store.claim_revision(clock.now(), ["tg"], LEASE) is None  # replica B does not take the post
    bot.reviser()._revise(claimed)  # A's edit lands (with the latest headline, or another edit follows)
    bot.dispatch()
    assert telegram.messages[0]["text"] == third and not bot.store.anything_to_revise(clock.now())
    bot.close()


def test_a_repost_never_drops_a_deletion_a_person_asked_for(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}", on_edit="repost")])
    first, _ = items(feed_server)
    posted(bot, feed_server, clock, first)
    [row] = bot.store.deliveries()
    fake_x.rate_limit_next(clock.now() + timedelta(minutes=15), path="/2/tweets/")
    assert "deleted 0 of 1" in Operations(bot).withdraw(row.id, "هدى")  # waits for the rate limit
    publish(feed_server, [Item(601, CORRECTED, ["سياسة"], site=feed_server.base)])
    bot.poll("main")
    clock.advance(timedelta(minutes=20))
    bot.dispatch()
    assert fake_x.tweets == []  # deleted, and not posted again
    bot.close()


def test_posts_the_list_leaves_out_yet_stand_do_not_hide_a_withdrawal(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title} {link}", on_retract="delete")])
    news = [Item(601 + i, f"{HEADLINE} {i}", ["سياسة"], site=feed_server.base) for i in range(12)]
    posted(bot, feed_server, clock, *news)
    order = [int(key.rpartition("=")[2]) for _, key, _, _ in bot.store.recently_posted(clock.now() - timedelta(days=1))]
    trashed, unlisted = order[-1], set(order[:10])  # the oldest is trashed; ten newer ones the list leaves out
    rest = WordPressREST(feed_server, published=set(order) - {trashed})
    for n in news:
        rest.one(n.post_id)
    listed = rest._list

    def filtered(seen: Seen) -> tuple[int, dict[str, str], bytes]:
        status, headers, body = listed(seen)
        return status, headers, json.dumps([p for p in json.loads(body) if p["id"] not in unlisted]).encode()

    feed_server.handlers["/wp-json/wp/v2/posts"] = filtered
    found = 0
    for _ in range(3):
        found += bot.retractions.check()
        clock.advance(timedelta(minutes=10))
    assert found == 1  # the second check reaches it: the ten found standing are not asked again for a while
    bot.close()


def test_a_correction_during_a_retry_is_posted_again_once_the_post_is_out(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}", on_edit="update",
                                                      on_edit_fallback="repost")])
    first, _ = items(feed_server)
    publish(feed_server, [first])
    bot.poll("main")
    fake_x.fail_next(1)  # X answers 503: tried again later with the frozen text
    [o] = bot.dispatch()
    assert o.status == "retry"
    publish(feed_server, [Item(601, CORRECTED, ["سياسة"], site=feed_server.base)])  # corrected meanwhile
    bot.poll("main")
    for _ in range(3):
        clock.advance(timedelta(minutes=10))
        bot.dispatch()
    assert [t["text"] for t in fake_x.tweets] == [HEADLINE, CORRECTED]  # the old text out, then the corrected one
    [row] = bot.store.deliveries()
    assert [e.event for e in bot.store.history(row.id)] == ["edited on site", "repost"]
    bot.close()


def test_a_repost_of_a_post_a_person_approved_waits_for_approval_again(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}", on_edit="repost",
                                                      approval={"categories": ["عاجل"]})])
    first = Item(601, HEADLINE, ["سياسة", "عاجل"], site=feed_server.base)
    publish(feed_server, [first])
    bot.poll("main")
    [row] = bot.store.deliveries()
    Operations(bot).approve(row.id, "هدى")
    clock.advance(timedelta(minutes=5))
    publish(feed_server, [Item(601, CORRECTED, ["سياسة"], site=feed_server.base)])  # no longer breaking
    bot.poll("main")
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.AWAITING_APPROVAL and "approved by a person" in (row.note or "")
    bot.close()


def test_an_earlier_post_the_platform_keeps_does_not_keep_the_repost_up(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(telegram, "tg", template="{title}", image="none",
                                                      on_edit="repost", on_retract="delete")])
    first, _ = items(feed_server)
    posted(bot, feed_server, clock, first)
    [old] = telegram.messages
    telegram.undeletable.add(old["message_id"])  # Telegram will not delete the first one any more
    publish(feed_server, [Item(601, CORRECTED, ["سياسة"], site=feed_server.base)])
    bot.poll("main")
    bot.dispatch()
    bot.retractions.notice("trash", 601, "")
    [o] = bot.dispatch()
    assert o.status == "delete failed" and "message can't be deleted" in (o.detail or "")
    assert [m["text"] for m in telegram.messages] == [HEADLINE]  # the repost deleted, the first kept by Telegram
    [listed] = withdrawn_listed(bot)
    [post] = listed["posts"]
    assert post["url"].endswith(f"/{old['message_id']}") and "message can't be deleted" in (post["error"] or "")
    bot.close()


def test_an_idle_pass_with_a_deletion_owed_to_a_post_in_doubt_reads_once_and_writes_nothing(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(telegram, f"tg{i}", template="{title}", image="none",
                                                      on_retract="delete") for i in range(5)])
    first, _ = items(feed_server)
    publish(feed_server, [first])
    bot.poll("main")
    telegram.fail_next("/bot", Answer(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}))
    bot.dispatch()
    assert DeliveryState.IN_DOUBT in [r.state for r in bot.store.deliveries()]
    bot.retractions.notice("trash", 601, "")
    bot.dispatch()
    clock.advance(timedelta(minutes=5))
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split()[0])

    for engine in {bot.store.engine, bot.store.light}:
        sa.event.listen(engine, "before_cursor_execute", seen)
    assert bot.dispatch() == []
    assert len(statements) <= 2 and "UPDATE" not in statements, statements
    bot.close()


def test_the_check_asks_at_most_ten_alone_and_asks_a_standing_one_again_after_six_hours(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    from bot.retract import CONFIRM_MAX, STOOD_KEPT

    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title} {link}")])
    news = [Item(601 + i, f"{HEADLINE} {i}", ["سياسة"], site=feed_server.base) for i in range(12)]
    posted(bot, feed_server, clock, *news)
    rest = WordPressREST(feed_server, published={n.post_id for n in news})
    rest.list_answer = (200, "application/json", b"[]")  # the list leaves every one out; each stands alone
    for n in news:
        rest.one(n.post_id)

    def alone() -> int:
        return len([r for r in feed_server.requests if "_fields=id,status" in r.path])  # a post asked alone

    assert bot.retractions.check() == 0 and alone() == CONFIRM_MAX == 10  # ten asked alone, no more
    bot.retractions.check()
    assert alone() == 12  # the two left; the ten found standing are not asked again …
    bot.retractions.check()
    assert alone() == 12
    clock.advance(STOOD_KEPT + timedelta(minutes=1))
    bot.retractions.check()
    assert alone() == 22  # … until six hours have passed
    assert withdrawn_listed(bot) == []
    bot.close()


def test_a_post_made_by_hand_is_left_alone_by_a_withdrawal_and_a_correction(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(telegram, "tg", template="{title}", image="none",
                                                      on_edit="update", on_retract="delete")])
    first, _ = items(feed_server)
    [made] = Operations(bot).manual_post(text="بيان قريش: ننشر تفاصيل الجلسة", url=None, account_ids=["tg"],
                                         link=first.link, image=None, dry_run=False, force=False, by="هدى")
    assert made.status == "sent"  # a person's post about the article, by hand
    publish(feed_server, [first])
    bot.poll("main")  # the feed's own post is not made again: the article has one
    publish(feed_server, [Item(601, CORRECTED, ["سياسة"], site=feed_server.base)])
    bot.poll("main")
    bot.retractions.notice("trash", 601, first.link)
    assert bot.dispatch() == []
    assert len(telegram.messages) == 1 and telegram.edits == []  # hers: neither corrected nor deleted
    bot.close()


def test_a_change_that_keeps_failing_is_given_up_after_eight_tries_with_its_error(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    from bot.revise import MAX_TRIES

    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}", on_retract="delete")])
    first, _ = items(feed_server)
    posted(bot, feed_server, clock, first)
    fake_x.fail_next(MAX_TRIES, path="/2/tweets/")  # X answers 503 to every delete
    bot.retractions.notice("trash", 601, "")
    seen = []
    for _ in range(MAX_TRIES + 2):
        seen += [o.status for o in bot.dispatch()]
        clock.advance(timedelta(hours=2))
    assert seen == ["retry"] * (MAX_TRIES - 1) + ["delete failed"] and MAX_TRIES == 8
    [listed] = withdrawn_listed(bot)
    assert "given up after 8 tries" in (listed["posts"][0]["error"] or "") and len(fake_x.tweets) == 1
    bot.close()


def test_rate_limits_are_not_tries(tmp_path: Path, feed_server: FeedServer, fake_x: FakeX,
                                   clock: ManualClock) -> None:
    from bot.revise import MAX_TRIES

    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}", on_retract="delete")])
    first, _ = items(feed_server)
    posted(bot, feed_server, clock, first)
    bot.retractions.notice("trash", 601, "")
    for _ in range(MAX_TRIES + 1):  # more rate limits than a change has tries
        fake_x.rate_limit_next(clock.now() + timedelta(minutes=15), path="/2/tweets/")
        [o] = bot.dispatch()
        assert o.status == "rate_limited"
        clock.advance(timedelta(minutes=16))
    fake_x.fail_next(1, path="/2/tweets/")  # then one failure: its first try, not its ninth
    [o] = bot.dispatch()
    assert o.status == "retry"
    clock.advance(timedelta(minutes=5))
    [o] = bot.dispatch()
    assert o.status == "deleted" and fake_x.tweets == []
    bot.close()
