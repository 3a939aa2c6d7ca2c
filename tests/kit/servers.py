"""The one HTTP server kit. ``LocalServer`` is the base: a threaded HTTP/1.1 server on 127.0.0.1 at a port of
its own (keep-alive, no Nagle), one handler plumbing for every request. On it:

- ``FeedServer``: the WordPress site. Each path answers as its ``Route`` says (ETag / Last-Modified and 304,
  delays, a trickled or chunked body), a path may instead have a function answer it, and every request is
  recorded as a ``Seen``.
- ``FakeServer``: the base of the platform fakes (``fake_x`` …). Each request, as a ``Request``, goes to the
  subclass's ``answer`` and comes back as a JSON ``Answer``; queued ``Fault``s answer first. Each fake answers
  as its real service does (../shared/CONTRACTS.md).
- ``closed_clean``: stop a fake and fail the test if it hit an error of its own or saw a request its real
  service would refuse; ``serving`` does it when a fixture's test is over.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

from requests.structures import CaseInsensitiveDict

from .clock import T0


class LocalServer:
    """A real HTTP server on 127.0.0.1 (a free port, picked by the system). Every request of one of
    ``methods`` goes to ``_serve``; an error in a handler (other than a client that hung up) is kept in
    ``errors`` instead of being printed."""

    methods: tuple[str, ...] = ("GET", "POST", "PUT", "DELETE")

    def __init__(self) -> None:
        self.errors: list[str] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real server
            disable_nagle_algorithm = True  # headers and body go out at once, as from a real server

            def log_message(self, *args: Any) -> None:
                pass

        def serve(h: BaseHTTPRequestHandler) -> None:
            server._serve(h)

        for method in self.methods:
            setattr(Handler, f"do_{method}", serve)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                if not isinstance(sys.exc_info()[1], OSError):  # a client that hung up early is what some tests want
                    server.errors.append(traceback.format_exc())

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def _serve(self, h: BaseHTTPRequestHandler) -> None:  # pragma: no cover - subclasses serve
        raise NotImplementedError

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- the feed server -----------------------------------------------------------------------------------------

@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)
    conditional: bool = True  #: answer ETag / Last-Modified and honour If-None-Match / If-Modified-Since
    last_modified: datetime = T0
    delay: float = 0.0  #: seconds to wait before answering
    trickle: float | None = None  #: send the body a byte at a time, this many seconds apart
    chunked: bool = False  #: no Content-Length: the body streams in chunks
    #: validators as WordPress makes them: an ETag made from Last-Modified (whole seconds), not from the body
    wordpress_validators: bool = False


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    status: int
    method: str = "GET"
    body: bytes = b""


class FeedServer(LocalServer):
    """A small real HTTP server; each path answers as its Route says, and every request is recorded."""

    methods = ("GET", "POST")

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        #: path (without query) → function(request) → (status, headers, body): answers made per request
        self.handlers: dict[str, Callable[[Seen], tuple[int, dict[str, str], bytes]]] = {}
        self.requests: list[Seen] = []
        super().__init__()

    def set(self, path: str, body: str | bytes, **kw: Any) -> Route:
        route = Route(body.encode() if isinstance(body, str) else body, **kw)
        self.routes[path] = route
        return route

    def route(self, path: str) -> Route | None:
        """The route for a request path; percent-escapes match in either case, as on a real server."""
        wanted = unquote(path)
        return next((r for p, r in self.routes.items() if unquote(p) == wanted), None)

    def hits(self, path: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if unquote(r.path) == unquote(path)]

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        seen = Seen(h.path, dict(h.headers.items()), 0, h.command, body)
        with self._lock:
            self.requests.append(seen)
        handler = self.handlers.get(h.path.split("?")[0])
        if handler is not None:
            status, headers, payload = handler(seen)
            route = Route(payload, status=status, headers=headers, conditional=False,
                          content_type=headers.pop("Content-Type", "application/json"))
            seen.status = self._answer(h, route)
        else:
            seen.status = self._answer(h, self.route(h.path))

    def _answer(self, h: BaseHTTPRequestHandler, route: Route | None) -> int:
        if route is None:
            h.send_response(404)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return 404
        if route.delay:
            time.sleep(route.delay)
        headers = dict(route.headers)
        if route.status == 200 and route.conditional:
            modified = format_datetime(route.last_modified, usegmt=True)
            made_from = modified.encode() if route.wordpress_validators else route.body
            etag = '"' + hashlib.md5(made_from).hexdigest() + '"'
            headers["ETag"] = etag
            headers["Last-Modified"] = modified
            if h.headers.get("If-None-Match") == etag:
                h.send_response(304)
                for k, v in headers.items():
                    h.send_header(k, v)
                h.end_headers()
                return 304
        h.send_response(route.status)
        h.send_header("Content-Type", route.content_type)
        for k, v in headers.items():
            h.send_header(k, v)
        if route.chunked:
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            try:
                for i in range(0, len(route.body), 4096):
                    piece = route.body[i:i + 4096]
                    h.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                h.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
            return route.status
        h.send_header("Content-Length", str(len(route.body)))
        h.end_headers()
        try:
            if route.trickle is not None:
                for b in route.body:
                    h.wfile.write(bytes([b]))
                    h.wfile.flush()
                    time.sleep(route.trickle)
            else:
                h.wfile.write(route.body)
        except OSError:
            pass  # the client gave up: that is what the test wanted
        return route.status


# --- the platform fakes' base --------------------------------------------------------------------------------

@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  #: case-insensitive, as HTTP header names are
    body: bytes
    raw_query: str = ""  #: the query string as sent (an OAuth 1.0a signature covers it)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else {}

    def form(self) -> dict[str, Any]:
        """JSON, url-encoded or multipart parameters as one dict (multipart files as EmailMessage parts)."""
        kind = self.headers.get("Content-Type", "")
        if kind.startswith("application/json"):
            data = self.json()
            return data if isinstance(data, dict) else {}
        if kind.startswith("multipart/form-data"):
            message = BytesParser(policy=policy.default).parsebytes(
                f"Content-Type: {kind}\r\n\r\n".encode() + self.body)
            out: dict[str, Any] = {}
            for part in message.iter_parts():
                assert isinstance(part, EmailMessage)
                name = part.get_param("name", header="content-disposition")
                raw = part.get_payload(decode=True)
                assert isinstance(raw, bytes)
                out[str(name)] = part if part.get_filename() else raw.decode("utf-8")  # form fields are UTF-8
            return out
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True)) | self.query


@dataclass
class Answer:
    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    """Answer the next request whose path starts with ``path`` like this (or hang first); with no ``answer``,
    do what the service does (post, store) and answer that only after ``hang``: an answer that comes too
    late."""

    path: str
    answer: Answer | None
    hang: float = 0.0


class FakeServer(LocalServer):
    """Subclasses implement ``answer(request) -> Answer``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []  #: (method, path, status) once answered
        self.arrived: list[tuple[str, str]] = []  #: (method, path) as requests come in
        self.faults: list[Fault] = []
        self.problems: list[str] = []  #: requests the real service would refuse for their parameters
        super().__init__()

    def fail_next(self, path: str, answer: Answer, n: int = 1, hang: float = 0.0) -> None:
        self.faults.extend(Fault(path, answer, hang) for _ in range(n))

    def answer_late(self, path: str, after: float, n: int = 1) -> None:
        """The next ``n`` requests to ``path`` are done as usual (the post is made) but answered ``after``
        seconds late."""
        self.faults.extend(Fault(path, None, after) for _ in range(n))

    def calls_to(self, path_start: str) -> list[tuple[str, str, int]]:
        with self._lock:
            return [c for c in self.calls if c[1].startswith(path_start)]

    def answer(self, request: Request) -> Answer:  # pragma: no cover - subclasses answer
        raise NotImplementedError

    def respond(self, request: Request) -> Answer:
        """A queued fault for this path if there is one (after its hang), else ``answer``."""
        fault = None
        with self._lock:
            for f in self.faults:
                if request.path.startswith(f.path):
                    fault = f
                    self.faults.remove(f)
                    break
        if fault is None:
            return self.answer(request)
        if fault.answer is None:  # done, then answered late
            done = self.answer(request)
            time.sleep(fault.hang)
            return done
        if fault.hang:
            time.sleep(fault.hang)
        return fault.answer

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        if len(body) < length:  # the client went away mid-body (a bot killed mid-send): no request at all, as a
            h.close_connection = True  # real server never acts on half a body
            return
        parts = urlsplit(h.path)
        headers: dict[str, str] = CaseInsensitiveDict(h.headers.items())  # type: ignore[assignment]
        request = Request(h.command, parts.path, dict(parse_qsl(parts.query)), headers, body, parts.query)
        with self._lock:
            self.arrived.append((request.method, request.path))
        answer = self.respond(request)
        data = b"" if answer.status == 204 else json.dumps(answer.payload, ensure_ascii=False).encode()  # no body
        with self._lock:
            self.calls.append((request.method, request.path, answer.status))
        try:
            h.send_response(answer.status)
            h.send_header("Content-Type", "application/json; charset=utf-8")
            for k, v in answer.headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except OSError:
            pass


def closed_clean(fake: FakeServer) -> None:
    """Stop ``fake``; fail if it hit an error of its own or saw a request its real service would refuse."""
    fake.close()
    assert fake.errors == [], fake.errors[0]
    assert fake.problems == [], fake.problems


Fake = TypeVar("Fake", bound=FakeServer)


def serving(fake: Fake) -> Iterator[Fake]:
    """A fixture's body: yield ``fake`` to the test, then ``closed_clean`` it."""
    yield fake
    closed_clean(fake)
