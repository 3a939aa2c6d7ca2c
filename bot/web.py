"""The daemon's small HTTP side (on when ``server:`` is configured or ``$PORT`` is set):

- ``POST /ping/<token>``: a plain POST, or WordPress's XML-RPC ``weblogUpdates.ping`` /
  ``weblogUpdates.extendedPing`` (Settings → Writing → Update Services): poll the site's feeds now, then
  dispatch. The body is never trusted: it only triggers a poll. A wrong token gets 404.
- ``GET /healthz``: 200 when the scheduler runs and the store answers; 503 with what is wrong.
- ``GET /metrics``: Prometheus text format.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger("bot.web")

MAX_BODY = 64 * 1024
XMLRPC_OK = (b"<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"
             b"<member><name>flerror</name><value><boolean>0</boolean></value></member>"
             b"<member><name>message</name><value><string>Thanks for the ping.</string></value></member>"
             b"</struct></value></param></params></methodResponse>")


class WebSide:
    """The daemon's HTTP side: a threading HTTP server on its own thread, serving ping, health and metrics."""

    def __init__(self, host: str, port: int, token: str | None, on_ping: Callable[[], None],
                 health: Callable[[], tuple[bool, dict[str, Any]]], metrics: Callable[[], bytes]) -> None:
        self.token = token
        side = self

        class Handler(BaseHTTPRequestHandler):
            """One request: ``GET /healthz``, ``GET /metrics``, ``POST /ping/<token>``."""

            protocol_version = "HTTP/1.1"
            server_version = "wp-social-bot"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/healthz":
                    ok, report = health()
                    self._send(200 if ok else 503, json.dumps(report, ensure_ascii=False).encode(),
                               "application/json; charset=utf-8")
                elif self.path == "/metrics":
                    self._send(200, metrics(), "text/plain; version=0.0.4; charset=utf-8")
                else:
                    self._send(404, b"not found\n", "text/plain")

            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
                body = self.rfile.read(length) if length else b""
                given = self.path.removeprefix("/ping/") if self.path.startswith("/ping/") else None
                if given is None or not side.token or not hmac.compare_digest(given.encode(), side.token.encode()):
                    log.warning("a POST to %s with no or a wrong ping token, from %s: refused",
                                "/ping/…" if given is not None else self.path[:50], self.client_address[0])
                    self._send(404, b"not found\n", "text/plain")
                    return
                xmlrpc = b"<methodCall" in body[:1000]
                log.info("ping received (%s) from %s: polling now", "XML-RPC" if xmlrpc else "POST",
                         self.client_address[0])
                on_ping()
                if xmlrpc:
                    self._send(200, XMLRPC_OK, "text/xml")
                else:
                    self._send(202, b'{"ok": true, "polling": true}', "application/json")

        class Server(ThreadingHTTPServer):
            """Threads that do not hold up the process's exit; the port reusable at once after a restart."""

            daemon_threads = True
            allow_reuse_address = True

        self.httpd = Server((host, port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                       name="web", daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
