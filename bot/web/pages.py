"""The console's reading pages and the actions on them: the overview (problems first), the queue, approvals,
history and a post's own page, accounts and feeds. Every action is the operations layer's, with the signed-in
person as ``by``; the overview and the queue refresh themselves (htmx polling ``/live/...``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.config import AccountConfig, BotConfig
from bot.errors import BotError
from bot.models import DeliveryState
from bot.store import DeliveryRow
from bot.web.console import by, number, own_path
from bot.web.views import account_view, feed_view, profile_url

if TYPE_CHECKING:
    from bot.web.console import Console, Page

#: History rows a page.
PAGE_SIZE = 50
#: Seconds between a live page's refreshes.
LIVE_EVERY = 5
#: Posts awaiting approval shown at once (each with the text it would go with).
APPROVALS_SHOWN = 100


def routes(console: Console) -> list[BaseRoute]:
    def overview_data(page: Page) -> dict[str, Any]:
        status = page.ops.status(limit=10)
        config = page.ops.bot.config
        for p in status["problems"]:
            if p["kind"] == "delivery":
                p["check"] = _profile(config, p["account"])
            p["held"] = p["kind"] == "account" and any(a["id"] == p.get("account") and a["held"]
                                                       for a in status["accounts"])
        return {"status": status, "live_every": LIVE_EVERY}

    def overview(page: Page) -> Response:
        return console.render(page, "overview.html", **overview_data(page))

    def live_overview(page: Page) -> Response:
        return console.render(page, "_overview.html", **overview_data(page))

    def queue_data(page: Page) -> dict[str, Any]:
        status = page.ops.status(limit=1)
        accounts = {a["id"]: a for a in status["accounts"]}
        return {"queue": status["queue"], "accounts": accounts, "live_every": LIVE_EVERY}

    def queue(page: Page) -> Response:
        return console.render(page, "queue.html", **queue_data(page))

    def live_queue(page: Page) -> Response:
        return console.render(page, "_queue.html", **queue_data(page))

    def approvals(page: Page) -> Response:
        rows = page.ops.bot.store.deliveries(state=DeliveryState.AWAITING_APPROVAL.value, limit=APPROVALS_SHOWN)
        return console.render(page, "approvals.html", rows=[(row, _shown(page, row)) for row in rows])

    def history(page: Page) -> Response:
        q = page.request.query_params
        config = page.ops.bot.config
        shown_page = max(1, number(q.get("page"), 1))
        since, until = _day(q.get("since"), config), _day(q.get("until"), config, end=True)
        state = q.get("state") or None
        if state not in {s.value for s in DeliveryState}:
            state = None
        account = q.get("account") or None
        search = (q.get("q") or None, account, state, since, until)
        rows, total = page.ops.history(*search, offset=(shown_page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        pages = max(1, -(-total // PAGE_SIZE))
        if shown_page > pages:  # past the last page: the last page
            shown_page = pages
            rows, total = page.ops.history(*search, offset=(shown_page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        keep = {k: v for k, v in q.items() if k != "page" and v}
        return console.render(page, "history.html", rows=rows, total=total, number=shown_page, pages=pages,
                              query=q, keep=keep, states=[s.value for s in DeliveryState],
                              account_ids=[a.id for a in config.accounts])

    def post(page: Page) -> Response:
        delivery_id = number(page.request.path_params["id"], 0)
        row = page.ops.bot.store.delivery(delivery_id)
        if row is None:
            return PlainTextResponse(page.speak.gettext("There is no such post."), 404)
        config = page.ops.bot.config
        shown = _shown(page, row) if row.state == DeliveryState.AWAITING_APPROVAL else None
        return console.render(page, "post.html", row=row, events=page.ops.post_history(delivery_id),
                              check=_profile(config, row.account_id), shown=shown, who=page.speak.who)

    def accounts(page: Page) -> Response:
        config = page.ops.bot.config
        status = page.ops.status(limit=1)
        states = {a["id"]: a for a in status["accounts"]}
        feeds = {f["id"]: f for f in status["feeds"]}
        secrets = config.secrets()
        return console.render(page, "accounts.html",
                              accounts=[(account_view(a, secrets), states.get(a.id, {})) for a in config.accounts],
                              feeds=[(feed_view(f, secrets), feeds.get(f.id, {})) for f in config.feeds])

    def act(action: Callable[[Page, int], str], back: str = "/queue") -> Callable[[Page], Response]:
        def run(page: Page) -> Response:
            delivery_id = number(page.request.path_params["id"], 0)
            to = own_path(page.form.get("back"), back)
            try:
                said = action(page, delivery_id)
            except BotError as exc:
                return console.done(page, to, str(exc), "error")
            if "the daemon sends it" in said:
                return console.done(page, to, page.speak.gettext("Queued: it goes out in a moment."))
            if "waits" in said:  # approved, or sent now, but its account cannot post yet
                return console.done(page, to, page.speak.gettext("It waits for its account: the queue says why."))
            return console.done(page, to, page.speak.gettext("Done."))
        return run

    def withdraw(page: Page) -> Response:
        """Delete every post out of an article the site withdrew (the overview's one button for them): asked of
        the operations layer, made by the daemon's reviser (at once where there is no daemon to wake). Only for
        such an article: deleting the posts of one still published is an admin's, post by post (``unpost``)."""
        delivery_id = number(page.request.path_params["id"], 0)
        to = own_path(page.form.get("back"), "/")
        if _withdrawn_posts(page, delivery_id) is None:
            return console.done(page, to, page.speak.gettext(
                "Only the posts of an article the site withdrew are deleted here."), "error")
        try:
            page.ops.withdraw(delivery_id, by(page), withdrawn_only=True)
        except BotError as exc:
            return console.done(page, to, str(exc), "error")
        return console.done(page, to, *_withdrawal(page, delivery_id))

    def account_act(hold: bool) -> Callable[[Page], Response]:
        def run(page: Page) -> Response:
            account_id = page.request.path_params["id"]
            who = by(page)
            try:
                if hold:
                    page.ops.hold(account_id, who, page.form.get("reason") or None)
                else:
                    page.ops.release(account_id, who, page.form.get("reason") or None)
            except BotError as exc:
                return console.done(page, own_path(page.form.get("back")), str(exc), "error")
            return console.done(page, own_path(page.form.get("back")), page.speak.gettext("Held.") if hold
                                else page.speak.gettext("Released."))
        return run

    v = console.view
    return [
        Route("/", v("viewer", overview), methods=["GET"]),
        Route("/live/overview", v("viewer", live_overview), methods=["GET"]),
        Route("/queue", v("viewer", queue), methods=["GET"]),
        Route("/live/queue", v("viewer", live_queue), methods=["GET"]),
        Route("/approvals", v("viewer", approvals), methods=["GET"]),
        Route("/history", v("viewer", history), methods=["GET"]),
        Route("/posts/{id}", v("viewer", post), methods=["GET"]),
        Route("/accounts", v("viewer", accounts), methods=["GET"]),
        Route("/posts/{id}/send", v("editor", act(lambda p, i: p.ops.send_now(i, by(p))), write=True),
              methods=["POST"]),
        Route("/posts/{id}/skip", v("editor", act(lambda p, i: p.ops.skip(i, by(p))), write=True), methods=["POST"]),
        Route("/posts/{id}/retry", v("editor", act(lambda p, i: p.ops.retry(i, by(p))), write=True),
              methods=["POST"]),
        Route("/posts/{id}/approve", v("editor", act(lambda p, i: p.ops.approve(
            i, by(p), p.form.get("text") or None, seen=p.form.get("seen") or None), "/approvals"), write=True),
              methods=["POST"]),
        Route("/posts/{id}/reject", v("editor", act(lambda p, i: p.ops.reject(i, by(p), p.form.get("reason") or None),
                                                     "/approvals"), write=True), methods=["POST"]),
        Route("/posts/{id}/withdraw", v("editor", withdraw, write=True), methods=["POST"]),
        Route("/posts/{id}/unpost", v("admin", act(lambda p, i: p.ops.unpost(i, by(p))), write=True),
              methods=["POST"]),
        Route("/accounts/{id}/hold", v("admin", account_act(True), write=True), methods=["POST"]),
        Route("/accounts/{id}/release", v("admin", account_act(False), write=True), methods=["POST"]),
    ]


def _shown(page: Page, row: DeliveryRow) -> str | None:
    """The text a post awaiting approval would go with, as the approver sees it ("approve as is" sends exactly
    this: a headline edited in WordPress afterwards does not slip through unseen); None when none fits or its
    account left the config."""
    if row.text is not None:
        return row.text
    try:
        return page.ops.composed_text(row.id)
    except BotError:
        return None


def _withdrawn_posts(page: Page, delivery_id: int) -> Sequence[tuple[DeliveryRow, str | None, str | None]] | None:
    """The posts still out of this delivery's article, each with the change owed it and its last error, when the
    site withdrew the article; None when it did not, or none of its posts is out any more."""
    row = page.ops.bot.store.delivery(delivery_id)
    if row is None:
        return None
    return next((w.posts for w in page.ops.bot.store.withdrawn(article_id=row.article_id)), None)


def _withdrawal(page: Page, delivery_id: int) -> tuple[str, str]:
    """What became of the deletions just asked for a withdrawn article's posts, as the store has them now: all
    gone; some not being deleted (given up, or no id on the platform: the overview says which); or being made
    (by the daemon's reviser)."""
    left = _withdrawn_posts(page, delivery_id)
    if not left:
        return page.speak.gettext("The posts were deleted."), "ok"
    if any(owed is None for _, owed, _ in left):
        return page.speak.gettext("Some posts could not be deleted: the overview says why."), "error"
    return page.speak.gettext("The posts are being deleted."), "ok"


def _day(value: str | None, config: BotConfig, *, end: bool = False) -> datetime | None:
    """A ``YYYY-MM-DD`` of the site's calendar as UTC: its start, or (``end``) the next day's start."""
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None
    if not 1971 <= day.year <= 9998:  # a day whose UTC start exists, and its next day too
        return None
    start = datetime.combine(day, time(), tzinfo=config.site.tz)
    return start + timedelta(days=1) if end else start


def _profile(config: BotConfig, account_id: str) -> str | None:
    account: AccountConfig | None = next((a for a in config.accounts if a.id == account_id), None)
    return None if account is None else profile_url(account)
