"""uvicorn on a thread of its own, serving the Starlette app of ``bot.web.app``, with the limits the bot keeps.

uvicorn serves from one asyncio loop, so a connection that sends nothing costs no thread. On top of uvicorn's
own keep-alive timeout and its 16 KiB bound on a request head (h11), :class:`_Guarded` (uvicorn's h11 protocol)
adds what a public port needs:

- each connection has ``HEAD_TIMEOUT`` to send a whole request head, and after an answer ``IDLE_TIMEOUT`` +
  ``HEAD_TIMEOUT`` to send the next one, however slowly it drips bytes (uvicorn's keep-alive timer restarts
  at every byte); an answer has ``ANSWER_TIMEOUT`` to be made and taken by the client (one that stops
  reading is closed);
- a request head over ``MAX_HEAD`` is answered 431, however it arrives;
- at most ``max_connections`` are open at once, and ``max_per_address`` from one address (the loopback and
  the trusted proxies excepted): one more is closed at once, without an answer.

:class:`BodyGuard`, the outermost ASGI layer, looks at a request before any of its body is read: a request
that takes no body and has one, 400 (it is never read as the next request); a chunked body, 411; a declared
length over ``MAX_BODY``, 413; a ping to a wrong token, 404; a plugin's notice (``bot.web.notice``) without a
secret configured, with a missing or malformed signature or timestamp, or a stale one, 404. Then it reads the
body, in at most ``HEAD_TIMEOUT``, and hands the app the whole of it: no handler ever waits on a slow sender.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import resource
import socket
import threading
import time
from collections.abc import Callable
from typing import ClassVar

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.web import notice

log = logging.getLogger("bot.web")

#: A request's body, at most (a ping's, a console form's).
MAX_BODY = 64 * 1024
#: The request line and headers, at most (h11's bound on an incomplete event).
MAX_HEAD = 16 * 1024
#: Seconds a new connection has to send its request head, and a request to send its body.
HEAD_TIMEOUT = 10.0
#: Seconds a kept-alive connection may wait for its next request.
IDLE_TIMEOUT = 15.0
#: Connections open at once; a further one is closed straight away.
MAX_CONNECTIONS = 1024
#: Connections open at once from one address (a trusted proxy's excepted).
MAX_PER_ADDRESS = 32
#: Seconds an answer may take, from its request's head to its last byte taken by the client (a manual post
#: sent at once waits on its platforms, each within its own timeout).
ANSWER_TIMEOUT = 120.0
_NO_BODY = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "TRACE"})


class _Guarded(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head and for each answer, and bounds on open
    connections (all of them, and per address)."""

    side: ClassVar[WebSide]  #: the limits, set on a subclass per :class:`WebSide`

    _deadline: asyncio.TimerHandle | None = None
    _seen: object = None  #: the request cycle under way when the deadline was last armed
    _awaiting_head = False  #: the deadline is a head's (else an answer's)
    _head = 0  #: bytes of the awaited head received so far
    _tail = b""  #: the last bytes received, to find a head's end split across reads
    _peer: str | None = None  #: the address counted against the per-address bound

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        peer = (transport.get_extra_info("peername") or ("?",))[0]
        side = self.side
        if len(self.connections) > side.max_connections or (
                peer not in side.trusted and side.per_address.get(peer, 0) >= side.max_per_address):
            transport.close()  # over a bound: no answer, no buffer
            return
        self._peer = peer
        side.per_address[peer] = side.per_address.get(peer, 0) + 1
        self._arm(side.head_timeout, head=True)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_head and self._head_too_long(data):
            self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")
            self.transport.close()
            return
        super().data_received(data)
        if self.cycle is not self._seen:  # a whole head came: the app has it, and has so long to answer
            self._arm(self.side.answer_timeout, head=False)

    def _head_too_long(self, data: bytes) -> bool:
        """Whether the head being waited for passes ``MAX_HEAD`` (h11 bounds only a head that arrives in parts)."""
        seen = self._tail + data
        end = seen.find(b"\r\n\r\n")
        self._head += len(data) if end < 0 else end + 4 - len(self._tail)
        self._tail = b"" if end >= 0 else seen[-3:]
        return self._head > MAX_HEAD

    def on_response_complete(self) -> None:
        done = self.cycle
        super().on_response_complete()
        if self.transport.is_closing():
            return
        if self.cycle is done:  # no pipelined request began meanwhile: wait for the next head
            self._arm(self.side.idle_timeout + self.side.head_timeout, head=True)
        else:
            self._arm(self.side.answer_timeout, head=False)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        if self._peer is not None:
            left = self.side.per_address.get(self._peer, 1) - 1
            if left > 0:
                self.side.per_address[self._peer] = left
            else:
                self.side.per_address.pop(self._peer, None)
            self._peer = None
        super().connection_lost(exc)

    def _arm(self, seconds: float, *, head: bool) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._seen = self.cycle
        self._awaiting_head = head
        self._head, self._tail = 0, b""
        self._deadline = self.loop.call_later(seconds, self._expire)

    def _expire(self) -> None:
        """A head that did not come in time, or an answer not taken in time (a client that stops reading, or a
        request the app could not answer): the connection is closed."""
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


class BodyGuard:
    """The outermost ASGI layer: a request's body is checked by its head, then read whole, in bounded time."""

    def __init__(self, app: ASGIApp, ping_token: Callable[[], str | None], max_body: int = MAX_BODY,
                 timeout: float = HEAD_TIMEOUT, plugin_secret: Callable[[], str | None] = lambda: None) -> None:
        self.app = app
        self.ping_token = ping_token
        self.plugin_secret = plugin_secret
        self.max_body = max_body
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method, path = scope["method"], scope["path"]
        declared = headers.get("content-length", "")
        if method in _NO_BODY and (declared not in ("", "0") or "transfer-encoding" in headers):
            return await _refuse(send, 400, "this request takes no body")
        if path.startswith("/ping/") and method == "POST":
            token = self.ping_token()
            given = path.removeprefix("/ping/")
            if not token or not hmac.compare_digest(given.encode(), token.encode()):
                peer = (scope.get("client") or ("?",))[0]
                log.warning("a POST to /ping/… with no or a wrong ping token, from %s: refused", peer)
                return await _refuse(send, 404, "not found")
        if path in notice.SIGNED and method == "POST":
            try:
                notice.check_head(self.plugin_secret(), headers, time.time())
            except notice.Refused as exc:
                peer = (scope.get("client") or ("?",))[0]
                log.warning("a plugin notice from %s refused: %s", peer, exc)
                return await _refuse(send, 404, "not found")
        if "transfer-encoding" in headers:
            return await _refuse(send, 411, "send the body with a Content-Length")
        if declared and not (declared.isascii() and declared.isdigit()):
            return await _refuse(send, 400, "bad Content-Length")
        if int(declared or 0) > self.max_body:
            return await _refuse(send, 413, f"a request's body is at most {self.max_body} bytes")
        body = b""
        if method not in _NO_BODY:
            try:
                body = await asyncio.wait_for(_read(receive, self.max_body), self.timeout)
            except (TimeoutError, _Disconnected, _TooLarge):
                return await _refuse(send, 400, "the body did not arrive whole")
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: only a disconnect comes

        await self.app(scope, replay, send)


class _Disconnected(Exception):
    """The client went away before its body arrived."""


class _TooLarge(Exception):
    """The body ran past its bound (more than its Content-Length said)."""


async def _read(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _refuse(send: Send, status: int, text: str) -> None:
    body = f"{text}\n".encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class WebSide:
    """The daemon's HTTP side: uvicorn on its own thread, serving ``app`` (wrapped in :class:`BodyGuard`).
    The socket is bound here, so a port that cannot be had is known before anything starts (OSError)."""

    def __init__(self, host: str, port: int, app: ASGIApp, ping_token: Callable[[], str | None] = lambda: None,
                 *, forwarded_allow_ips: str = "127.0.0.1",
                 plugin_secret: Callable[[], str | None] = lambda: None) -> None:
        self.head_timeout = HEAD_TIMEOUT
        self.answer_timeout = ANSWER_TIMEOUT
        self.max_per_address = MAX_PER_ADDRESS
        self.per_address: dict[str, int] = {}  #: connections open now per address (on the server's loop)
        #: addresses not bound per address: the trusted proxies (all connections come from them)
        self.trusted = {a.strip() for a in forwarded_allow_ips.split(",")} | {"127.0.0.1", "::1"}
        #: at most this many at once: MAX_CONNECTIONS, or a quarter of the process's file descriptors
        self.max_connections = min(MAX_CONNECTIONS, resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 4)
        protocol = type("GuardedH11", (_Guarded,), {"side": self})
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind((host, port))
            self.socket.listen(128)
        except OSError:
            self.socket.close()
            raise
        self.config = uvicorn.Config(
            BodyGuard(app, ping_token, plugin_secret=plugin_secret), http=protocol, lifespan="off", log_config=None,
            access_log=False, timeout_keep_alive=int(IDLE_TIMEOUT), h11_max_incomplete_event_size=MAX_HEAD,
            server_header=False, timeout_graceful_shutdown=2, proxy_headers=True,
            forwarded_allow_ips=forwarded_allow_ips)
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self._serve, name="web", daemon=True)

    @property
    def idle_timeout(self) -> float:
        """Seconds a kept-alive connection may wait for its next request (uvicorn's keep-alive timeout)."""
        return float(self.config.timeout_keep_alive)

    @idle_timeout.setter
    def idle_timeout(self, seconds: float) -> None:
        self.config.timeout_keep_alive = seconds  # type: ignore[assignment]

    @property
    def port(self) -> int:
        return int(self.socket.getsockname()[1])

    @property
    def address(self) -> str:
        return str(self.socket.getsockname()[0])

    @property
    def open(self) -> int:
        """Connections open now."""
        return len(self.server.server_state.connections)

    def start(self) -> None:
        self.thread.start()

    def _serve(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.socket]))

    def serve_here(self) -> None:
        """Serve on this thread until SIGINT or SIGTERM (``bot console``), then return: uvicorn handles the
        signal while it serves and raises it again once done, which finds a handler here that lets the command
        end cleanly (exit status 0) instead of the default that would kill the process."""
        import signal

        previous = {s: signal.signal(s, lambda *_: None) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.server.run(sockets=[self.socket])
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(10)
        self.socket.close()

