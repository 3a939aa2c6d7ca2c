"""Posting policy: filters, priority, limits, quiet hours, stale posts, and edits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.config import ConsoleAccount, load_config
from bot.core import Bot
from bot.models import Article, DeliveryState
from bot.policy import approval_reason, needs_approval, next_send, priority_of, quiet_until, skip_reason

from .kit.clock import T0
from .kit.configs import posts, sample_site
from .kit.e2e import publish
from .kit.servers import FeedServer
from .kit.wordpress import Item

BAGHDAD = ZoneInfo("Asia/Baghdad")  # UTC+3


def account(**kw: Any) -> ConsoleAccount:
    return ConsoleAccount.model_validate({"id": "a", "platform": "console", **kw})


def article(title: str = "العراق يوقع اتفاقاً", labels: tuple[str, ...] = ("سياسة", "العراق"),
            published: datetime | None = T0) -> Article:
    return Article(feed_id="f", guid="g", title=title, link="https://news.example/?p=1", labels=labels,
                   published=published)


def test_filters() -> None:
    now = T0 + timedelta(minutes=5)
    assert skip_reason(account(), article(), now) is None
    assert "excluded category" in (skip_reason(account(categories={"exclude": ["سِياسة"]}), article(), now) or "")
    assert "included category" in (skip_reason(account(categories={"include": ["رياضة"]}), article(), now) or "")
    assert skip_reason(account(tags={"include": ["العراق"]}), article(), now) is None
    assert "title_matches" in (skip_reason(account(title_matches="^عاجل"), article(), now) or "")
    assert "title_excludes" in (skip_reason(account(title_excludes="اتفاق"), article(), now) or "")
    assert "max_article_age" in (skip_reason(account(max_article_age="1h"), article(), now + timedelta(hours=2)) or "")
    assert skip_reason(account(max_article_age="1h"), article(published=None), now) is None
    baghdad = ZoneInfo("Asia/Baghdad")
    old = skip_reason(account(max_article_age="1h"), article(), now + timedelta(hours=2), baghdad)
    published = article().published
    assert published is not None and old is not None
    assert old.endswith(f"(published {published.astimezone(baghdad):%Y-%m-%d %H:%M}+0300)")  # the site's time
    with pytest.raises(ValueError, match="regular expression"):
        account(title_matches="(unclosed")


def test_which_posts_need_approval() -> None:
    """From a plain feed categories and tags are both labels; with the REST API, each list is its own. Names
    compare as hashtags do (without diacritics or tatweel)."""
    assert not needs_approval(account(), article()) and not needs_approval(account(approval="none"), article())
    assert approval_reason(account(approval="all"), article()) == "every post of this account"
    on_politics = account(approval={"categories": ["سِياسة"]})
    assert approval_reason(on_politics, article()) == "category سياسة"
    assert not needs_approval(on_politics, article(labels=("رياضة",)))
    assert approval_reason(account(approval={"tags": ["عـاجل"]}), article(labels=("عاجل", "أمن"))) == "tag عاجل"
    from dataclasses import replace

    from_api = replace(article(), categories=("رياضة",), tags=("سياسة",))  # the REST API tells them apart
    assert not needs_approval(on_politics, from_api)
    assert needs_approval(account(approval={"tags": ["سياسة"]}), from_api)


def test_priority() -> None:
    a = account(priority={"عاجل": 10, "العراق": 3})
    assert priority_of(a, article()) == 3
    assert priority_of(a, article(labels=("عـاجل", "العراق"))) == 10
    assert priority_of(a, article(labels=("رياضة",))) == 0


def test_quiet_hours_in_the_sites_timezone() -> None:
    # 01:00-06:00 Baghdad is 22:00-03:00 UTC.
    night = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)  # 02:30 in Baghdad
    assert quiet_until("01:00-06:00", night, BAGHDAD) == datetime(2026, 11, 30, 6, 0, tzinfo=BAGHDAD)
    assert quiet_until("01:00-06:00", datetime(2026, 11, 29, 9, 0, tzinfo=UTC), BAGHDAD) is None
    # across midnight: 23:00-05:00
    late = datetime(2026, 11, 29, 20, 30, tzinfo=UTC)  # 23:30 in Baghdad
    assert quiet_until("23:00-05:00", late, BAGHDAD) == datetime(2026, 11, 30, 5, 0, tzinfo=BAGHDAD)
    with pytest.raises(ValueError, match="01:00-06:00"):
        account(quiet_hours="1am to 6am")


def test_limits() -> None:
    now = T0
    a = account(limits={"per_day": 2, "per_hour": 1, "min_interval": "10m"})
    assert next_send(a, now, UTC, []) is None
    at, why = next_send(a, now, UTC, [now - timedelta(minutes=5)]) or (None, "")
    assert at == now + timedelta(minutes=55) and "an hour" in why  # the later of per_hour and min_interval
    at, why = next_send(a, now, UTC, [now - timedelta(hours=20), now - timedelta(hours=2)]) or (None, "")
    assert at == now + timedelta(hours=4) and "a day" in why


def bot_for(tmp_path: Path, feed_server: FeedServer, clock: ManualClock, **acc: Any) -> Bot:
    path = sample_site(tmp_path, feed_server,
                       site={"name": "قريش", "url": "https://news.example", "timezone": "Asia/Baghdad"},
                       accounts=[{"id": "console", "platform": "console", "output": str(tmp_path / "posts.jsonl"),
                                  "template": "{title}", **acc}])
    bot = Bot.open(load_config(path), clock=clock)
    bot.poll("main")
    return bot


NEW = [Item(200, "تقرير عن الزراعة", ["اقتصاد"], published=T0 - timedelta(minutes=30)),
       Item(201, "وصفة اليوم: الكبة", ["منوعات"], published=T0 - timedelta(minutes=20)),
       Item(202, "عاجل | زلزال في الشمال", ["عاجل"], published=T0 - timedelta(minutes=10))]


def test_filtered_articles_are_recorded_as_skipped_with_the_reason(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    bot = bot_for(tmp_path, feed_server, clock, categories={"exclude": ["منوعات"]})
    publish(feed_server, NEW)
    assert bot.poll("main").queued == 2
    bot.dispatch()
    assert [p["title"] for p in posts(tmp_path)] == [NEW[0].title, NEW[2].title]
    [skipped] = bot.store.deliveries(state="skipped")
    assert skipped.title == NEW[1].title and "excluded category (منوعات)" in (skipped.note or "")
    bot.close()


def test_a_short_quota_sends_breaking_news_first_and_the_rest_later(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    bot = bot_for(tmp_path, feed_server, clock, limits={"per_day": 2}, priority={"عاجل": 10})
    publish(feed_server, NEW)
    bot.poll("main")
    assert [o.status for o in bot.dispatch()] == ["sent", "sent"]
    assert [p["title"] for p in posts(tmp_path)] == [NEW[2].title, NEW[0].title]  # عاجل first, then oldest
    clock.advance(timedelta(hours=23, minutes=59))
    assert bot.dispatch() == []
    clock.advance(timedelta(minutes=1))
    assert [o.status for o in bot.dispatch()] == ["sent"]
    assert posts(tmp_path)[-1]["title"] == NEW[1].title
    bot.close()


def test_quiet_hours_hold_posts_then_they_go_in_order(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    clock.set(datetime(2026, 11, 29, 23, 0, tzinfo=UTC))  # 02:00 in Baghdad
    items = [Item(i.post_id, i.title, i.labels, published=clock.now() - timedelta(minutes=60 - i.post_id + 200))
             for i in NEW]
    bot = bot_for(tmp_path, feed_server, clock, quiet_hours="01:00-06:00")
    publish(feed_server, items)
    bot.poll("main")
    assert bot.dispatch() == []
    clock.set(datetime(2026, 11, 30, 3, 0, tzinfo=UTC))  # 06:00 in Baghdad
    assert len(bot.dispatch()) == 3
    assert [p["title"] for p in posts(tmp_path)] == [i.title for i in items]
    bot.close()


def test_posts_that_waited_too_long_are_skipped_as_stale(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    clock.set(datetime(2026, 11, 29, 23, 0, tzinfo=UTC))  # quiet until 03:00 UTC
    items = [Item(300, "خبر الليل", ["محليات"], published=clock.now() - timedelta(minutes=5))]
    bot = bot_for(tmp_path, feed_server, clock, quiet_hours="01:00-06:00", stale_after="2h")
    publish(feed_server, items)
    bot.poll("main")
    clock.set(datetime(2026, 11, 30, 3, 0, tzinfo=UTC))
    assert bot.dispatch() == [] and posts(tmp_path) == []
    [row] = bot.store.deliveries()
    assert row.state == DeliveryState.SKIPPED and "stale" in (row.note or "")
    bot.close()


@pytest.mark.parametrize("repost", [False, True])
def test_an_edited_headline_is_reposted_only_when_asked(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock, repost: bool,
) -> None:
    bot = bot_for(tmp_path, feed_server, clock, repost_on_edit=repost)
    publish(feed_server, NEW[:1])
    bot.poll("main")
    bot.dispatch()
    fixed = Item(NEW[0].post_id, NEW[0].title + " (محدث)", NEW[0].labels, published=NEW[0].published)
    publish(feed_server, [fixed])
    clock.advance(timedelta(minutes=5))
    assert bot.poll("main").edited == 1
    bot.dispatch()
    titles = [p["title"] for p in posts(tmp_path)]
    assert titles == ([NEW[0].title, fixed.title] if repost else [NEW[0].title])
    bot.close()


def test_links_off_the_sites_hosts_are_skipped_with_the_reason(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    bot = bot_for(tmp_path, feed_server, clock)
    phishing = Item(600, "تحديث حسابك المصرفي الآن", ["عاجل"], site="https://bank-login.example")
    sub = Item(601, "خبر من الموقع الفرعي", ["محليات"], site="https://m.news.example")
    publish(feed_server, [phishing, sub, NEW[0]])
    assert bot.poll("main").queued == 2
    bot.dispatch()
    assert [p["title"] for p in posts(tmp_path)] == [NEW[0].title, sub.title]  # a subdomain is the site's own
    [skipped] = bot.store.deliveries(state="skipped")
    assert skipped.title == phishing.title and "bank-login.example" in (skipped.note or "")
    assert "site.allowed_hosts" in (skipped.note or "")
    bot.close()
    path = tmp_path / "bot.yaml"
    text = path.read_text(encoding="utf-8").replace("  timezone: Asia/Baghdad\n",
                                                    "  timezone: Asia/Baghdad\n  allowed_hosts: [bank-login.example]\n")
    path.write_text(text, encoding="utf-8")
    assert "bank-login.example" in load_config(path).own_hosts(load_config(path).feeds[0])
