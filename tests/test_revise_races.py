"""Corrections and retractions under interleavings, each found by a second adversarial review: a story withdrawn
while its post (or its repost) is being sent, or is in doubt; a repost sent while its earlier post is being
deleted; two sites on one host; a retry composed afresh; a correction while an update is on its way; approvals;
a repost of a post whose id is unknown; the alert past the status list's length; a withdrawal the REST check
undoes; a headline fixed while withdrawn; an update owed at the withdrawal; the idle pass with a held account.
Over real sockets, with the fakes; a publisher's call is wrapped only to make the site change mid-call."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.clock import ManualClock
from bot.models import DeliveryState
from bot.operations import Operations
from bot.revise import LEASE

from .kit.configs import account
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

THIRD = "مجلس النواب يقر قانون الانتخابات الجديد بالأغلبية"


def test_a_correction_that_comes_while_the_update_is_being_sent_is_not_lost(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(telegram, "tg", template="{title}", image="none",
                                                      on_edit="update")])
    first, _ = items(feed_server)
    posted(bot, feed_server, clock, first)
    publish(feed_server, [Item(601, CORRECTED, ["سياسة"], site=feed_server.base)])
    bot.poll("main")
    reviser = bot.reviser()
    publisher = reviser.publishers["tg"]
    edit = publisher.edit

    def edit_while_corrected_again(remote_id: str, post: Any) -> None:
        # The editor fixes the headline again while the bot's edit is on its way to Telegram.
        publish(feed_server, [Item(601, THIRD, ["سياسة"], site=feed_server.base)])
        bot.poll("main")
        edit(remote_id, post)

    publisher.edit = edit_while_corrected_again  # type: ignore[method-assign]
    reviser.run()
    publisher.edit = edit  # type: ignore[method-assign]
    for _ in range(3):
        clock.advance(timedelta(minutes=10))
        bot.dispatch()
    # The site says THIRD; the post must say it too (README: "a correction that comes during an update leaves the
    # claim alone and is made next, from the article as it is then").
    assert telegram.messages[0]["text"] == THIRD, telegram.messages[0]["text"]
    bot.close()


def test_a_persons_text_on_a_post_tried_before_is_never_overwritten_by_a_correction(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(telegram, "tg", template="{title}", image="none",
                                                      on_edit="update")])
    first, _ = items(feed_server)
    publish(feed_server, [first])
    bot.poll("main")
    telegram.rate_limit_next(60)  # its first try is rate limited: back in the queue, its text frozen
    [o] = bot.dispatch()
    assert o.status == "rate_limited"
    [row] = bot.store.deliveries()
    mine = "نص كتبته هدى بنفسها عن جلسة البرلمان"
    Operations(bot).edit_text(row.id, mine, "هدى")  # allowed: no send may have taken the old text
    clock.advance(timedelta(minutes=5))
    [o] = bot.dispatch()
    assert o.status == "sent" and telegram.messages[0]["text"] == mine
    publish(feed_server, [Item(601, CORRECTED, ["سياسة"], site=feed_server.base)])
    bot.poll("main")
    bot.dispatch()
    # README: "texts written by a person (bot edit, an approval with your own text) are never changed by a
    # correction".
    assert telegram.messages[0]["text"] == mine, telegram.messages[0]["text"]
    bot.close()


def test_a_post_composed_again_after_a_retry_is_compared_with_what_it_was_composed_from(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(telegram, "tg", template="{title}", image="none",
                                                      on_edit="update")])
    first, _ = items(feed_server)
    publish(feed_server, [first])
    bot.poll("main")
    telegram.fail_next("/bot", Answer(400, {"ok": False, "error_code": 400,
                                            "description": "Bad Request: can't parse entities"}))
    [o] = bot.dispatch()
    assert o.status == "failed"
    publish(feed_server, [Item(601, CORRECTED, ["سياسة"], site=feed_server.base)])  # corrected while it failed
    bot.poll("main")
    [row] = bot.store.deliveries()
    Operations(bot).retry(row.id, "هدى")  # composed afresh: it says CORRECTED
    assert telegram.messages[0]["text"] == CORRECTED
    publish(feed_server, [Item(601, HEADLINE, ["سياسة"], site=feed_server.base)])  # the site goes back to HEADLINE
    bot.poll("main")
    bot.dispatch()
    # The post says CORRECTED, the site says HEADLINE: a correction of what the post says.
    assert telegram.messages[0]["text"] == HEADLINE, telegram.messages[0]["text"]
    bot.close()


def test_a_punctuation_fix_after_a_retried_post_is_not_reposted(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}", on_edit="repost")])
    first, _ = items(feed_server)
    publish(feed_server, [first])
    bot.poll("main")
    fake_x.fail_next(1, status=400)  # X refuses it: failed
    [o] = bot.dispatch()
    assert o.status == "failed"
    publish(feed_server, [Item(601, CORRECTED, ["سياسة"], site=feed_server.base)])  # corrected while it failed
    bot.poll("main")
    [row] = bot.store.deliveries()
    Operations(bot).retry(row.id, "هدى")  # composed afresh: it says CORRECTED
    assert [t["text"] for t in fake_x.tweets] == [CORRECTED]
    publish(feed_server, [Item(601, CORRECTED + "!", ["سياسة"], site=feed_server.base)])  # punctuation only
    bot.poll("main")
    bot.dispatch()
    # README: punctuation does not count; the post already says CORRECTED. No second post.
    assert [t["text"] for t in fake_x.tweets] == [CORRECTED], [t["text"] for t in fake_x.tweets]
    bot.close()


def test_a_notice_from_a_subsite_does_not_withdraw_the_root_sites_post_of_the_same_id(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    sport = feed_server.base + "/sport"  # a folder of the same host
    bot, theirs = two_sites(tmp_path, feed_server, fake_x, clock, sport)
    assert bot.retractions.notice("trash", 700, theirs.link, sport) == 1  # the sport site's post 700 only
    bot.dispatch()
    assert [t["text"] for t in fake_x.tweets] == [HEADLINE]  # the news site's post 700 stays
    bot.close()


def test_a_subsites_notice_is_checked_against_the_subsites_rest_api(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    asked: list[str] = []

    def root(seen: Seen) -> tuple[int, dict[str, str], bytes]:  # the news site's post 700 stands
        asked.append(seen.path)
        return 200, {"Content-Type": "application/json"}, json.dumps({"id": 700, "status": "publish"}).encode()

    def sub(seen: Seen) -> tuple[int, dict[str, str], bytes]:  # the sport site's post 700 was trashed
        asked.append(seen.path)
        return 401, {"Content-Type": "application/json"}, NOT_PUBLIC

    feed_server.handlers["/wp-json/wp/v2/posts/700"] = root
    feed_server.handlers["/sport/wp-json/wp/v2/posts/700"] = sub
    sport = feed_server.base + "/sport"
    bot, theirs = two_sites(tmp_path, feed_server, fake_x, clock, sport, wordpress_api=True)
    bot.retractions.notice("trash", 700, theirs.link, sport)
    bot.dispatch()
    # The sport post is deleted, the news post kept; here the news site's REST API is asked about its own post 700
    # ("publish"), and the sport site's withdrawal is dropped without a word.
    assert sorted(t["text"] for t in fake_x.tweets) == [HEADLINE], asked
    bot.close()


def test_an_idle_pass_with_a_deletion_owed_on_a_held_account_reads_once_and_writes_nothing(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(telegram, f"tg{i}", template="{title}", image="none",
                                                      on_retract="delete") for i in range(5)])
    first, _ = items(feed_server)
    posted(bot, feed_server, clock, first)
    Operations(bot).hold("tg0", "هدى", "the channel is being moved")  # held for days, as accounts are
    bot.retractions.notice("trash", 601, "")
    bot.dispatch()  # the four others' posts are deleted; tg0's deletion waits for its release
    assert len(telegram.messages) == 1
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split()[0])

    for engine in {bot.store.engine, bot.store.light}:
        sa.event.listen(engine, "before_cursor_execute", seen)
    for _ in range(3):  # three idle passes (the daemon makes one every dispatch_interval)
        clock.advance(timedelta(minutes=1))
        assert bot.dispatch() == []
    assert len(statements) <= 6 and "UPDATE" not in statements, " ".join(statements)
    bot.close()


def test_a_withdrawn_articles_alert_does_not_end_while_its_posts_are_still_out(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    from bot.alerts import find_problems

    bot = site(tmp_path, feed_server, clock, [{"id": "c", "platform": "console",  # on_retract: flag
                                                "output": str(tmp_path / "posts.jsonl")}])
    news = [Item(601 + i, f"{HEADLINE} {i}", ["سياسة"], site=feed_server.base) for i in range(21)]
    posted(bot, feed_server, clock, *news)
    assert len(bot.store.deliveries(state="sent")) == 21
    for n in news:  # the site withdraws them one after another (an import gone wrong, undone)
        bot.retractions.notice("trash", n.post_id, "")
        clock.advance(timedelta(seconds=1))
    problems = find_problems(bot.config, bot.store, clock.now())
    withdrawn = [k for k in problems if k.startswith("withdrawn:")]
    # 21 articles' posts are still out, flagged: each must stay an open alert (a missing key is told to the
    # channels as its end: "the posts of «…» are no longer out").
    assert len(withdrawn) == 21, len(withdrawn)
    bot.close()


def test_a_send_under_way_when_the_story_is_withdrawn_is_not_tried_again(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}")])  # on_retract: flag
    first, _ = items(feed_server)
    publish(feed_server, [first])
    bot.poll("main")
    dispatcher = bot.dispatcher()
    publisher = dispatcher.publishers["x"]
    send = publisher.publish

    def withdrawn_meanwhile(post: Any) -> Any:
        bot.retractions.notice("trash", 601, "")  # the story is trashed while its send is on its way
        fake_x.fail_next(1)  # … and X answers 503: tried again later
        return send(post)

    publisher.publish = withdrawn_meanwhile  # type: ignore[method-assign]
    [o] = dispatcher.run()
    publisher.publish = send  # type: ignore[method-assign]
    assert o.status == "retry" and bot.store.is_withdrawn(bot.store.deliveries()[0].article_id)
    for _ in range(3):
        clock.advance(timedelta(minutes=10))
        bot.dispatch()
    # The story was withdrawn before anything was posted: the retry must not post it now.
    assert fake_x.tweets == [], [t["text"] for t in fake_x.tweets]
    bot.close()


def test_a_correction_does_not_put_text_no_person_approved_on_an_account_whose_every_post_is_approved(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(telegram, "tg", template="{title}", image="none",
                                                      on_edit="update", approval={"all": True})])
    first, _ = items(feed_server)
    publish(feed_server, [first])
    bot.poll("main")
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.AWAITING_APPROVAL
    Operations(bot).approve(row.id, "هدى")  # a person approved HEADLINE
    assert telegram.messages[0]["text"] == HEADLINE
    publish(feed_server, [Item(601, CORRECTED, ["سياسة"], site=feed_server.base)])
    bot.poll("main")
    bot.dispatch()
    # Every post of this account waits for a person; a repost would (README). The update puts CORRECTED on the
    # channel with no one's approval.
    assert telegram.messages[0]["text"] == HEADLINE or bot.store.deliveries()[0].state == \
        DeliveryState.AWAITING_APPROVAL, telegram.messages[0]["text"]
    bot.close()


def test_an_update_owed_when_the_story_is_withdrawn_is_not_made(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(telegram, "tg", template="{title}", image="none",
                                                      on_edit="update")])  # on_retract: flag
    first, _ = items(feed_server)
    posted(bot, feed_server, clock, first)
    publish(feed_server, [Item(601, CORRECTED, ["سياسة"], site=feed_server.base)])
    bot.poll("main")  # an update owed …
    bot.retractions.notice("trash", 601, "")  # … and the story trashed before the reviser ran
    bot.dispatch()
    # "A withdrawn article's posts are not corrected" (bot/store/revise.py, correct): flagged for a person, as it is.
    assert telegram.edits == [], telegram.edits
    bot.close()


def test_a_repost_of_a_post_whose_id_is_unknown_does_not_forget_the_first_post(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}", on_edit="repost",
                                                      on_retract="delete", timeout="1s")])
    first, _ = items(feed_server)
    publish(feed_server, [first])
    bot.poll("main")
    fake_x.hang_next(3, store_first=True)  # X posts it; its answer never reaches the bot
    bot.dispatch()
    clock.advance(timedelta(minutes=2))
    [o] = bot.dispatch()
    assert o.status == "duplicate"  # sent, X says, but its id is unknown
    publish(feed_server, [Item(601, CORRECTED, ["سياسة"], site=feed_server.base)])
    bot.poll("main")
    bot.dispatch()  # the corrected headline posted again
    assert [t["text"] for t in fake_x.tweets] == [HEADLINE, CORRECTED]
    bot.retractions.notice("trash", 601, "")
    bot.dispatch()
    # The repost is deleted; the first post (its id unknown) is still on X: it must at least be listed for a person
    # (as the same post is when it was not reposted: test_a_post_whose_id_is_unknown_is_never_taken_for_deleted).
    left = [t["text"] for t in fake_x.tweets]
    assert left == [] or withdrawn_listed(bot), (left, withdrawn_listed(bot))
    bot.close()


def test_a_repost_under_way_when_the_story_is_withdrawn_is_deleted_too_on_an_account_that_deletes(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}", on_edit="repost",
                                                      on_retract="delete")])
    first, _ = items(feed_server)
    posted(bot, feed_server, clock, first)
    publish(feed_server, [Item(601, CORRECTED, ["سياسة"], site=feed_server.base)])
    bot.poll("main")  # the repost waits to be sent; the first post is kept for deletion
    dispatcher = bot.dispatcher()
    publisher = dispatcher.publishers["x"]
    send = publisher.publish

    def withdrawn_meanwhile(post: Any) -> Any:
        bot.retractions.notice("trash", 601, "")  # trashed while the repost is on its way
        fake_x.fail_next(1)  # … and X answers 503: the repost is tried again later
        return send(post)

    publisher.publish = withdrawn_meanwhile  # type: ignore[method-assign]
    outcomes = bot.dispatch()  # the pass: the send (tried again later), then the reviser
    publisher.publish = send  # type: ignore[method-assign]
    assert outcomes[0].status == "retry"
    for _ in range(4):
        clock.advance(timedelta(minutes=10))
        bot.dispatch()
    # on_retract: delete: nothing of the withdrawn story is left on X (README: "deleted at once from every platform
    # that allows it (with the posts of earlier reposts, also while a repost waits)").
    assert fake_x.tweets == [], ([t["text"] for t in fake_x.tweets], withdrawn_listed(bot))
    bot.close()


def test_a_repost_sent_while_its_earlier_post_is_being_deleted_is_not_recorded_as_deleted(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}", on_edit="repost",
                                                      on_retract="delete")])
    first, _ = items(feed_server)
    posted(bot, feed_server, clock, first)
    publish(feed_server, [Item(601, CORRECTED, ["سياسة"], site=feed_server.base)])
    bot.poll("main")  # the repost waits in the queue; the first post is kept in `earlier`
    [row] = bot.store.deliveries()
    bot.store.withdraw_posts(row.article_id, clock.now(), "هدى")  # a person: delete them all (bot withdraw)
    claimed = bot.store.claim_revision(clock.now(), ["x"], LEASE)  # replica A's reviser takes the deletion
    assert claimed is not None and claimed.delivery.state == DeliveryState.QUEUED
    bot.dispatcher().run()  # replica B sends the repost meanwhile
    assert [t["text"] for t in fake_x.tweets] == [HEADLINE, CORRECTED]
    bot.reviser()._revise(claimed)  # A deletes the first post, and records …
    [row] = bot.store.deliveries()
    # The repost is on X: the row must not say it was deleted.
    assert [t["text"] for t in fake_x.tweets] == [CORRECTED]
    assert row.state == DeliveryState.SENT or bot.store.owed(row.id) is not None, (row.state, row.note)
    bot.close()


def test_an_article_the_rest_check_found_withdrawn_stands_again_when_the_site_publishes_it_again(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}")])  # on_retract: flag
    first, _ = items(feed_server)
    posted(bot, feed_server, clock, first)
    rest = WordPressREST(feed_server, published=set())  # sent back to "pending" for a legal read …
    rest.one(601)
    assert bot.retractions.check() == 1 and withdrawn_listed(bot)
    rest.published = {601}  # … and published again an hour later (no plugin: the REST API is all the bot has)
    for _ in range(3):
        clock.advance(timedelta(minutes=20))
        bot.retractions.check()
        bot.poll("main")
    # The story stands on the site; its post must not stay listed (and alerted) as a withdrawn story's, one button
    # away from being deleted.
    assert withdrawn_listed(bot) == [] and not bot.store.is_withdrawn(bot.store.deliveries()[0].article_id)
    bot.close()


def test_a_headline_fixed_while_the_story_was_withdrawn_corrects_its_posts_once_it_is_published_again(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(telegram, "tg", template="{title}", image="none",
                                                      on_edit="update")])  # on_retract: flag
    first, _ = items(feed_server)
    posted(bot, feed_server, clock, first)
    bot.retractions.notice("unpublish", 601, "")  # taken down to fix the headline …
    publish(feed_server, [Item(601, CORRECTED, ["سياسة"], site=feed_server.base)])  # … fixed and published again
    bot.poll("main")  # the notice's ping polls (the poll and the notice's job run side by side in the daemon)
    bot.retractions.notice("publish", 601, "")
    for _ in range(3):
        clock.advance(timedelta(minutes=10))
        bot.poll("main")
        bot.dispatch()
    assert telegram.messages[0]["text"] == CORRECTED, telegram.messages[0]["text"]
    bot.close()


def test_a_post_in_doubt_when_its_story_is_withdrawn_says_so_and_a_retry_does_not_post_it(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(telegram, "tg", template="{title}", image="none")])  # flag
    first, _ = items(feed_server)
    publish(feed_server, [first])
    bot.poll("main")
    telegram.fail_next("/bot", Answer(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}))
    [o] = bot.dispatch()
    assert o.status == "in_doubt" and telegram.messages == []  # not posted, as the operator will find
    bot.retractions.notice("trash", 601, "")
    [row] = bot.store.deliveries()
    said = " ".join([row.note or "", *(e.detail or "" for e in bot.store.history(row.id))])
    # A queued post that may have posted is put in doubt with "withdrawn on the site … then bot skip ID"; one in doubt
    # already is told nothing, and the operator's usual answer to "not there" is bot retry.
    assert "withdrawn on the site" in said, said
    Operations(bot).retry(row.id, "هدى")
    bot.dispatch()
    assert telegram.messages == [], [m["text"] for m in telegram.messages]
    bot.close()


def test_a_numbers_arabic_decimal_comma_and_per_mille_sign_count() -> None:
    from bot.compose.correction import is_correction

    # U+060C (the Arabic comma) is never a thousands separator (that is U+066C): between digits, as Arabic is often
    # typed, it is the decimal point. ٢،٥٪ → ٢٥٪ is a tenfold change.
    assert is_correction("نمو الاقتصاد ٢،٥٪", "نمو الاقتصاد ٢٥٪")
    # The percent sign counts; the per mille signs (Latin and Arabic) are dropped as punctuation.
    assert is_correction("نسبة الكحول 5‰", "نسبة الكحول 5") and is_correction("نسبة 5؉", "نسبة 5")
