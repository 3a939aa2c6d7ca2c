"""Corrections: a headline (or the editor's text) changed on the site after its post went out. What counts as one
(not white space, punctuation or entities); per account ``on_edit`` (ignore, update in place, repost) and
``on_edit_fallback`` where the platform does not edit posts; ``settle`` (a quick fix reaches the waiting post
itself); every change in the post's history with what caused it. Over real sockets: the feed server, the fakes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.compose.correction import gist, is_correction
from bot.config import load_config
from bot.config.accounts import ConsoleAccount, XAccount
from bot.core import Bot
from bot.errors import ConfigError
from bot.models import DeliveryState
from bot.policy import corrections_for, edit_action

from .kit.configs import account, sample_site
from .kit.e2e import publish
from .kit.fake_discord import FakeDiscord
from .kit.fake_facebook import FakeFacebook
from .kit.fake_mastodon import FakeMastodon
from .kit.fake_telegram import FakeTelegram
from .kit.fake_x import FakeX
from .kit.servers import Answer, FeedServer
from .kit.wordpress import Item

HEADLINE = "وزير الخارجية يزور بغداد لبحث ملف المياه"
CORRECTED = "وزير الخارجية يزور البصرة لبحث ملف المياه"


def test_a_correction_is_a_change_of_what_the_headline_says() -> None:
    assert not is_correction(HEADLINE, HEADLINE)
    # White space, punctuation, entities, tatweel, invisible marks, presentation forms, digits' script: no.
    for same in ("وزير  الخارجية يزور بغداد، لبحث ملف المياه!",
                 "&#8220;وزير الخارجية&#8221; يزور بغداد لبحث ملف المياه",
                 "وزيـــر الخارجية يزور بغداد لبحث ملف المياه", "وزير\u200f الخارجية يزور بغداد لبحث\u200c ملف المياه",
                 "<b>وزير الخارجية</b> يزور بغداد لبحث ملف المياه…", "وزير الخارجية يزور بغداد لبحث ملف «المياه»"):
        assert not is_correction(HEADLINE, same), same
    assert gist("ﻻ") == gist("لا")  # a presentation form is its letters
    assert not is_correction("ارتفاع الأسعار ٥٪ في تشرين", "ارتفاع الأسعار 5% في تشرين")
    # Another word, another number, a diacritic that changes the reading, a currency: yes.
    assert is_correction(HEADLINE, CORRECTED)
    assert is_correction("ارتفاع الأسعار ٥٪", "ارتفاع الأسعار ٦٪")
    assert is_correction("علم الطلاب", "علّم الطلاب")
    assert is_correction("سعر الدولار 1500", "سعر اليورو 1500")
    assert is_correction("التبرع بـ 5$", "التبرع بـ 5€")
    # A number's value changed by its marks: a decimal point, a minus, a percent sign; a thousands comma does not.
    assert is_correction("نمو الاقتصاد 2.5% هذا العام", "نمو الاقتصاد 25% هذا العام")
    assert is_correction("نمو الاقتصاد ٢٫٥٪", "نمو الاقتصاد ٢٥٪")
    assert is_correction("درجة الحرارة -5 في الموصل", "درجة الحرارة 5 في الموصل")
    assert is_correction("ارتفاع 5% في الأسعار", "ارتفاع 5 في الأسعار")
    assert not is_correction("نمو الاقتصاد ٢٫٥٪", "نمو الاقتصاد 2.5%")
    assert not is_correction("1,500 دينار", "1500 دينار") and not is_correction("عام 2026.", "عام 2026")
    assert is_correction("نمو الاقتصاد ٢،٥٪", "نمو الاقتصاد ٢٥٪")  # the Arabic comma typed for the decimal point
    assert is_correction("نسبة الكحول 5‰", "نسبة الكحول 5") and is_correction("نسبة 5؉", "نسبة 5")
    assert not is_correction("نسبة ٥؉", "نسبة 5‰")
    assert not is_correction(None, CORRECTED) and not is_correction(HEADLINE, "")  # nothing to compare


def test_on_edit_and_its_fallback_in_the_config() -> None:
    x = {"id": "x", "platform": "x", "credentials": {"consumer_key": "a", "consumer_secret": "b", "access_token": "c",
                                                     "access_token_secret": "d"}}
    assert edit_action(XAccount.model_validate(x)) == ("ignore", "on_edit: ignore")
    assert edit_action(XAccount.model_validate({**x, "on_edit": "update"})) == (
        "ignore", "x does not let posts be edited: on_edit_fallback: ignore")
    assert edit_action(XAccount.model_validate({**x, "on_edit": "update", "on_edit_fallback": "repost"}))[0] == "repost"
    console = ConsoleAccount.model_validate({"id": "c", "platform": "console", "on_edit": "update"})
    assert edit_action(console) == ("update", "on_edit: update")
    older = ConsoleAccount.model_validate({"id": "c", "platform": "console", "repost_on_edit": True})
    assert older.on_edit == "repost" and older.settle == timedelta(0) and older.on_retract == "flag"


def test_repost_on_edit_and_another_on_edit_are_refused_together(tmp_path: Path, feed_server: FeedServer) -> None:
    path = sample_site(tmp_path, feed_server, [{"id": "c", "platform": "console", "repost_on_edit": True,
                                                "on_edit": "update"}])
    with pytest.raises(ConfigError, match="older name of on_edit: repost"):
        load_config(path)
    path = sample_site(tmp_path, feed_server, [{"id": "c", "platform": "console", "on_retract": "keep"}])
    with pytest.raises(ConfigError, match="on_retract"):
        load_config(path)


def _bot(tmp_path: Path, feed_server: FeedServer, clock: ManualClock, accounts: list[dict[str, Any]]) -> Bot:
    bot = Bot.open(load_config(sample_site(tmp_path, feed_server, accounts)), clock=clock)
    bot.poll("main")  # the first start: the sample feed is only marked seen
    return bot


def _posted(bot: Bot, feed_server: FeedServer, clock: ManualClock, item: Item) -> None:
    publish(feed_server, [item])
    bot.poll("main")
    bot.dispatch()
    clock.advance(timedelta(minutes=20))


def _events(bot: Bot, delivery_id: int) -> list[tuple[str, str, str]]:
    return [(e.event, e.by or "", e.detail or "") for e in bot.store.history(delivery_id)]


def test_x_cannot_edit_so_the_fallback_decides_and_the_history_says_so(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = _bot(tmp_path, feed_server, clock, [
        account(fake_x, "x", template="{title}", on_edit="update"),
        account(fake_x, "x-again", template="{title} #عاجل", on_edit="update", on_edit_fallback="repost")])
    _posted(bot, feed_server, clock, Item(501, HEADLINE, ["سياسة"]))
    assert sorted(t["text"] for t in fake_x.tweets) == [HEADLINE, f"{HEADLINE} #عاجل"]
    publish(feed_server, [Item(501, CORRECTED, ["سياسة"])])
    bot.poll("main")
    bot.dispatch()
    texts = [t["text"] for t in fake_x.tweets]
    assert texts.count(HEADLINE) == 1 and f"{CORRECTED} #عاجل" in texts and len(texts) == 3  # one repost, no edit
    assert not [m for m, _ in fake_x.arrived if m in ("PUT", "PATCH")]  # no edit was even tried on X
    rows = {r.account_id: r for r in bot.store.deliveries()}
    kept = _events(bot, rows["x"].id)
    assert [e[:2] for e in kept] == [("edited on site", "the feed (a corrected headline)")]
    assert "x does not let posts be edited: on_edit_fallback: ignore" in kept[0][2] and CORRECTED in kept[0][2]
    assert rows["x"].text == HEADLINE and rows["x"].state == DeliveryState.SENT
    again = rows["x-again"]
    assert again.state == DeliveryState.SENT and again.text == f"{CORRECTED} #عاجل"
    assert [e[0] for e in _events(bot, again.id)] == ["repost"]
    # Asked again (a notice of another edit reads the article again): the correction was noted once.
    article = bot.store.article_by_id(rows["x"].article_id)
    assert bot.store.correct(rows["x"].article_id, clock.now(), "the editor's text in the plugin",
                             corrections_for(bot.config.accounts, article, clock.now())) == 0
    assert len(_events(bot, rows["x"].id)) == 1 and len(fake_x.tweets) == 3
    bot.close()


def test_punctuation_or_entities_only_change_nothing(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    bot = _bot(tmp_path, feed_server, clock, [account(telegram, "tg", image=False, on_edit="update")])
    _posted(bot, feed_server, clock, Item(502, HEADLINE, ["سياسة"]))
    publish(feed_server, [Item(502, f"«{HEADLINE}»!", ["سياسة"])])
    bot.poll("main")
    bot.dispatch()
    [row] = bot.store.deliveries()
    assert _events(bot, row.id) == [] and row.text is not None and f"«{HEADLINE}»" not in row.text
    assert not bot.store.anything_to_revise(clock.now())
    bot.close()


def test_a_quick_fix_within_settle_reaches_the_waiting_post_itself(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, clock: ManualClock,
) -> None:
    bot = _bot(tmp_path, feed_server, clock, [account(fake_x, "x", template="{title}", settle="2m",
                                                      on_edit="update", on_edit_fallback="repost")])
    publish(feed_server, [Item(503, HEADLINE, ["سياسة"])])
    bot.poll("main")
    assert bot.dispatch() == [] and fake_x.tweets == []  # it settles first
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.QUEUED and "settling" in (row.note or "")
    clock.advance(timedelta(seconds=60))
    publish(feed_server, [Item(503, CORRECTED, ["سياسة"])])  # the editor fixes it a minute later
    bot.poll("main")
    clock.advance(timedelta(seconds=61))
    [sent] = bot.dispatch()
    assert sent.status == "sent" and [t["text"] for t in fake_x.tweets] == [CORRECTED]  # once, corrected
    assert _events(bot, row.id) == []  # nothing to correct: it went out as the site says it now
    bot.close()


def _now_says(fake: Any, platform: str, tmp_path: Path) -> list[str]:
    if platform == "telegram":
        return [m.get("text") or m.get("caption") or "" for m in fake.messages]
    if platform == "facebook":
        return [p["message"] for p in fake.posts]
    if platform == "mastodon":
        return [s["text"] for s in fake.statuses]
    if platform == "discord":
        return [m["content"] for m in fake.messages]
    lines = [json.loads(line) for line in (tmp_path / "posts.jsonl").read_text(encoding="utf-8").splitlines()]
    latest: dict[str, str] = {}
    for line in lines:
        latest[str(line.get("edited") or f"console-{line['delivery']}")] = line["text"]
    return list(latest.values())


@pytest.mark.parametrize("platform", ["telegram", "facebook", "mastodon", "discord", "console"])
def test_update_edits_the_post_in_place_with_the_corrected_text_fitted(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, facebook: FakeFacebook, mastodon: FakeMastodon,
    discord: FakeDiscord, clock: ManualClock, platform: str,
) -> None:
    fakes: dict[str, Any] = {"telegram": telegram, "facebook": facebook, "mastodon": mastodon, "discord": discord}
    extra: dict[str, Any] = {"template": "{title}\n{short_link}", "on_edit": "update", "image": "none"}
    if platform == "console":
        acc = {"id": "acc", "platform": "console", "output": str(tmp_path / "posts.jsonl"), **extra}
    else:
        acc = account(fakes[platform], "acc", **extra)
        if platform == "mastodon":
            acc["image"] = False
    bot = _bot(tmp_path, feed_server, clock, [acc])
    _posted(bot, feed_server, clock, Item(504, HEADLINE, ["سياسة"]))
    link = "https://news.example/?p=504"
    assert _now_says(fakes.get(platform), platform, tmp_path) == [f"{HEADLINE}\n{link}"]
    publish(feed_server, [Item(504, CORRECTED, ["سياسة"])])
    bot.poll("main")
    outcomes = bot.dispatch()
    assert [(o.account_id, o.status) for o in outcomes] == [("acc", "corrected")]
    assert _now_says(fakes.get(platform), platform, tmp_path) == [f"{CORRECTED}\n{link}"]  # the same post, edited
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.SENT and row.text == f"{CORRECTED}\n{link}"
    history = _events(bot, row.id)
    assert [e[:2] for e in history] == [("edited on site", "the feed (a corrected headline)"),
                                        ("corrected", "the feed (a corrected headline)")]
    assert HEADLINE in history[1][2]  # what it said before
    # The same headline again, or only punctuation added: nothing more to do.
    publish(feed_server, [Item(504, CORRECTED + ".", ["سياسة"])])
    bot.poll("main")
    assert bot.dispatch() == [] and len(_events(bot, row.id)) == 2
    bot.close()


def test_a_corrected_text_is_fitted_as_a_new_post_and_one_that_cannot_go_is_given_up_with_why(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    bot = _bot(tmp_path, feed_server, clock, [account(telegram, "tg", template="{title}\n{short_link}", image="none",
                                                      on_edit="update")])
    _posted(bot, feed_server, clock, Item(505, HEADLINE, ["سياسة"]))
    [message] = telegram.messages
    telegram.uneditable.add(message["message_id"])  # Telegram will not edit this one
    publish(feed_server, [Item(505, CORRECTED, ["سياسة"])])
    bot.poll("main")
    [o] = bot.dispatch()
    assert o.status == "correction failed" and "message can't be edited" in (o.detail or "")
    [row] = bot.store.deliveries()
    assert row.text == f"{HEADLINE}\nhttps://news.example/?p=505" and not bot.store.anything_to_revise(clock.now())
    assert [e[0] for e in _events(bot, row.id)] == ["edited on site", "correction failed"]
    bot.close()


def test_an_edit_that_fails_for_a_while_is_tried_again_and_a_rate_limit_pauses_the_account(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, clock: ManualClock,
) -> None:
    bot = _bot(tmp_path, feed_server, clock, [account(telegram, "tg", template="{title}", image="none",
                                                      on_edit="update")])
    _posted(bot, feed_server, clock, Item(506, HEADLINE, ["سياسة"]))
    publish(feed_server, [Item(506, CORRECTED, ["سياسة"])])
    bot.poll("main")
    telegram.fail_next("/bot", Answer(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}))
    [o] = bot.dispatch()
    assert o.status == "retry" and telegram.messages[0]["text"] == HEADLINE
    assert bot.dispatch() == []  # not before its backoff
    clock.advance(timedelta(minutes=3))
    telegram.rate_limit_next(120)
    [o] = bot.dispatch()
    assert o.status == "rate_limited"
    clock.advance(timedelta(seconds=60))
    assert bot.dispatch() == []  # the account is paused
    clock.advance(timedelta(seconds=61))
    [o] = bot.dispatch()
    assert o.status == "corrected" and telegram.messages[0]["text"] == CORRECTED
    bot.close()
