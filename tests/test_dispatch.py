"""The outbox: each publisher outcome kind leads to the delivery state DESIGN.md promises."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.compose import compose_post
from bot.compose.length import LengthRule
from bot.config import ConsoleAccount
from bot.dispatch import Dispatcher
from bot.errors import AuthFailed, ComposeError, Duplicate, RateLimited, Rejected, Unavailable
from bot.feeds.poll import plan_poll
from bot.models import Article, DeliveryState, Validators
from bot.platforms.base import Post, Published
from bot.store import Store

from .kit.articles import site_article
from .kit.clock import T0
from .kit.databases import expire_claims


@dataclass
class FakePublisher:
    """A publisher whose answers come from a plain function (unit tests; end-to-end tests use servers)."""

    handler: Callable[[Post], Published]
    account_id: str = "acc"
    rule: LengthRule = field(default_factory=lambda: LengthRule(280))
    resend_is_safe: bool = True
    resend_window: timedelta | None = None
    calls: list[Post] = field(default_factory=list)

    def publish(self, post: Post) -> Published:
        self.calls.append(post)
        return self.handler(post)

    def close(self) -> None:
        pass


def ok(post: Post) -> Published:
    return Published(f"id-{post.delivery_id}", f"https://example.social/{post.delivery_id}")


def article(n: int, title: str | None = None) -> Article:
    return site_article(n, title or f"خبر رقم {n} عن العراق", published=T0 + timedelta(minutes=n))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """Every dispatch test runs on SQLite and on PostgreSQL."""
    s = Store.open(db_url)
    yield s
    s.close()


def queue(store: Store, clock: ManualClock, *articles: Article, accounts: tuple[str, ...] = ("acc",)) -> None:
    configs = [ConsoleAccount(id=a, platform="console") for a in accounts]
    store.apply_poll("main", "https://news.example/feed", clock.now(), Validators(), list(articles),
                     lambda known, first: plan_poll(articles, known, configs, first_start=False, backfill=0,
                                                    now=clock.now()))


def dispatcher(store: Store, clock: ManualClock, *pubs: FakePublisher) -> Dispatcher:
    publishers = {p.account_id: p for p in pubs}

    def compose(account_id: str, a: Article, article_id: int = 0, priority: int = 0) -> str:
        return compose_post(a, "{title}\n\n{link}", "قريش", publishers[account_id].rule)

    return Dispatcher(store, publishers, compose, clock, draw=lambda: 0.5)


def state(store: Store, n: int = 0) -> str:
    return store.deliveries()[n].state


def test_sent_in_publish_order_with_post_id_and_url(store: Store, clock: ManualClock) -> None:
    queue(store, clock, article(3), article(1), article(2))
    pub = FakePublisher(ok)
    outcomes = dispatcher(store, clock, pub).run()
    assert [o.status for o in outcomes] == ["sent"] * 3
    assert [p.link[-1] for p in pub.calls] == ["1", "2", "3"]  # oldest first
    rows = store.deliveries()
    assert all(r.state == DeliveryState.SENT for r in rows)
    assert {r.remote_url for r in rows} == {f"https://example.social/{r.id}" for r in rows}
    assert dispatcher(store, clock, pub).run() == []  # nothing twice


def test_unavailable_retries_later_with_backoff_and_the_same_text(store: Store, clock: ManualClock) -> None:
    queue(store, clock, article(1))
    answers: list[Callable[[Post], Published]] = []

    def flaky(post: Post) -> Published:
        return answers.pop(0)(post) if answers else ok(post)

    def down(post: Post) -> Published:
        raise Unavailable("HTTP 503")

    answers.extend([down, down])
    pub = FakePublisher(flaky)
    [o] = dispatcher(store, clock, pub).run()
    assert o.status == "retry" and state(store) == DeliveryState.QUEUED
    row = store.deliveries()[0]
    assert row.not_before == clock.now() + timedelta(seconds=30) and row.last_error == "HTTP 503"
    assert dispatcher(store, clock, pub).run() == []  # not before its time
    # Meanwhile the editor changes the headline: the retry still sends the frozen text.
    queue(store, clock, article(1, "عنوان جديد بعد التعديل"))
    clock.advance(timedelta(seconds=30))
    [o] = dispatcher(store, clock, pub).run()
    assert o.status == "retry"
    assert store.deliveries()[0].not_before == clock.now() + timedelta(seconds=60)  # doubled
    clock.advance(timedelta(seconds=60))
    [o] = dispatcher(store, clock, pub).run()
    assert o.status == "sent" and len({p.text for p in pub.calls}) == 1
    assert "عنوان جديد" not in pub.calls[-1].text and store.deliveries()[0].attempts == 3


def test_rate_limited_pauses_the_whole_account_until_the_reset(store: Store, clock: ManualClock) -> None:
    queue(store, clock, article(1), article(2))
    until = clock.now() + timedelta(minutes=15)
    limited = [True]

    def handler(post: Post) -> Published:
        if limited[0]:
            raise RateLimited("Too Many Requests", until)
        return ok(post)

    pub = FakePublisher(handler)
    [o] = dispatcher(store, clock, pub).run()
    assert o.status == "rate_limited" and len(pub.calls) == 1  # the second post did not even try
    assert store.account_state("acc").not_before == until
    assert store.deliveries()[0].attempts == 0  # a rate limit is not the post's fault
    clock.advance(timedelta(minutes=14, seconds=59))
    assert dispatcher(store, clock, pub).run() == [] and len(pub.calls) == 1  # no request before the reset
    clock.advance(timedelta(seconds=1))
    limited[0] = False
    assert [o.status for o in dispatcher(store, clock, pub).run()] == ["sent", "sent"]


def test_auth_failure_holds_the_account_and_nothing_is_failed(
    store: Store, clock: ManualClock, caplog: pytest.LogCaptureFixture,
) -> None:
    queue(store, clock, article(1), article(2), accounts=("acc", "other"))
    revoked = [True]

    def handler(post: Post) -> Published:
        if revoked[0]:
            raise AuthFailed("Unauthorized: the token was revoked")
        return ok(post)

    bad, good = FakePublisher(handler), FakePublisher(ok, account_id="other")
    outcomes = dispatcher(store, clock, bad, good).run()
    assert sorted(o.status for o in outcomes) == ["held", "sent", "sent"]
    assert len(bad.calls) == 1  # held after the first refusal; its other post waits untried
    assert store.account_state("acc").held and "revoked" in (store.account_state("acc").held_reason or "")
    assert [r.state for r in store.deliveries("acc")] == [DeliveryState.QUEUED, DeliveryState.QUEUED]
    assert caplog.text.count("is HELD") == 1  # told once
    assert dispatcher(store, clock, bad, good).run() == []
    revoked[0] = False
    assert store.release_account("acc", clock.now())
    assert [o.status for o in dispatcher(store, clock, bad, good).run()] == ["sent", "sent"]
    assert [p.link[-1] for p in bad.calls[1:]] == ["1", "2"]  # in order


def test_duplicate_counts_as_sent(store: Store, clock: ManualClock) -> None:
    queue(store, clock, article(1))

    def dup(post: Post) -> Published:
        raise Duplicate("You are not allowed to create a Tweet with duplicate content.")

    [o] = dispatcher(store, clock, FakePublisher(dup)).run()
    row = store.deliveries()[0]
    assert o.status == "duplicate" and row.state == DeliveryState.SENT
    assert row.remote_id is None and "its id is unknown" in (row.note or "")


def test_rejected_fails_with_the_platforms_message(store: Store, clock: ManualClock) -> None:
    queue(store, clock, article(1))

    def reject(post: Post) -> Published:
        raise Rejected("Bad Request: message is too long")

    [o] = dispatcher(store, clock, FakePublisher(reject)).run()
    row = store.deliveries()[0]
    assert o.status == "failed" and row.state == DeliveryState.FAILED
    assert row.last_error == "Bad Request: message is too long"


def test_a_post_that_cannot_fit_fails_with_the_reason_and_the_rest_go(store: Store, clock: ManualClock) -> None:
    one_long_word = "الاستراتيجياتالعسكريةالمشتركة"  # 30 letters: with the link it can never fit in 45
    queue(store, clock, article(1, one_long_word), article(2))
    pub = FakePublisher(ok, rule=LengthRule(45))
    outcomes = dispatcher(store, clock, pub).run()
    assert [o.status for o in outcomes] == ["failed", "sent"]
    rows = {r.guid[-1]: r for r in store.deliveries()}
    assert rows["1"].state == DeliveryState.FAILED and "cannot fit in 45" in (rows["1"].last_error or "")
    assert rows["2"].state == DeliveryState.SENT and rows["2"].text == "خبر رقم 2 عن…\n\nhttps://news.example/?p=2"
    with pytest.raises(ComposeError):
        compose_post(article(1, one_long_word), "{title}\n\n{link}", "قريش", LengthRule(45))


def test_an_interrupted_send_is_resent_where_safe_and_in_doubt_elsewhere(store: Store, clock: ManualClock) -> None:
    queue(store, clock, article(1), accounts=("safe", "unsafe"))
    safe = FakePublisher(ok, account_id="safe")
    unsafe = FakePublisher(ok, account_id="unsafe", resend_is_safe=False)
    d = dispatcher(store, clock, safe, unsafe)
    # Claim both and freeze their text as a dying process would, then "die" before recording anything.
    for _ in range(2):
        claimed = store.claim_next(clock.now(), ["safe", "unsafe"], timedelta(minutes=2))
        assert claimed is not None
        store.freeze_text(claimed.id, d.compose(claimed.account_id, claimed.article, claimed.article_id),
                          clock.now())
    frozen = {r.account_id: r.text for r in store.deliveries()}
    queue(store, clock, article(1, "تعديل بعد الانقطاع"), accounts=("safe", "unsafe"))
    assert d.run() == []  # the claims have not expired yet
    clock.advance(timedelta(minutes=2, seconds=1))
    expire_claims(store)
    outcomes = d.run()
    assert [(o.account_id, o.status) for o in outcomes] == [("safe", "sent")]
    assert safe.calls[0].text == frozen["safe"]  # the frozen text, not the edited headline
    rows = {r.account_id: r for r in store.deliveries()}
    assert rows["unsafe"].state == DeliveryState.IN_DOUBT and "may or may not" in (rows["unsafe"].note or "")
    assert unsafe.calls == []


def test_an_unexpected_publisher_bug_never_guesses(store: Store, clock: ManualClock) -> None:
    queue(store, clock, article(1), accounts=("safe", "unsafe"))

    def bug(post: Post) -> Published:
        raise KeyError("oops")

    outcomes = dispatcher(store, clock, FakePublisher(bug, account_id="safe"),
                          FakePublisher(bug, account_id="unsafe", resend_is_safe=False)).run()
    assert {o.account_id: o.status for o in outcomes} == {"safe": "retry", "unsafe": "in_doubt"}


def test_stop_finishes_the_current_send_and_starts_no_other(store: Store, clock: ManualClock) -> None:
    import threading

    queue(store, clock, article(1), article(2), article(3))
    stop = threading.Event()

    def stop_after(post: Post) -> Published:
        stop.set()
        return ok(post)

    pub = FakePublisher(stop_after)
    outcomes = dispatcher(store, clock, pub).run(stop=stop)
    assert [o.status for o in outcomes] == ["sent"] and len(pub.calls) == 1
    assert [r.state for r in store.deliveries()] == [DeliveryState.SENT, DeliveryState.QUEUED, DeliveryState.QUEUED]


def test_a_reset_time_in_the_past_still_waits_a_little(store: Store, clock: ManualClock) -> None:
    queue(store, clock, article(1))

    def limited(post: Post) -> Published:
        raise RateLimited("Too Many Requests", clock.now() - timedelta(minutes=5))  # the platform's clock is behind

    pub = FakePublisher(limited)
    [o] = dispatcher(store, clock, pub).run()  # one call, not a tight loop
    assert o.status == "rate_limited" and len(pub.calls) == 1
    assert store.account_state("acc").not_before == clock.now() + timedelta(seconds=5)


def test_a_claim_that_died_before_its_text_was_frozen_is_always_safe_to_send(store: Store, clock: ManualClock) -> None:
    queue(store, clock, article(1), accounts=("unsafe",))
    unsafe = FakePublisher(ok, account_id="unsafe", resend_is_safe=False)
    assert store.claim_next(clock.now(), ["unsafe"], timedelta(minutes=2)) is not None  # then the process dies
    clock.advance(timedelta(minutes=3))
    expire_claims(store)
    [o] = dispatcher(store, clock, unsafe).run()
    assert o.status == "sent" and len(unsafe.calls) == 1


def test_a_bug_while_composing_loses_nothing(store: Store, clock: ManualClock) -> None:
    queue(store, clock, article(1))
    pub = FakePublisher(ok)
    d = dispatcher(store, clock, pub)
    real = d.compose

    def broken(account_id: str, a: Article, article_id: int) -> str:
        raise RuntimeError("template engine exploded")

    d.compose = broken
    [o] = d.run()
    assert o.status == "retry" and state(store) == DeliveryState.QUEUED and pub.calls == []
    d.compose = real
    clock.advance(timedelta(minutes=1))
    [o] = d.run()
    assert o.status == "sent"
