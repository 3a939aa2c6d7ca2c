"""The console's writing views: compose a post by hand (a live preview per platform, exactly as each will get
it; send now or schedule), and edit a waiting post's text with a live counter as its platform counts. Both use
the daemon's own composition, length and cost code, through the operations layer."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.clock import wall_time
from bot.errors import BotError, UsageError
from bot.models import DeliveryState
from bot.operations.editing import TextMeasure, text_token
from bot.store import DeliveryRow
from bot.web.console import by, number

if TYPE_CHECKING:
    from bot.web.console import Console, Page

#: The most a text field may hold (a platform's own limit is checked as it counts).
MAX_TEXT = 5000
#: A compose form's own name for its post (so the form sent twice posts once).
KEY = re.compile(r"^[0-9a-f]{32}$")
#: A card's file in the card cache.
CARD_FILE = re.compile(r"[0-9a-f]{64}\.(png|jpg)")


def routes(console: Console) -> list[BaseRoute]:
    def compose(page: Page) -> Response:
        config = page.ops.bot.config
        return console.render(page, "compose.html", accounts=[a for a in config.accounts if a.enabled],
                              form={"key": uuid.uuid4().hex}, chosen=None)

    def preview(page: Page) -> Response:
        try:
            text, url, chosen = _fields(page)
            results = page.ops.manual_post(text=text, url=url, account_ids=chosen, link=_url(page, "link"),
                                           image=_url(page, "image"), dry_run=True, force=False, by=by(page))
        except BotError as exc:
            return console.render(page, "_previews.html", results=[], error=str(exc))
        return console.render(page, "_previews.html", results=results, error=None,
                              platforms={a.id: a.platform for a in page.ops.bot.config.accounts},
                              cards={r.account: Path(r.card).name for r in results if r.card})

    def send(page: Page) -> Response:
        try:
            text, url, chosen = _fields(page)
            at = _when(page) if page.form.get("action") == "schedule" else None
            key = page.form.get("key", "")
            results = page.ops.manual_post(text=text, url=url, account_ids=chosen, link=_url(page, "link"),
                                           image=_url(page, "image"), dry_run=False, force=False, by=by(page),
                                           at=at, key=key if KEY.match(key) else None)
        except BotError as exc:
            config = page.ops.bot.config
            return console.render(page, "compose.html", 400, accounts=[a for a in config.accounts if a.enabled],
                                  form=page.form, chosen=page.lists.get("account", []), error=str(exc))
        return console.render(page, "compose_done.html", results=results, at=at)

    def edit_form(page: Page) -> Response:
        row = _waiting(page)
        if row is None:
            return PlainTextResponse(page.speak.gettext("This post no longer waits."), 404)
        try:
            text, error = page.ops.composed_text(row.id), None
        except BotError as exc:  # no post of the article fits (the editor writes one), or its account is gone
            text, error = "", str(exc)
        return console.render(page, "edit.html", row=row, text=text, error=error,
                              measure=_measure(page, row.account_id, text),
                              seen=text_token(row.text))

    def measure(page: Page) -> Response:
        row = page.ops.bot.store.delivery(_id(page))
        if row is None:
            return PlainTextResponse("", 404)
        measured = _measure(page, row.account_id, page.form.get("text", "")[:MAX_TEXT])
        if measured is None:
            return PlainTextResponse("", 404)
        return console.render(page, "_counter.html", measure=measured)

    def save(page: Page) -> Response:
        delivery_id = _id(page)
        text = page.form.get("text", "")[:MAX_TEXT]
        seen = page.form.get("seen") or None
        try:
            if page.form.get("action") == "approve":
                page.ops.approve(delivery_id, by(page), text, seen=seen)
            else:
                page.ops.edit_text(delivery_id, text, by(page), seen=seen)
        except BotError as exc:
            row = page.ops.bot.store.delivery(delivery_id)
            if row is None:
                return console.done(page, "/queue", str(exc), "error")
            if seen is not None and seen != text_token(row.text) and row.text is not None:
                text = row.text  # changed by someone else meanwhile: the page shows the text it has now
            return console.render(page, "edit.html", 400, row=row, text=text, error=str(exc),
                                  measure=_measure(page, row.account_id, text),
                                  seen=text_token(row.text))
        return console.done(page, "/queue", page.speak.gettext("Saved."))

    def card(page: Page) -> Response:
        """A card drawn for a preview (a file of the card cache, named by the SHA-256 of what it shows)."""
        name, cache = page.request.path_params["name"], page.ops.bot.pictures.cache_dir
        if cache is None or not CARD_FILE.fullmatch(name):
            return PlainTextResponse("", 404)
        try:
            data = (cache / name).read_bytes()
        except OSError:
            return PlainTextResponse("", 404)
        kind = "image/jpeg" if name.endswith(".jpg") else "image/png"
        return Response(data, media_type=kind, headers={"Cache-Control": "private, max-age=86400"})

    v = console.view
    return [
        Route("/cards/{name}", v("viewer", card), methods=["GET"]),
        Route("/compose", v("editor", compose), methods=["GET"]),
        Route("/compose/preview", v("editor", preview, write=True), methods=["POST"]),
        Route("/compose", v("editor", send, write=True), methods=["POST"]),
        Route("/posts/{id}/edit", v("editor", edit_form), methods=["GET"]),
        Route("/posts/{id}/measure", v("editor", measure, write=True), methods=["POST"]),
        Route("/posts/{id}/edit", v("editor", save, write=True), methods=["POST"]),
    ]


def _id(page: Page) -> int:
    return number(page.request.path_params["id"], 0)


def _measure(page: Page, account_id: str, text: str) -> TextMeasure | None:
    """The live counter's figures, or None when the post's account left the config."""
    try:
        return page.ops.measure(account_id, text)
    except BotError:
        return None


def _waiting(page: Page) -> DeliveryRow | None:
    row = page.ops.bot.store.delivery(_id(page))
    waiting = (DeliveryState.QUEUED.value, DeliveryState.AWAITING_APPROVAL.value)
    return row if row is not None and row.state in waiting else None


def _url(page: Page, name: str) -> str | None:
    """A form's address: http(s) only (never a path on the server, nor a ``file:`` URL); "" is none."""
    value = page.form.get(name, "").strip()[:2000]
    if value and not value.lower().startswith(("https://", "http://")):
        raise UsageError(page.speak.gettext("An address starts with https://"))
    return value or None


def _fields(page: Page) -> tuple[str | None, str | None, list[str]]:
    text = page.form.get("text", "").strip()[:MAX_TEXT] or None
    url = _url(page, "url")
    enabled = {a.id for a in page.ops.bot.config.accounts if a.enabled}
    chosen = [a for a in dict.fromkeys(page.lists.get("account", [])) if a]
    if not chosen:
        raise UsageError(page.speak.gettext("Choose at least one account."))
    if any(a not in enabled for a in chosen):  # the page offers only these; a disabled account never posts
        raise UsageError(page.speak.gettext("Choose among the accounts shown."))
    return text, url, chosen


def _when(page: Page) -> datetime:
    """The form's ``at`` (a ``datetime-local`` value) as a time in the site's timezone."""
    value = page.form.get("at", "")
    try:
        naive = datetime.strptime(value, "%Y-%m-%dT%H:%M")
    except ValueError:
        raise UsageError(page.speak.gettext("Give the time to post at, as the site's calendar and clock say."),
                         ) from None
    try:
        return wall_time(naive, page.ops.bot.config.site.tz)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
