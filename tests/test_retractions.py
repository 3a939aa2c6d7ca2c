"""Retractions: an article withdrawn on the site (unpublished, private, trashed, deleted) after its post went out.
Learned from the plugin's notice or the REST API's check of the articles posted lately (one request for their ids,
one per id missing); a site that does not answer, or answers anything but WordPress's own "not there", is never
taken for one. Per account ``on_retract``: delete (every platform that allows it; where it cannot, it says so) or
flag (``bot status`` and one action that deletes them all). Waiting posts are skipped; a publish again undoes it.
Over real sockets: a local server answering as WordPress's REST API does, the platform fakes."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.errors import UsageError
from bot.feeds import new_session
from bot.feeds.wordpress import post_standing, published_ids
from bot.models import DeliveryState
from bot.operations import Operations, report
from bot.retract import TIMEOUT

from .kit.configs import account
from .kit.fake_telegram import FakeTelegram
from .kit.fake_x import FakeX
from .kit.revising import HEADLINE, OTHER, WordPressREST, items, posted, site
from .kit.servers import FeedServer, Seen


def test_a_trash_notice_deletes_where_the_account_says_and_flags_elsewhere(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}", on_retract="delete"),
                                              account(fake_x, "x-desk", template="{title} #قريش")])
    first, second = items(feed_server)
    posted(bot, feed_server, clock, first, second)
    assert len(fake_x.tweets) == 4
    rest = WordPressREST(feed_server, published={602})
    rest.one(601)
    spent = bot.store.x_spend(bot.account("x"), clock.now(), bot.config.site.tz).today
    assert bot.retractions.notice("trash", 601, "") == 1
    outcomes = bot.dispatch()
    assert [(o.account_id, o.status) for o in outcomes] == [("x", "deleted")]
    assert sorted(t["text"] for t in fake_x.tweets) == sorted([OTHER, f"{OTHER} #قريش", f"{HEADLINE} #قريش"])
    rows = {(r.account_id, r.guid): r for r in bot.store.deliveries()}
    gone = rows[("x", first.guid)]
    assert gone.state == DeliveryState.DELETED and "trashed on the site (the plugin's notice)" in (gone.note or "")
    assert [(e.event, e.by) for e in bot.store.history(gone.id)] == [("withdrawn", "the site"),
                                                                      ("withdraw", "the site")]
    # X charged the delete (Interaction: Delete), and the bot counted it.
    assert bot.store.x_spend(bot.account("x"), clock.now(), bot.config.site.tz).today - spent == 10_000
    flagged = rows[("x-desk", first.guid)]
    assert flagged.state == DeliveryState.SENT
    # Flagged: bot status lists it, with the one action; the action deletes every post of the article.
    status = Operations(bot).status()
    [problem] = [p for p in status["problems"] if p["kind"] == "withdrawn"]
    assert problem["title"] == HEADLINE and [p["id"] for p in problem["posts"]] == [flagged.id]
    assert f"bot withdraw {flagged.id}" in problem["error"]
    shown = report.render(status)
    assert "withdrawn: \u2068" + HEADLINE in shown and "(flagged)" in shown
    said = Operations(bot).withdraw(flagged.id, "هدى")
    assert said == f"deleted 1 of 1 post(s) of «{HEADLINE}»"
    assert sorted(t["text"] for t in fake_x.tweets) == sorted([OTHER, f"{OTHER} #قريش"])
    assert bot.store.history(flagged.id)[-2:][0].by == "هدى"  # delete asked by her, then the deletion
    assert [p for p in Operations(bot).status()["problems"] if p["kind"] == "withdrawn"] == []
    bot.close()


def test_a_post_waiting_is_skipped_and_a_publish_again_lets_it_go(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}", on_retract="delete")])
    bot.store.hold_account("x", "held by a test", clock.now())
    first, _ = items(feed_server)
    posted(bot, feed_server, clock, first)
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.QUEUED
    bot.retractions.notice("unpublish", 601, "")
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.SKIPPED and "unpublished on the site" in (row.note or "")
    bot.retractions.notice("publish", 601, "")
    bot.store.release_account("x", clock.now())
    [o] = bot.dispatch()
    assert o.status == "sent" and [t["text"] for t in fake_x.tweets] == [HEADLINE]
    assert [e.event for e in bot.store.history(row.id)] == ["withdrawn", "published again"]
    bot.close()


def test_a_notice_the_rest_api_contradicts_is_left_alone(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}", on_retract="delete")])
    first, _ = items(feed_server)
    posted(bot, feed_server, clock, first)
    WordPressREST(feed_server, published={601}).one(601)  # trashed, then published again at once
    assert bot.retractions.notice("trash", 601, "") == 0
    assert bot.dispatch() == [] and len(fake_x.tweets) == 1
    bot.close()


def test_the_rest_check_finds_what_was_withdrawn_with_one_request_when_nothing_was(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}", on_retract="delete")])
    first, second = items(feed_server)
    posted(bot, feed_server, clock, first, second)
    rest = WordPressREST(feed_server, published={601, 602})
    rest.one(601)
    before = len(feed_server.requests)
    assert bot.retractions.check() == 0
    asked = feed_server.requests[before:]
    assert len(asked) == 1 and ("include=602,601" in asked[0].path or "include=601,602" in asked[0].path)
    rest.published.discard(601)  # made private (or trashed: the REST API answers a visitor the same)
    assert bot.retractions.check() == 1
    [o] = bot.dispatch()
    assert o.status == "deleted" and [t["text"] for t in fake_x.tweets] == [OTHER]
    row = next(r for r in bot.store.deliveries() if r.guid == first.guid)
    assert "no longer public on the site (the REST API's check)" in (row.note or "")
    # What is withdrawn is not asked for again; outside the window nothing is asked at all.
    before = len(feed_server.requests)
    clock.advance(timedelta(hours=49))
    assert bot.retractions.check() == 0 and len(feed_server.requests) == before
    bot.close()


@pytest.mark.parametrize("trouble", ["500", "html", "not a list", "timeout", "refused", "one: 500", "one: html"])
def test_a_site_that_does_not_answer_is_never_taken_for_a_retraction(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock, trouble: str,
) -> None:
    nobody = "http://127.0.0.1:9"  # nothing listens there
    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}", on_retract="delete")],
               site_url=nobody if trouble == "refused" else None)
    first, _ = items(feed_server)
    posted(bot, feed_server, clock, first)
    rest = WordPressREST(feed_server, published=set())
    if trouble == "500":
        rest.list_answer = (500, "application/json", b'{"code":"internal_server_error"}')
    elif trouble == "html":
        rest.list_answer = (200, "text/html", b"<html><body>maintenance</body></html>")
    elif trouble == "not a list":
        rest.list_answer = (200, "application/json", b'{"code":"rest_no_route"}')
    elif trouble == "timeout":
        def late(seen: Seen) -> tuple[int, dict[str, str], bytes]:
            time.sleep(TIMEOUT + 1)
            return 200, {}, b"[]"
        feed_server.handlers["/wp-json/wp/v2/posts"] = late
    elif trouble == "one: 500":
        feed_server.handlers["/wp-json/wp/v2/posts/601"] = lambda seen: (500, {}, b'{"code":"db_error"}')
    elif trouble == "one: html":
        feed_server.handlers["/wp-json/wp/v2/posts/601"] = lambda seen: (404, {"Content-Type": "text/html"}, b"<p>x")
    before = len(feed_server.requests)
    assert bot.retractions.check() == 0
    assert len(feed_server.requests) > before or trouble == "refused"  # it was asked, and said nothing for sure
    assert bot.dispatch() == [] and len(fake_x.tweets) == 1
    assert [p for p in Operations(bot).status()["problems"] if p["kind"] == "withdrawn"] == []
    bot.close()


def test_post_standing_reads_wordpress_own_answers(feed_server: FeedServer) -> None:
    rest = WordPressREST(feed_server, published={1}, deleted={2})
    for pid in (1, 2, 3):
        rest.one(pid)
    ask: dict[str, Any] = {"session": new_session(), "timeout": 2, "user_agent": "t"}
    assert post_standing(feed_server.base, 1, **ask) == "publish"
    assert post_standing(feed_server.base, 2, **ask) == "deleted"
    assert post_standing(feed_server.base, 3, **ask) == "not public"
    assert post_standing(feed_server.base, 3, auth=("socialbot", "x"), **ask) is None  # the credentials', maybe
    assert post_standing(feed_server.base, 4, **ask) is None  # a plain 404 page: not WordPress saying so
    assert published_ids(feed_server.base, [1, 2, 3], **ask) == {1}


def test_an_editors_withdraw_is_only_for_a_withdrawn_article(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}")])
    first, _ = items(feed_server)
    posted(bot, feed_server, clock, first)
    [row] = bot.store.deliveries()
    with pytest.raises(UsageError, match="was not withdrawn on the site"):
        Operations(bot).withdraw(row.id, "omar", withdrawn_only=True)
    assert len(fake_x.tweets) == 1
    bot.retractions.withdraw(row.article_id, "trashed on the site (the plugin's notice)", "the site")
    assert Operations(bot).withdraw(row.id, "omar", withdrawn_only=True).startswith("deleted 1 of 1")
    assert fake_x.tweets == []
    bot.close()


def test_a_withdrawal_left_to_a_person_is_told_and_its_end_too(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, desk: FakeTelegram, clock: ManualClock,
) -> None:
    alerts = {"channels": [{"type": "telegram", "bot_token": desk.token, "chat_id": "@qurays_desk",
                            "base_url": desk.base}]}
    bot = site(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}")], top={"alerts": alerts})
    first, _ = items(feed_server)
    posted(bot, feed_server, clock, first)
    [row] = bot.store.deliveries()
    bot.retractions.withdraw(row.article_id, "trashed on the site (the plugin's notice)", "the site")
    bot.alert()
    [told] = desk.messages
    assert f"«{HEADLINE}» was withdrawn" in told["text"] and f"bot withdraw {row.id}" in told["text"]
    Operations(bot).withdraw(row.id, "هدى")
    clock.advance(timedelta(minutes=5))
    bot.alert()
    assert len(desk.messages) == 2 and f"the posts of «{HEADLINE}» are no longer out" in desk.messages[1]["text"]
    bot.close()
