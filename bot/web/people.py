"""The console's views for people: sign-in (``GET``/``POST /login``), sign-out, and the users page (admins)."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.errors import UsageError
from bot.operations.users import ROLES, Refused
from bot.web.console import own_path

if TYPE_CHECKING:
    from bot.web.console import Console, Page


def routes(console: Console) -> list[BaseRoute]:
    def login_form(page: Page) -> Response:
        if page.user is not None:
            return RedirectResponse(_next(page.request.query_params.get("next")), 303)
        return _login(console, page)

    def login(page: Page) -> Response:
        token = console.login_token(page, fresh=False)
        given = page.form.get("csrf", "")
        if not token or not hmac.compare_digest(given.encode(), token.encode()):
            return _login(console, page, page.speak.gettext("This form has expired: reload the page and try again."),
                          403)
        name = page.form.get("username", "").strip()
        password = page.form.get("password", "")
        address = page.request.client.host if page.request.client else "?"
        try:
            user = page.ops.sign_in(name, password, address)
        except Refused as exc:
            if exc.reason == "busy":
                return _login(console, page, page.speak.gettext("Too many sign-ins at once. Try again in a moment."),
                              503)
            if exc.reason == "throttled":
                message = page.speak.gettext("Too many failed sign-ins. Try again after {time}.",
                                             time=page.speak.time(exc.until, "short"))
                return _login(console, page, message, 429)
            return _login(console, page, page.speak.gettext("The name or the password is wrong."), 401)
        console.start_session(page, user)
        return RedirectResponse(_next(page.form.get("next")), 303)

    def logout(page: Page) -> Response:
        console.end_session(page)
        return RedirectResponse("/login", 303)

    def users(page: Page) -> Response:
        return console.render(page, "users.html", users=page.ops.list_users(), roles=ROLES)

    def add_user(page: Page) -> Response:
        try:
            page.ops.add_user(page.form.get("username", "").strip(), page.form.get("role", ""),
                              page.form.get("password", ""))
        except UsageError as exc:
            return console.done(page, "/users", str(exc), "error")
        return console.done(page, "/users", page.speak.gettext("User added."))

    def change_user(page: Page) -> Response:
        name = page.request.path_params["name"]
        try:
            if page.form.get("action") == "remove":
                if page.user is not None and name == page.user.name:
                    raise UsageError(page.speak.gettext("You cannot remove yourself."))
                page.ops.remove_user(name)
                return console.done(page, "/users", page.speak.gettext("User removed."))
            page.ops.change_user(name, password=page.form.get("password") or None, role=page.form.get("role") or None)
        except UsageError as exc:
            return console.done(page, "/users", str(exc), "error")
        return console.done(page, "/users", page.speak.gettext("User changed."))

    return [
        Route("/login", console.view(None, login_form), methods=["GET"]),
        Route("/login", console.view(None, login), methods=["POST"]),
        Route("/logout", console.view("viewer", logout, write=True), methods=["POST"]),
        Route("/users", console.view("admin", users), methods=["GET"]),
        Route("/users", console.view("admin", add_user, write=True), methods=["POST"]),
        Route("/users/{name}", console.view("admin", change_user, write=True), methods=["POST"]),
    ]


def _login(console: Console, page: Page, error: str | None = None, code: int = 200) -> Response:
    token = console.login_token(page, fresh=True)
    config = page.ops.bot.config.console
    return console.render(page, "login.html", code, login_csrf=token, error=error,
                          next=_next(page.request.query_params.get("next") or page.form.get("next")),
                          wordpress=bool(config and config.wordpress_login))


def _next(value: str | None) -> str:
    """Where to go after signing in: a path of the console's own, never another site."""
    return "/" if value and value.startswith("/login") else own_path(value)
