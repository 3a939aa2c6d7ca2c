"""The test kit: a real HTTP server on 127.0.0.1 serving feeds, a controllable clock, config writers."""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import yaml

from bot.cli import main
from bot.clock import ManualClock

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
WORDPRESS_FIXTURES = SHARED / "fixtures" / "wordpress"
T0 = datetime(2026, 11, 29, 6, 0, 0, tzinfo=UTC)  # the fixtures are all dated 2026-11-29


def need_shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared folder (../shared beside the project) is not here")
    return path


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


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    status: int
    method: str = "GET"
    body: bytes = b""


class FeedServer:
    """A small real HTTP server; each path answers as its Route says, and every request is recorded."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        #: path (without query) → function(request) → (status, headers, body): answers made per request
        self.handlers: dict[str, Callable[[Seen], tuple[int, dict[str, str], bytes]]] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, as from a real server

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(self.path, dict(self.headers.items()), 0, self.command, body)
                with server._lock:
                    server.requests.append(seen)
                handler = server.handlers.get(self.path.split("?")[0])
                if handler is not None:
                    status, headers, payload = handler(seen)
                    route = Route(payload, status=status, headers=headers, conditional=False,
                                  content_type=headers.pop("Content-Type", "application/json"))
                    seen.status = server._answer(self, route)
                else:
                    seen.status = server._answer(self, server.route(self.path))

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hung up early is what some tests want

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

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
            etag = '"' + hashlib.md5(route.body).hexdigest() + '"'
            headers["ETag"] = etag
            headers["Last-Modified"] = format_datetime(route.last_modified, usegmt=True)
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

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests never reach the internet: a name lookup for anything but this machine fails the test."""
    import socket

    real = socket.getaddrinfo
    attempts: list[str] = []

    def local_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in (None, "localhost", "127.0.0.1", "::1", "0.0.0.0"):
            attempts.append(str(name))
            raise OSError(f"tests never reach the internet (a lookup of {name})")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", local_only)
    yield
    assert attempts == [], f"the test tried to reach {attempts}"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's own bot settings."""
    for var in ("BOT_CONFIG",):
        monkeypatch.delenv(var, raising=False)


# --- databases: the store and dispatch tests run on SQLite and on PostgreSQL --------------------------------

#: The PostgreSQL server the tests use (any database on it; each test run makes its own). CI sets
#: BOT_TEST_POSTGRES=required, so a server that is not there fails the run instead of skipping.
PG_URL = os.environ.get("BOT_TEST_POSTGRES_URL", "postgresql+psycopg:///postgres?host=/var/run/postgresql")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of this test run's own on the local PostgreSQL server; its URL."""
    import sqlalchemy as sa

    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"bot_test_{os.getpid()}"
    try:
        with admin.connect() as c:
            c.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
            c.execute(sa.text(f"CREATE DATABASE {name}"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        reason = f"no PostgreSQL server at {PG_URL} ({str(exc.orig).strip().splitlines()[0]})"
        if os.environ.get("BOT_TEST_POSTGRES") == "required":
            pytest.fail(f"{reason}, and BOT_TEST_POSTGRES=required")
        pytest.skip(f"{reason}: the PostgreSQL variants are skipped (.ci/run starts one)")
    url = sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as c:
        c.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def empty_postgres(url: str) -> str:
    """Drop everything in the test database: each test starts from an empty one."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text("DROP SCHEMA public CASCADE"))
        c.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or the test run's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    return empty_postgres(request.getfixturevalue("postgres_database"))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float = 60.0, what: str = "it") -> Any:
    """Wait for something another process or thread does; returns what ``check`` returned once it held.
    Generous, so a slow machine never fails it."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def write_config(tmp_path: Path, *, feeds: list[dict[str, Any]], accounts: list[dict[str, Any]] | None = None,
                 **top: Any) -> Path:
    """A config file in tmp_path with one console account (posts also appended to posts.jsonl)."""
    data: dict[str, Any] = {
        "site": {"name": "قريش", "url": "https://news.example", "timezone": "Asia/Baghdad"},
        "database": f"sqlite:///{tmp_path / 'bot.sqlite3'}",
        "feeds": feeds,
        "accounts": accounts if accounts is not None else [
            {"id": "console", "platform": "console", "output": str(tmp_path / "posts.jsonl")},
        ],
        **top,
    }
    path = tmp_path / "bot.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def posts(tmp_path: Path, name: str = "posts.jsonl") -> list[dict[str, Any]]:
    path = tmp_path / name
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@dataclass
class Run:
    code: int
    out: str


@pytest.fixture
def run_bot(clock: ManualClock) -> Callable[..., Run]:
    """Run ``bot ARGS`` in this process with the test's clock; returns the exit code and what it printed."""

    def run(*args: str) -> Run:
        stream = io.StringIO()
        code = main(list(args), clock=clock, stream=stream)
        return Run(code, stream.getvalue())

    return run


def kill_poll_when(config: Path, condition: Callable[[], object], timeout: float = 60.0) -> None:
    """Run `bot poll` as a real process and SIGKILL it as soon as ``condition()`` holds (a crash mid-send)."""
    import os
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "bot", "poll", "--config", str(config)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    try:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("the process never reached the moment to kill it")
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
