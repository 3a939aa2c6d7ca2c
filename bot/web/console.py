"""The newsroom console's frame: sessions, CSRF, roles, languages, templates and the page helper every view
goes through (``pages``, ``compose`` and ``people`` hold the views).

- A session is a random token in a signed, HttpOnly, SameSite=Lax cookie (Secure over HTTPS); the store keeps
  only its hash, with the user and the session's CSRF token. It ends at sign-out, when the user's password or
  role changes or the user is removed, and after ``console.session_idle`` unused.
- Every state-changing request is a POST that carries the session's CSRF token (a form field, or the
  ``X-CSRF-Token`` header htmx sends); a cross-site one (``Sec-Fetch-Site: cross-site``) is refused as well.
  The sign-in form has a token of its own (a signed cookie and the same value in the form).
- Every view names the least role it needs, checked here on the server before the view runs.
- Everything a view does with the store or a platform runs on a worker thread, never on the event loop.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from itsdangerous import BadSignature, Signer
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from bot.operations.editing import text_token
from bot.operations.users import ROLES, role_at_least
from bot.store import User
from bot.web.i18n import LANGUAGES, Speaker
from bot.web.views import safe_url

if TYPE_CHECKING:
    from bot.operations import Operations

SESSION_COOKIE = "bot_session"
LOGIN_COOKIE = "bot_login"
FLASH_COOKIE = "bot_flash"
LANG_COOKIE = "bot_lang"


@dataclass
class Page:
    """One request as a view sees it: who asks, in which language, with which form, over which operations."""

    request: Request
    ops: Operations
    user: User | None
    csrf: str
    speak: Speaker
    form: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)  #: form fields given more than once (checkboxes)
    flash: dict[str, str] | None = None
    cookies: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  #: to set on the answer

    @property
    def now(self) -> datetime:
        return self.ops.bot.clock.now()

    def may(self, role: str) -> bool:
        return self.user is not None and role_at_least(self.user.role, role)


View = Callable[[Page], Response]


class Console:
    """The console over the operations of a bot (``ops()`` gives them afresh: a reload's new config shows)."""

    def __init__(self, ops: Callable[[], Operations]) -> None:
        self.ops = ops
        self.env = Environment(loader=PackageLoader("bot.web", "templates"), autoescape=select_autoescape(["html"]),
                               trim_blocks=True, lstrip_blocks=True)
        self.env.filters["safe_url"] = safe_url
        self.env.filters["token"] = text_token

    # The page helper.

    def view(self, role: str | None, fn: View, *, write: bool = False) -> Callable[[Request], Awaitable[Response]]:
        """An endpoint: the session checked (``role`` None: anyone, as the sign-in page), the CSRF token of a
        ``write``, the role, then ``fn`` on a worker thread."""
        assert role is None or role in ROLES

        async def endpoint(request: Request) -> Response:
            form: dict[str, str] = {}
            lists: dict[str, list[str]] = {}
            if request.method == "POST":
                data = await request.form(max_files=0, max_fields=200)
                for key, value in data.multi_items():
                    if isinstance(value, str):
                        form.setdefault(key, value)
                        lists.setdefault(key, []).append(value)
            return await run_in_threadpool(self._serve, request, fn, role, write, form, lists)

        return endpoint

    def _serve(self, request: Request, fn: View, role: str | None, write: bool, form: dict[str, str],
               lists: dict[str, list[str]]) -> Response:
        started = time.perf_counter()
        response = self._answer(request, fn, role, write, form, lists)
        # The server's own time for the page (the session, the store, rendering), for the benchmark and a
        # browser's developer tools.
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    def _answer(self, request: Request, fn: View, role: str | None, write: bool, form: dict[str, str],
                lists: dict[str, list[str]]) -> Response:
        ops = self.ops()
        config = ops.bot.config.console
        if config is None:  # the config has no console (any longer): as if there were none
            return PlainTextResponse("not found\n", 404)
        signer = _signer(config.secret_key.get_secret_value(), "session")
        user, csrf = None, ""
        raw = request.cookies.get(SESSION_COOKIE)
        if raw:
            try:
                token = signer.unsign(raw).decode()
            except BadSignature:
                token = None
            if token:
                found = ops.bot.store.session(_hash(token), ops.bot.clock.now(), config.session_idle,
                                              config.session_max, touch=not request.url.path.startswith("/live/"))
                if found:
                    user, csrf = found
        page = Page(request, ops, user, csrf, self.speaker(request, ops), form, lists)
        page.flash = self._flash(request, config.secret_key.get_secret_value())
        if role is not None and user is None:
            if request.headers.get("hx-request"):
                return _with(PlainTextResponse("sign in again", 401, headers={"HX-Redirect": "/login"}), page)
            return RedirectResponse("/login?next=" + quote(request.url.path), 303)
        if write and role is not None:
            given = form.get("csrf") or request.headers.get("x-csrf-token", "")
            if not csrf or not hmac.compare_digest(given.encode(), csrf.encode()) \
                    or request.headers.get("sec-fetch-site") == "cross-site":
                return PlainTextResponse(page.speak.gettext("This form has expired: reload the page and try again."),
                                         403)
        if role is not None and not page.may(role):
            return PlainTextResponse(page.speak.gettext("Your role may not do this."), 403)
        response = fn(page)
        return _with(response, page)

    def speaker(self, request: Request, ops: Operations) -> Speaker:
        config = ops.bot.config.console
        default = config.language if config else "ar"
        asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or default
        return Speaker(asked if asked in LANGUAGES else default, ops.bot.config.site.tz)

    # Rendering.

    def render(self, page: Page, template: str, code: int = 200, **values: Any) -> HTMLResponse:
        t = self.env.get_template(template)
        html = t.render(page=page, user=page.user, csrf=page.csrf, lang=page.speak.lang, dir=page.speak.dir,
                        _=page.speak.gettext, ngettext=page.speak.ngettext, time=page.speak.time,
                        input_time=page.speak.input_time, flash=page.flash, may=page.may,
                        site=page.ops.bot.config.site, path=page.request.url.path, **values)
        response = HTMLResponse(html, code)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Vary"] = "Cookie, HX-Request"
        return response

    def done(self, page: Page, to: str, message: str, kind: str = "ok") -> Response:
        """After an action: back to ``to`` (a path of the console's own), with ``message`` shown once."""
        to = own_path(to)
        said = json.dumps({"kind": kind, "text": message[:500]}, ensure_ascii=False).encode()
        value = _signer(page, "flash").sign(said).decode()
        page.cookies.append((FLASH_COOKIE, quote(value), {"max_age": 60}))
        if page.request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": to})
        return RedirectResponse(to, 303)

    def _flash(self, request: Request, secret: str) -> dict[str, str] | None:
        from urllib.parse import unquote

        raw = request.cookies.get(FLASH_COOKIE)
        if not raw or request.method != "GET":
            return None
        try:
            data = json.loads(_signer(secret, "flash").unsign(unquote(raw)))
        except (BadSignature, ValueError):
            return None
        return {"kind": str(data.get("kind", "ok")), "text": str(data.get("text", ""))}

    # Sessions.

    def start_session(self, page: Page, user: User) -> None:
        """A new session for ``user`` (one begun before in this browser ends: no session is fixed in advance)."""
        self.end_session(page)
        token = secrets.token_urlsafe(32)
        page.ops.bot.store.add_session(_hash(token), user.name, secrets.token_urlsafe(32), page.now)
        page.cookies.append((SESSION_COOKIE, _signer(page, "session").sign(token).decode(), {}))

    def end_session(self, page: Page) -> None:
        raw = page.request.cookies.get(SESSION_COOKIE)
        if raw:
            with contextlib.suppress(BadSignature):
                page.ops.bot.store.end_session(_hash(_signer(page, "session").unsign(raw).decode()))
        page.cookies.append((SESSION_COOKIE, "", {"max_age": 0}))

    def login_token(self, page: Page, *, fresh: bool) -> str:
        """The sign-in form's CSRF token: the signed cookie's, or a new one (``fresh``) set on the answer."""
        signer = _signer(page, "login")
        raw = page.request.cookies.get(LOGIN_COOKIE, "")
        try:
            token = signer.unsign(raw).decode() if raw else ""
        except BadSignature:
            token = ""
        if fresh and not token:
            token = secrets.token_urlsafe(24)
            page.cookies.append((LOGIN_COOKIE, signer.sign(token).decode(), {"max_age": 3600}))
        return token


def own_path(value: str | None, default: str = "/") -> str:
    """``value`` when it is a path of the console's own (never another site: ``//host``, ``\\host``, a
    scheme), else ``default``."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def number(value: str | None, default: int) -> int:
    """A number from a path or a query (digits, fewer than ten), else ``default``."""
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 10 else default


def by(page: Page) -> str:
    """Who acts: the signed-in person (a view that acts needs one)."""
    assert page.user is not None
    return page.user.name


def _signer(page_or_secret: Page | str, salt: str) -> Signer:
    """The signer of the console's cookies of one kind (``salt``), with its ``secret_key``."""
    if isinstance(page_or_secret, str):
        return Signer(page_or_secret, salt=f"bot.console.{salt}")
    config = page_or_secret.ops.bot.config.console
    assert config is not None
    return Signer(config.secret_key.get_secret_value(), salt=f"bot.console.{salt}")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _with(response: Response, page: Page) -> Response:
    """The answer with the page's cookies: HttpOnly, SameSite=Lax, Secure over HTTPS (or always)."""
    config = page.ops.bot.config.console
    secure = page.request.url.scheme == "https" or (config is not None and config.secure_cookies == "always")
    asked = page.request.query_params.get("lang")
    if asked in LANGUAGES and asked != page.request.cookies.get(LANG_COOKIE):
        page.cookies.append((LANG_COOKIE, asked, {"max_age": 365 * 86400}))
    if page.flash is not None:
        page.cookies.append((FLASH_COOKIE, "", {"max_age": 0}))
    seen: set[str] = set()
    for name, value, options in reversed(page.cookies):  # the last word on a cookie wins
        if name in seen:
            continue
        seen.add(name)
        response.set_cookie(name, value, httponly=True, samesite="lax", secure=secure, path="/", **options)
    return response
