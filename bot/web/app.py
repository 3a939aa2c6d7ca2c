"""The Starlette application of the daemon's HTTP side: ping, ``/healthz``, ``/metrics`` and, when configured,
the newsroom console at ``/``.

- ``POST /ping/<token>``: a plain POST, or WordPress's XML-RPC ``weblogUpdates.ping`` /
  ``weblogUpdates.extendedPing`` (Settings → Writing → Update Services): poll the site's feeds now, then
  dispatch. The body is never trusted: it only triggers a poll. A wrong token gets 404 (``server.BodyGuard``
  says so before a byte of the body is read).
- ``POST /wordpress/notice``: the companion WordPress plugin's signed notice (``bot.web.notice``: an HMAC of
  the body with ``server.plugin_secret``, a fresh timestamp, never replayed): a ping (and an edit's say read
  again). ``POST /wordpress/status``, signed the same way: each account's delivery of a post (the plugin's
  panel). Anything else, 404.
- ``GET /healthz``: 200 when the scheduler runs and the store answers; 503 with what is wrong.
- ``GET /metrics``: Prometheus text format; behind ``Authorization: Bearer <server.metrics_token>`` when set.
- ``GET /media/<token>.<ext>``: an image put there for a platform that fetches it (Instagram, Threads), at an
  unguessable address (32 random bytes; only their hash is stored) until it expires or is withdrawn; 404 else.

Every answer carries a strict Content-Security-Policy (no inline script or style), ``X-Frame-Options: DENY``,
``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.web.notice import PATH as NOTICE_PATH
from bot.web.notice import STATUS_PATH, Notice, Notices, Refused

if TYPE_CHECKING:
    from bot.web.console import Console

_T = TypeVar("_T")
log = logging.getLogger("bot.web")

XMLRPC_OK = (b"<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"
             b"<member><name>flerror</name><value><boolean>0</boolean></value></member>"
             b"<member><name>message</name><value><string>Thanks for the ping.</string></value></member>"
             b"</struct></value></param></params></methodResponse>")
#: No inline script or style anywhere; images may come from the site's own pages (article images, https).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
#: A hosted image's token: ``secrets.token_urlsafe(32)``.
MEDIA_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
SECURITY_HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]


@dataclass(frozen=True)
class Hooks:
    """What the HTTP side asks of the daemon (or of ``bot console``, which has no scheduler)."""

    health: Callable[[], tuple[bool, dict[str, Any]]]  #: (ok, report)
    metrics: Callable[[], bytes] | None = None  #: Prometheus text; None: no /metrics
    ping: Callable[[], None] | None = None  #: poll now; None: no ping endpoint
    metrics_token: Callable[[], str | None] = lambda: None  #: /metrics wants this bearer token when set
    #: the hosted image whose address token hashes to the key, while it lasts (``bot.pictures``)
    image: Callable[[str], tuple[bytes, str] | None] | None = None
    #: the plugin's shared secret (``server.plugin_secret``); None: every notice is refused
    plugin_secret: Callable[[], str | None] = lambda: None
    #: a valid plugin notice (returns at once: what it asks for runs in the background); None: a ping
    notice: Callable[[Notice], None] | None = None
    #: each account's delivery of a WordPress post, by post id and address (the plugin's panel); None: no route
    post_status: Callable[[int, str], dict[str, Any]] | None = None


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in have]
            await send(message)

        await self.app(scope, receive, with_headers)


def build_app(hooks: Hooks, console: Console | None = None) -> ASGIApp:
    """The whole HTTP side as one ASGI app (wrap it in ``server.BodyGuard``: :class:`~bot.web.WebSide` does)."""

    async def healthz(request: Request) -> Response:
        ok, report = await run_in_threadpool(hooks.health)
        return JSONResponse(report, status_code=200 if ok else 503)

    async def metrics(request: Request) -> Response:
        assert hooks.metrics is not None
        token = hooks.metrics_token()
        if token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return PlainTextResponse("metrics need the bearer token (server.metrics_token)\n", status_code=401,
                                         headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        body = await run_in_threadpool(hooks.metrics)
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    async def ping(request: Request) -> Response:
        assert hooks.ping is not None
        body = await request.body()  # read whole and bounded by BodyGuard, which also checked the token
        xmlrpc = b"<methodCall" in body[:1000]
        peer = request.client.host if request.client else "?"
        log.info("ping received (%s) from %s: polling now", "XML-RPC" if xmlrpc else "POST", peer)
        await run_in_threadpool(hooks.ping)
        if xmlrpc:
            return Response(XMLRPC_OK, media_type="text/xml")
        return JSONResponse({"ok": True, "polling": True}, status_code=202)

    notices = Notices(hooks.plugin_secret)

    async def signed(request: Request, verify: Callable[[Mapping[str, str], bytes], _T], what: str) -> _T | Response:
        """The plugin's request checked (its head was, by BodyGuard, before its body was read whole); 404 else."""
        body = await request.body()
        try:
            return verify(request.headers, body)
        except Refused as exc:
            peer = request.client.host if request.client else "?"
            log.warning("a plugin %s from %s refused: %s", what, peer, exc)
            return PlainTextResponse("not found\n", status_code=404)

    async def wordpress_notice(request: Request) -> Response:
        assert hooks.ping is not None
        found = await signed(request, notices.verify, "notice")
        if isinstance(found, Response):
            return found
        peer = request.client.host if request.client else "?"
        log.info("plugin notice from %s: %s of post %d: polling now", peer, found.event, found.post_id)
        if hooks.notice is not None:
            await run_in_threadpool(hooks.notice, found)
        else:
            await run_in_threadpool(hooks.ping)
        return JSONResponse({"ok": True, "polling": True}, status_code=202)

    async def wordpress_status(request: Request) -> Response:
        assert hooks.post_status is not None
        asked = await signed(request, notices.verify_status, "status request")
        if isinstance(asked, Response):
            return asked
        answer = await run_in_threadpool(hooks.post_status, asked.post_id, asked.url)
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    async def media(request: Request) -> Response:
        assert hooks.image is not None
        token = request.path_params["name"].rsplit(".", 1)[0]
        if not MEDIA_TOKEN.fullmatch(token):
            return PlainTextResponse("not found\n", status_code=404)
        from bot.pictures import hosted_key

        found = await run_in_threadpool(hooks.image, hosted_key(token))
        if found is None:
            return PlainTextResponse("not found\n", status_code=404)
        data, kind = found
        return Response(data, media_type=kind, headers={"Cache-Control": "private, max-age=300",
                                                        "X-Robots-Tag": "noindex"})

    async def not_found(request: Request) -> Response:
        return PlainTextResponse("not found\n", status_code=404)

    routes: list[BaseRoute] = [Route("/healthz", healthz, methods=["GET"])]
    if hooks.metrics is not None:
        routes.append(Route("/metrics", metrics, methods=["GET"]))
    if hooks.ping is not None:
        routes.append(Route("/ping/{token}", ping, methods=["POST"]))
        routes.append(Route(NOTICE_PATH, wordpress_notice, methods=["POST"]))
    if hooks.post_status is not None:
        routes.append(Route(STATUS_PATH, wordpress_status, methods=["POST"]))
    if hooks.image is not None:
        routes.append(Route("/media/{name}", media, methods=["GET", "HEAD"]))
    if console is not None:
        from starlette.routing import Mount
        from starlette.staticfiles import StaticFiles

        from bot.web import compose, pages, people

        routes += [*people.routes(console), *pages.routes(console), *compose.routes(console),
                   Mount("/static", StaticFiles(packages=[("bot.web", "static")]), name="static")]
    else:
        routes.append(Route("/", not_found))
    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_found})
    app.router.redirect_slashes = False  # a redirect would be built from the request's Host: none at all
    return SecurityHeaders(app)


async def _not_found(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("not found\n", status_code=404)
