"""X on pay-per-use: what each post costs (as X decides "with URL"), budgets that make posts wait (priority
first), the link policy, and X refusing for money; against a fake X that charges per its price table."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import load_config
from bot.core import Bot

from .kit.configs import account, sample_site
from .kit.fake_x import FakeX
from .kit.runs import Run
from .kit.servers import FeedServer
from .kit.wordpress import DEMO_SITE, LONG_TITLE, Item, demo_items, rss2

SITE = {"name": "قريش", "url": DEMO_SITE, "timezone": "Asia/Baghdad"}


def item(post_id: int, title: str, labels: list[str]) -> Item:
    """An article on the demo's site (news.example.com: X counts its links as links)."""
    return Item(post_id, title, labels, site=DEMO_SITE)


def site(tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, items: list[Item] | None = None,
         **x: Any) -> Path:
    """A site on news.example.com (X takes its links for links) with one X account."""
    path = sample_site(tmp_path, feed_server, accounts=[account(fake_x, "x", **x)], site=SITE,
                       feed={"backfill": 10})
    feed_server.set("/feed", rss2(items if items is not None else demo_items(), site=DEMO_SITE))
    return path


def store_charges(path: Path, clock: ManualClock) -> list[tuple[str, int]]:
    bot = Bot.open(load_config(path), clock=clock)
    try:
        return [(what, micro) for _, _, micro, what in bot.store.charges()]
    finally:
        bot.close()


def test_each_post_costs_what_x_charges_and_the_bot_records_the_same(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run], clock: ManualClock,
) -> None:
    items = demo_items()[:2]
    path = site(tmp_path, feed_server, fake_x, items)
    assert run_bot("poll", "--config", str(path)).code == 0
    assert [name for name, _ in fake_x.charges] == ["Content: Create (with URL)"] * 2
    assert store_charges(path, clock) == fake_x.charges  # the bot's figures are X's
    assert run_bot("check", "--config", str(path)).code == 0  # GET /2/users/me: User: Read
    assert run_bot("unpost", "1", "--config", str(path)).code == 0  # Interaction: Delete
    assert store_charges(path, clock) == fake_x.charges
    assert sum(c for _, c in fake_x.charges) == 2 * 200_000 + 10_000 + 10_000
    status = json.loads(run_bot("status", "--json", "--config", str(path)).out)
    [x] = [a for a in status["accounts"] if a["id"] == "x"]
    assert x["spend"]["today_usd"] == pytest.approx(0.42) and x["spend"]["cycle_usd"] == pytest.approx(0.42)
    text = run_bot("status", "--config", str(path)).out
    assert "spent $0.42 today, $0.42 this billing cycle" in text


def test_x_decides_what_has_a_url_a_headline_naming_a_domain_too(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run], clock: ManualClock,
) -> None:
    """Without its link (link: never) a post is $0.015, unless its headline itself names a domain: X counts
    that as a URL ($0.20), and so does the bot."""
    items = [item(300, "إطلاق منصة حكومية جديدة على gov.iq للخدمات", ["محليات"]),
             item(299, "الأمطار تغمر شوارع البصرة", ["محليات"])]
    path = site(tmp_path, feed_server, fake_x, [*(i for i in items)], link="never")
    preview = [json.loads(line) for line in run_bot("preview", "--json", "--config", str(path)).out.splitlines()]
    costs = {p["text"].split()[0]: p["cost_usd"] for p in preview}
    assert costs == {"إطلاق": 0.2, "الأمطار": 0.015}
    assert all("news.example.com" not in p["text"] for p in preview)  # no link at all
    run_bot("poll", "--config", str(path))
    assert sorted(fake_x.charges) == sorted([("Content: Create (with URL)", 200_000), ("Content: Create", 15_000)])
    assert sorted(store_charges(path, clock)) == sorted(fake_x.charges)


def test_a_link_policy_by_priority_leaves_the_link_off_ordinary_posts_and_gives_the_headline_its_room(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run],
) -> None:
    items = [item(310, "عاجل | زلزال بقوة 5 درجات يضرب شمال البلاد", ["عاجل"]), item(309, LONG_TITLE, ["اقتصاد"])]
    path = site(tmp_path, feed_server, fake_x, items, link="priority", link_priority=10, priority={"عاجل": 10},
                template="{title}\n\n{short_link}")
    assert run_bot("poll", "--config", str(path)).code == 0
    by_title = {t["text"].split()[0]: t["text"] for t in fake_x.tweets}
    assert "news.example.com/?p=310" in by_title["عاجل"]
    assert "news.example.com" not in by_title["مجلس"] and "\n" not in by_title["مجلس"]  # the link's line dropped
    assert len(by_title["مجلس"]) > 280 - 23  # the headline used the room the link took (cut at a word near 280)
    assert sorted(name for name, _ in fake_x.charges) == ["Content: Create", "Content: Create (with URL)"]


def test_a_budget_makes_posts_wait_priority_first_until_the_next_billing_cycle(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run], clock: ManualClock,
) -> None:
    items = [item(320, "الحكومة تعلن عطلة رسمية", ["محليات"]), item(321, "عاجل | انفجار في مستودع", ["عاجل"]),
             item(322, "افتتاح معرض الكتاب", ["ثقافة"])]
    path = site(tmp_path, feed_server, fake_x, items, budget={"per_month": 0.30}, priority={"عاجل": 10})
    assert run_bot("poll", "--config", str(path)).code == 0
    [first] = fake_x.tweets  # room for one $0.20 post: the breaking one goes
    assert first["text"].startswith("عاجل | انفجار")
    out = run_bot("status", "--config", str(path)).out
    assert "X budget: $0.20 of $0.30 this month, next post $0.20, resets 2026-12-01" in out
    assert "Problems (0)" in out  # waiting for the budget is no failure of the account
    queue = json.loads(run_bot("status", "--json", "--config", str(path)).out)["queue"]
    assert {q["why"] for q in queue} == {"X budget: $0.20 of $0.30 this month, next post $0.20, resets 2026-12-01"}
    assert {q["due"] for q in queue} == {"2026-12-01T00:00:00+03:00"}
    clock.advance(timedelta(hours=2))
    run_bot("poll", "--config", str(path))
    assert len(fake_x.tweets) == 1  # still waiting, not retried in a loop
    clock.set(clock.now().replace(month=11, day=30, hour=21, minute=0, second=1))  # 2026-12-01 00:00:01 +03:00
    run_bot("poll", "--config", str(path))
    assert len(fake_x.tweets) == 2  # a new cycle: room for one more
    assert sum(c for _, c in fake_x.charges) == 400_000


def test_a_day_budget_and_its_alerts_at_80_and_100_percent(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run], clock: ManualClock,
    webhook: Any,
) -> None:
    items = [item(330 + i, f"خبر رقم {i} عن الاقتصاد المحلي", ["اقتصاد"]) for i in range(3)]
    path = sample_site(tmp_path, feed_server, accounts=[account(fake_x, "x", budget={"per_day": 0.50})], site=SITE,
                       feed={"backfill": 10}, alerts={"channels": [{"type": "webhook", "url": webhook.address}]})
    feed_server.set("/feed", rss2(items, site=DEMO_SITE))
    run_bot("poll", "--config", str(path))
    assert len(fake_x.tweets) == 2  # $0.40 of $0.50: a third does not fit today
    problems = [(w["event"], w["problem"]) for w in webhook.received]
    assert ("raised", "budget100:x") in problems
    assert any("budget has no room for its next post ($0.20): $0.40 of $0.50 spent today" in w["text"]
               for w in webhook.received)
    clock.advance(timedelta(days=1))
    run_bot("poll", "--config", str(path))
    assert len(fake_x.tweets) == 3
    assert ("cleared", "budget100:x") in [(w["event"], w["problem"]) for w in webhook.received]


def test_an_80_percent_alert(tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run],
                             webhook: Any) -> None:
    items = [item(340 + i, f"تقرير رقم {i} عن الطقس", ["طقس"]) for i in range(4)]
    path = sample_site(tmp_path, feed_server, accounts=[account(fake_x, "x", budget={"per_month": 1.00})], site=SITE,
                       feed={"backfill": 10}, alerts={"channels": [{"type": "webhook", "url": webhook.address}]})
    feed_server.set("/feed", rss2(items, site=DEMO_SITE))
    run_bot("poll", "--config", str(path))
    assert len(fake_x.tweets) == 4  # $0.80 of $1.00
    [alert] = webhook.received
    assert alert["problem"] == "budget80:x"
    assert alert["text"] == "X account x has spent 80 % of its budget: $0.80 of $1.00 this month"


@pytest.mark.parametrize(("steer", "words"), [
    ("credits", "prepaid credits are used up (402 CreditsDepleted). Add credits in X's Developer Console"),
    ("cap", "spending limit set in X's Developer Console is reached until 2027-01-01 (403 SpendCapReached)"),
])
def test_x_refusing_for_money_holds_the_account_with_what_to_do(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run], steer: str, words: str,
) -> None:
    if steer == "credits":
        fake_x.credits = 300_000  # one post with a link, then no more
    else:
        fake_x.spend_cap = 300_000
    path = site(tmp_path, feed_server, fake_x, demo_items()[:3])
    assert run_bot("poll", "--config", str(path)).code == 0
    assert len(fake_x.tweets) == 1 and len(fake_x.calls_to("/2/tweets")) == 2  # refused once: not post by post
    status = run_bot("status", "--config", str(path)).out
    assert words in status and "bot release x" in status
    run_bot("poll", "--config", str(path))
    assert len(fake_x.calls_to("/2/tweets")) == 2  # held: not retried in a loop
    assert [name for name, _ in fake_x.charges] == ["Content: Create (with URL)"]


def test_the_metrics_export_what_x_was_charged(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run], clock: ManualClock,
) -> None:
    from types import SimpleNamespace

    from bot.metrics import Metrics

    path = site(tmp_path, feed_server, fake_x, demo_items()[:1])
    run_bot("poll", "--config", str(path))
    bot = Bot.open(load_config(path), clock=clock)
    try:
        text = Metrics(SimpleNamespace(bot=bot)).render().decode()  # type: ignore[arg-type]
    finally:
        bot.close()
    assert 'bot_x_spend_usd{account="x",period="day"} 0.2' in text
    assert 'bot_x_spend_usd{account="x",period="cycle"} 0.2' in text


def test_prices_are_the_config_s_and_post_dry_run_shows_the_cost(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run],
) -> None:
    path = site(tmp_path, feed_server, fake_x, demo_items()[:1], prices={"post_with_url": 0.25})
    out = run_bot("post", "--dry-run", "اجتماع طارئ لمجلس المحافظة", "--link", f"{DEMO_SITE}/?p=120",
                  "--config", str(path))
    assert out.code == 0 and "── x · " in out.out and " · $0.250\n" in out.out
    short = run_bot("post", "--dry-run", "اجتماع طارئ لمجلس المحافظة", "--config", str(path))
    assert " · $0.015\n" in short.out
    preview = [json.loads(line) for line in run_bot("preview", "--json", "--config", str(path)).out.splitlines()]
    assert preview[0]["cost_usd"] == 0.25


def test_a_post_whose_answer_was_lost_is_counted_once_when_x_calls_the_resend_a_duplicate(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run], clock: ManualClock,
) -> None:
    from .kit.databases import expire_claims
    from .kit.runs import kill_poll_when

    path = site(tmp_path, feed_server, fake_x, demo_items()[:1])
    fake_x.hang_next(30, store_first=True)  # X posts (and charges), its answer never reaches the bot
    kill_poll_when(path, lambda: fake_x.tweets)
    assert fake_x.charges == [("Content: Create (with URL)", 200_000)]
    bot = Bot.open(load_config(path), clock=clock)
    try:
        expire_claims(bot.store)  # the dead process's claim has passed
    finally:
        bot.close()
    assert run_bot("poll", "--config", str(path)).code == 0  # the resend: X says duplicate content
    assert len(fake_x.tweets) == 1 and store_charges(path, clock) == fake_x.charges


def test_a_budget_raised_mid_cycle_lets_the_waiting_posts_go_at_once(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run],
) -> None:
    items = [item(350, "الحكومة تعلن عطلة رسمية", ["محليات"]), item(351, "افتتاح معرض الكتاب", ["ثقافة"])]
    path = site(tmp_path, feed_server, fake_x, items, budget={"per_month": 0.30})
    run_bot("poll", "--config", str(path))
    assert len(fake_x.tweets) == 1
    queue = json.loads(run_bot("status", "--json", "--config", str(path)).out)["queue"]
    assert [q["why"] for q in queue] == ["X budget: $0.20 of $0.30 this month, next post $0.20, resets 2026-12-01"]
    path = site(tmp_path, feed_server, fake_x, items, budget={"per_month": 1.00})  # the newsroom raises it
    run_bot("poll", "--config", str(path))
    assert len(fake_x.tweets) == 2


def test_priority_first_holds_under_a_link_policy_a_cheaper_post_never_overtakes(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run],
) -> None:
    """$0.15 of $0.30 spent on ordinary posts ($0.015 each, without their link). Then a breaking post with its
    link ($0.20) does not fit: the ordinary ones after it, which would, wait behind it (or lesser news would
    drain the budget the breaking news needs), and `bot status` says what it waits for."""
    ordinary = [item(380 + i, f"خبر محلي رقم {i} من المحافظات", ["محليات"]) for i in range(10)]
    options: dict[str, Any] = {"budget": {"per_month": 0.30}, "priority": {"عاجل": 10}, "link": "priority",
                               "link_priority": 10}
    path = site(tmp_path, feed_server, fake_x, ordinary, **options)
    run_bot("poll", "--config", str(path))
    assert len(fake_x.tweets) == 10 and sum(c for _, c in fake_x.charges) == 150_000
    later = [item(400, "عاجل | انفجار في مستودع للوقود", ["عاجل"]), item(401, "افتتاح معرض الكتاب", ["ثقافة"])]
    feed_server.set("/feed", rss2([*later, *ordinary], site=DEMO_SITE))
    run_bot("poll", "--config", str(path))
    assert len(fake_x.tweets) == 10  # neither went: the breaking one does not fit, the other waits behind it
    out = run_bot("status", "--config", str(path)).out
    assert "X budget: $0.15 of $0.30 this month, next post $0.20, resets 2026-12-01" in out


def test_a_send_whose_answer_was_lost_counts_against_the_budget_at_once(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run], clock: ManualClock,
) -> None:
    """X took the post but its answer timed out: until the resend is recorded, its cost is counted, so the
    budget is never gone over, and the resend itself is never held back by the budget."""
    path = site(tmp_path, feed_server, fake_x, demo_items()[:3], budget={"per_month": 0.40}, timeout="1s")
    fake_x.hang_next(3, store_first=True)
    run_bot("poll", "--config", str(path))
    clock.advance(timedelta(minutes=5))
    run_bot("poll", "--config", str(path))
    clock.advance(timedelta(hours=2))
    run_bot("poll", "--config", str(path))
    assert sum(c for _, c in fake_x.charges) <= 400_000 and len(fake_x.tweets) == 2
    assert sorted(store_charges(path, clock)) == sorted(fake_x.charges)


def test_a_budget_smaller_than_one_post_is_refused(tmp_path: Path, feed_server: FeedServer, fake_x: FakeX,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from bot.errors import ConfigError

    path = site(tmp_path, feed_server, fake_x, budget={"per_day": 0.10})
    with pytest.raises(ConfigError, match=r"budget.per_day \$0.100 is less than one post costs \(\$0.200 with link: "
                                          r"always\)"):
        load_config(path)
    assert load_config(site(tmp_path, feed_server, fake_x, budget={"per_day": 0.10}, link="never"))  # six posts


def test_a_real_duplicate_is_not_charged_and_force_goes_over_the_budget(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run], clock: ManualClock,
) -> None:
    path = site(tmp_path, feed_server, fake_x, demo_items()[:2], budget={"per_day": 0.20})
    [first, _] = [json.loads(line)["text"] for line in run_bot("preview", "--json", "--config", str(path)).out
                  .splitlines()]
    fake_x.tweets.append({"id": "1", "text": first, "media_ids": [], "created": clock.now()})  # posted by hand
    run_bot("poll", "--config", str(path))  # the first is refused as a duplicate at its first try: no charge
    assert store_charges(path, clock) == fake_x.charges == [("Content: Create (with URL)", 200_000)]
    waiting = run_bot("post", "تنويه: تأجيل مؤتمر الاستثمار", "--link", f"{DEMO_SITE}/?p=77", "--account", "x",
                      "--config", str(path))
    assert waiting.code == 1 and "X budget: $0.20 of $0.20 today" in waiting.out
    forced = run_bot("post", "تنويه: تأجيل مؤتمر الاستثمار إلى الأسبوع المقبل", "--link", f"{DEMO_SITE}/?p=78",
                     "--account", "x", "--force", "--config", str(path))
    assert forced.code == 0 and len(fake_x.tweets) == 3  # --force goes over the bot's own budget


def test_a_line_that_only_shows_the_link_goes_with_it() -> None:
    from bot.compose import without_link_lines

    assert without_link_lines("{title}\n\n🔗 {short_link}\nاقرأ المزيد: {link}\n{hashtags}") == "{title}\n\n{hashtags}"
    assert without_link_lines("{title} {short_link}") == "{title}"
    assert without_link_lines("{POST_TITLE}\n{PERMALINK}") == "{POST_TITLE}"


def test_status_shows_both_budgets_in_dollars_as_x_bills_them_and_a_cycle_from_the_31st(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run],
) -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from bot.pricing import cycle_start, next_cycle

    path = site(tmp_path, feed_server, fake_x, [item(370, "الأمطار تغمر شوارع البصرة", ["محليات"])], link="never",
                budget={"per_day": 1.00, "per_month": 20.00, "cycle_day": 31})
    run_bot("poll", "--config", str(path))
    out = run_bot("status", "--config", str(path)).out
    assert "spent $0.015 today, $0.015 this billing cycle" in out
    assert "X budget: $0.015 of $20.00 this billing cycle, resets 2026-11-30" in out
    assert "X budget: $0.015 of $1.00 today, resets 2026-11-30" in out
    baghdad = ZoneInfo("Asia/Baghdad")
    assert cycle_start(datetime(2027, 2, 15, tzinfo=UTC), baghdad, 31) == datetime(2027, 1, 31, tzinfo=baghdad)
    assert next_cycle(datetime(2027, 2, 15, tzinfo=UTC), baghdad, 31) == datetime(2027, 2, 28, tzinfo=baghdad)
    assert next_cycle(datetime(2027, 2, 28, 1, tzinfo=UTC), baghdad, 31) == datetime(2027, 3, 31, tzinfo=baghdad)


@pytest.mark.parametrize(("text", "with_url"), [
    ("الأمطار تغمر شوارع البصرة", False),
    ("إطلاق منصة حكومية جديدة على gov.iq للخدمات", True),  # a domain in the headline is a URL to X
    ("الرابط: https://news.example.com/?p=1", True),
    ("الرابط: news.example/?p=1", False),  # not a top-level domain X knows
    ("بريد المحرر desk@example.com", False),  # an address is not a link
])
def test_what_has_a_url_is_what_twitter_text_finds(text: str, with_url: bool) -> None:
    from bot.pricing import has_url

    assert has_url(text) is with_url


def test_a_post_dearer_than_the_whole_budget_fails_instead_of_holding_the_account_for_ever(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run], clock: ManualClock,
) -> None:
    """link: never and $0.10 a day (six posts at $0.015); a headline naming a domain costs $0.20, more than the
    whole budget: it fails, with what to do, and the other posts go on."""
    items = [item(420, "إطلاق منصة حكومية جديدة على gov.iq للخدمات", ["محليات"]),
             item(421, "الأمطار تغمر شوارع البصرة", ["محليات"])]
    path = site(tmp_path, feed_server, fake_x, items, budget={"per_day": 0.10}, link="never")
    run_bot("poll", "--config", str(path))
    assert [t["text"] for t in fake_x.tweets] == ["الأمطار تغمر شوارع البصرة"]
    out = run_bot("status", "--config", str(path)).out
    assert "this post costs $0.20 (X counts a URL in it), more than the account's whole budget ($0.10)" in out


def test_a_post_retried_by_an_operator_is_checked_against_the_budget_like_a_new_one(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run],
) -> None:
    from .kit.fake_x import Fault

    path = site(tmp_path, feed_server, fake_x, demo_items()[:2], budget={"per_day": 0.20})
    fake_x.faults.append(Fault("/2/tweets", 400, {"title": "Invalid Request", "type": "about:blank",
                                                  "detail": "One or more parameters to your request was invalid."}))
    run_bot("poll", "--config", str(path))  # the first is refused (failed), the second goes: $0.20 of $0.20
    assert len(fake_x.tweets) == 1
    assert run_bot("retry", "1", "--config", str(path)).code == 0
    assert len(fake_x.tweets) == 1 and sum(c for _, c in fake_x.charges) == 200_000  # it waits for tomorrow
