"""The daemon's small HTTP side (on when ``server:`` is configured or ``$PORT`` is set):

- ``POST /ping/<token>``: a plain POST, or WordPress's XML-RPC ``weblogUpdates.ping`` /
  ``weblogUpdates.extendedPing`` (Settings → Writing → Update Services): poll the site's feeds now, then
  dispatch. The body is never trusted: it only triggers a poll. A wrong token gets 404.
- ``GET /healthz``: 200 when the scheduler runs and the store answers; 503 with what is wrong.
- ``GET /metrics``: Prometheus text format.

It is served from one thread running an asyncio loop, so a connection that sends nothing costs no thread:
each connection has ``HEAD_TIMEOUT`` to send its request head (at most ``MAX_HEAD`` bytes) and
``IDLE_TIMEOUT`` between requests, at most ``MAX_CONNECTIONS`` are open at once (more are closed at once),
the token is checked before a byte of the body is read, and a body's declared length is checked before it
is read (400 when it is not a number, 413 over ``MAX_BODY``; a chunked body is refused with 411; a body
on a request that takes none, 400: it is never read as the next request). The
answers themselves (health and metrics ask the store) are worked out on a small thread pool.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import resource
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger("bot.web")

MAX_BODY = 64 * 1024
#: The request line and headers, at most.
MAX_HEAD = 16 * 1024
#: Seconds a new connection has to send its request head, and a request to send its body.
HEAD_TIMEOUT = 10.0
#: Seconds a kept-alive connection may wait for its next request.
IDLE_TIMEOUT = 15.0
#: Connections open at once; a further one is closed straight away.
MAX_CONNECTIONS = 1024
XMLRPC_OK = (b"<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"
             b"<member><name>flerror</name><value><boolean>0</boolean></value></member>"
             b"<member><name>message</name><value><string>Thanks for the ping.</string></value></member>"
             b"</struct></value></param></params></methodResponse>")
REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
           411: "Length Required", 413: "Content Too Large", 431: "Request Header Fields Too Large",
           503: "Service Unavailable"}


class _Refused(Exception):
    """A request answered with an error and the connection closed."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status


class WebSide:
    """The daemon's HTTP side: an asyncio server on its own thread, serving ping, health and metrics."""

    def __init__(self, host: str, port: int, token: str | None, on_ping: Callable[[], None],
                 health: Callable[[], tuple[bool, dict[str, Any]]], metrics: Callable[[], bytes]) -> None:
        self.token = token
        self.on_ping = on_ping
        self.health = health
        self.metrics = metrics
        self.open = 0  #: connections open now
        self.head_timeout = HEAD_TIMEOUT
        self.idle_timeout = IDLE_TIMEOUT
        #: at most this many at once: MAX_CONNECTIONS, or a quarter of the process's file descriptors
        self.max_connections = min(MAX_CONNECTIONS, resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 4)
        self._open: dict[asyncio.Task[None], asyncio.StreamWriter] = {}  #: each connection's task and writer
        self.loop = asyncio.new_event_loop()
        self.workers = ThreadPoolExecutor(4, thread_name_prefix="web")
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._connection, host, port, limit=MAX_HEAD, reuse_address=True))
        self.thread = threading.Thread(target=self.loop.run_forever, name="web", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.sockets[0].getsockname()[1])

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()
            for writer in list(self._open.values()):  # connections still open (idle, a slow client): hang up;
                writer.close()                          # their reads end, and so do their tasks
            if self._open:
                await asyncio.wait(list(self._open), timeout=2)
            await self.server.wait_closed()

        if self.thread.is_alive():
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(5)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
        else:
            self.loop.run_until_complete(close())
        self.workers.shutdown(wait=False)
        self.loop.close()

    # One connection.

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.open >= self.max_connections:
            writer.close()
            return
        self.open += 1
        task = asyncio.current_task()
        if task is not None:
            self._open[task] = writer
        peer = (writer.get_extra_info("peername") or ("?",))[0]
        try:
            first = True
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"),
                                                  self.head_timeout if first else self.idle_timeout)
                except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                    return  # silent, gone, or idle too long
                except asyncio.LimitOverrunError:
                    await self._answer(writer, 431, b"request head too large\n", "text/plain", close=True)
                    return
                first = False
                try:
                    status, body, kind, close = await self._request(head, reader, writer, peer)
                except _Refused as exc:
                    await self._answer(writer, exc.status, f"{exc}\n".encode(), "text/plain", close=True)
                    return
                if not await self._answer(writer, status, body, kind, close=close) or close:
                    return
        finally:
            self.open -= 1
            if task is not None:
                self._open.pop(task, None)
            writer.close()

    async def _request(self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str,
                       ) -> tuple[int, bytes, str, bool]:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _Refused(400, "bad request line")
        method, path, version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, sep, value = line.partition(":")
                if not sep:
                    raise _Refused(400, "bad header line")
                headers[name.strip().lower()] = value.strip()
        close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
        loop = asyncio.get_running_loop()
        if method != "POST" and (headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in headers):
            raise _Refused(400, "this request takes no body")  # never read a body as the next request
        if method == "GET" and path == "/healthz":
            ok, report = await loop.run_in_executor(self.workers, self.health)
            return 200 if ok else 503, json.dumps(report, ensure_ascii=False).encode(), \
                "application/json; charset=utf-8", close
        if method == "GET" and path == "/metrics":
            return 200, await loop.run_in_executor(self.workers, self.metrics), \
                "text/plain; version=0.0.4; charset=utf-8", close
        if method != "POST":
            return 404, b"not found\n", "text/plain", close
        # A ping: the token before anything else, then the body's length before the body.
        given = path.removeprefix("/ping/") if path.startswith("/ping/") else None
        if given is None or not self.token or not hmac.compare_digest(given.encode(), self.token.encode()):
            log.warning("a POST to %s with no or a wrong ping token, from %s: refused",
                        "/ping/…" if given is not None else path[:50], peer)
            raise _Refused(404, "not found")
        if "transfer-encoding" in headers:
            raise _Refused(411, "send the body with a Content-Length")
        declared = headers.get("content-length", "0") or "0"
        if not (declared.isascii() and declared.isdigit()):
            raise _Refused(400, "bad Content-Length")
        if int(declared) > MAX_BODY:
            raise _Refused(413, f"a ping's body is at most {MAX_BODY} bytes")
        if int(declared) and headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        try:
            body = await asyncio.wait_for(reader.readexactly(int(declared)), HEAD_TIMEOUT) if int(declared) else b""
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError) as exc:
            raise _Refused(400, "the body did not arrive") from exc
        xmlrpc = b"<methodCall" in body[:1000]
        log.info("ping received (%s) from %s: polling now", "XML-RPC" if xmlrpc else "POST", peer)
        await loop.run_in_executor(self.workers, self.on_ping)
        if xmlrpc:
            return 200, XMLRPC_OK, "text/xml", close
        return 202, b'{"ok": true, "polling": true}', "application/json", close

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, status: int, body: bytes, kind: str, *, close: bool) -> bool:
        head = (f"HTTP/1.1 {status} {REASONS.get(status, 'OK')}\r\nServer: wp-social-bot\r\n"
                f"Content-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                + ("Connection: close\r\n" if close else "") + "\r\n")
        try:
            writer.write(head.encode("latin-1") + body)
            await asyncio.wait_for(writer.drain(), HEAD_TIMEOUT)
        except (TimeoutError, ConnectionError):
            return False
        return True
