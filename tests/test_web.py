"""The daemon's HTTP side as a real process: WordPress pings lead to posts on the fake X, health turns 503
and back, metrics, live reload; and polls of a feed are coalesced, never concurrent."""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.error
import urllib.request
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.clock import ManualClock
from bot.config import load_config
from bot.core import Bot
from bot.daemon import Daemon

from .kit.configs import account, sample_site, write_config
from .kit.fake_x import FakeX
from .kit.runs import bot_process, free_port, wait_for
from .kit.servers import FeedServer
from .kit.wordpress import SAMPLE_ITEMS, Item, rss2

TOKEN = "ping-s3cret-7f3a"
NEW = Item(500, "عاجل | الحكومة تعلن خطة طوارئ للكهرباء", ["عاجل"])


def http(method: str, url: str, body: bytes = b"", kind: str = "application/octet-stream") -> tuple[int, str]:
    request = urllib.request.Request(url, data=body if method == "POST" else None, method=method,
                                     headers={"Content-Type": kind})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class Running:
    def __init__(self, tmp_path: Path, feed_server: FeedServer, fake_x: FakeX) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config = sample_site(
            tmp_path, feed_server, feed={"interval": "1h"},
            server={"host": "127.0.0.1", "port": self.port, "ping_token": TOKEN, "unhealthy_after": 2},
            accounts=[account(fake_x, "x", template="{title}\n\n{short_link}")], dispatch_interval="1h")
        self.log = tmp_path / "daemon.log"
        self._out = self.log.open("wb")
        self.proc = bot_process("run", "--config", str(self.config), stderr=self._out, PYTHONUNBUFFERED="1")
        wait_for(lambda: "first_start=yes" in self.text(), what="the first poll")
        wait_for(lambda: self.get("/healthz")[0] == 200, what="health")

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def get(self, path: str) -> tuple[int, str]:
        try:
            return http("GET", self.base + path)
        except OSError:
            return 0, ""

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        self._out.close()


@pytest.fixture
def running(tmp_path: Path, feed_server: FeedServer, fake_x: FakeX) -> Iterator[Running]:
    r = Running(tmp_path, feed_server, fake_x)
    yield r
    r.close()


@pytest.mark.slow
def test_pings_lead_to_posts_and_wrong_tokens_to_nothing(
    running: Running, feed_server: FeedServer, fake_x: FakeX,
) -> None:
    feed_server.set("/feed", rss2([NEW, *SAMPLE_ITEMS]))
    hits = len(feed_server.hits("/feed"))
    status, body = http("POST", f"{running.base}/ping/wrong-token")
    assert status == 404
    time.sleep(0.5)
    assert len(feed_server.hits("/feed")) == hits and fake_x.tweets == []  # no poll
    assert "wrong ping token" in running.text() and "wrong-token" not in running.text()

    status, body = http("POST", f"{running.base}/ping/{TOKEN}", b"{}", "application/json")
    assert status == 202
    wait_for(lambda: fake_x.tweets, what="the post on X")
    assert fake_x.tweets[0]["text"] == f"{NEW.title}\n\nhttps://news.example/?p=500"

    second = Item(501, "الأرصاد: موجة حر في الجنوب", ["طقس"])
    feed_server.set("/feed", rss2([second, NEW, *SAMPLE_ITEMS]))
    ping = xmlrpc.client.dumps(("قريش", "https://news.example"), "weblogUpdates.ping").encode()
    status, body = http("POST", f"{running.base}/ping/{TOKEN}", ping, "text/xml")
    assert status == 200 and "Thanks for the ping." in body
    assert xmlrpc.client.loads(body.encode())[0][0]["flerror"] is False
    wait_for(lambda: len(fake_x.tweets) == 2, what="the second post")
    assert TOKEN not in running.text()


@pytest.mark.slow
def test_health_turns_503_and_back_and_metrics_count(running: Running, feed_server: FeedServer) -> None:
    status, body = running.get("/healthz")
    assert status == 200 and json.loads(body)["ok"] is True
    feed_server.set("/feed", b"busy", status=503, content_type="text/plain")
    for n in (1, 2):
        http("POST", f"{running.base}/ping/{TOKEN}")
        wait_for(lambda n=n: running.text().count("feed=main status=error") >= n, what=f"failure {n}")
    status, body = running.get("/healthz")
    report = json.loads(body)
    assert status == 503 and any("feed main has failed 2 polls" in p and "HTTP 503" in p for p in report["problems"])
    feed_server.set("/feed", rss2(SAMPLE_ITEMS))
    http("POST", f"{running.base}/ping/{TOKEN}")
    wait_for(lambda: running.get("/healthz")[0] == 200, what="health back")
    status, metrics = running.get("/metrics")
    assert status == 200
    for series in ('bot_polls_total{feed="main",status="ok"}', 'bot_polls_total{feed="main",status="error"} 2.0',
                   'bot_fetch_errors_total{feed="main"} 2.0', "bot_queue_depth 0.0",
                   'bot_seconds_since_last_successful_poll{feed="main"}', "bot_new_articles_total"):
        assert series in metrics, series


@pytest.mark.slow
def test_reload_valid_and_invalid(running: Running, feed_server: FeedServer, fake_x: FakeX) -> None:
    data = yaml.safe_load(running.config.read_text(encoding="utf-8"))
    feed_server.set("/second", rss2(SAMPLE_ITEMS[:3]))
    data["feeds"].append({"id": "second", "url": feed_server.url("/second"), "interval": "1h"})
    running.config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    running.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "config reloaded: 2 feed(s)" in running.text(), what="the reload")
    wait_for(lambda: "feed=second status=ok entries=3 new=3 edited=0 queued=0" in running.text(),
             what="the new feed's first start")
    running.config.write_text(running.config.read_text(encoding="utf-8").replace("interval: 1h", "interval: soon"),
                              encoding="utf-8")
    wait_for(lambda: "the new config is not valid; the old one keeps running" in running.text(),
             what="the refusal (the file changed)")
    assert "feeds[0].interval" in running.text()
    feed_server.set("/feed", rss2([NEW, *SAMPLE_ITEMS]))
    http("POST", f"{running.base}/ping/{TOKEN}")
    wait_for(lambda: fake_x.tweets, what="a post with the old config still running")


def test_polls_of_a_feed_are_coalesced_never_concurrent(
    tmp_path: Path, feed_server: FeedServer, clock: ManualClock,
) -> None:
    feed_server.set("/feed", rss2(SAMPLE_ITEMS), delay=0.6)
    bot = Bot.open(load_config(write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed")}])),
                   clock=clock)
    daemon = Daemon(bot)
    first = threading.Thread(target=daemon.poll_job, args=("main",))
    first.start()
    wait_for(lambda: feed_server.hits("/feed"), what="the first poll")
    pings = [threading.Thread(target=daemon.poll_job, args=("main", True)) for _ in range(3)]
    for p in pings:
        p.start()
    for p in pings:
        p.join(timeout=10)
        assert not p.is_alive()  # they returned at once: the running poll will run once more
    first.join(timeout=30)
    assert len(feed_server.hits("/feed")) == 2  # the poll, then exactly one more for the three pings
    bot.close()


def _raw(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send bytes as they are (with a Host header after the request line, as every HTTP/1.1 client sends); the
    answer's status line (b"" when the server closed without one)."""
    import socket

    line, sep, rest = data.partition(b"\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(line + sep + b"Host: 127.0.0.1\r\n" + rest if sep else data)
        got = b""
        while b"\r\n" not in got:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    return got.split(b"\r\n")[0]


def _threads_and_rss(pid: int) -> tuple[int, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return int(fields["Threads"]), int(fields["VmRSS"].split()[0]) // 1024


@pytest.mark.slow
def test_the_ping_endpoint_cannot_be_knocked_over_without_the_token(running: Running, fake_x: FakeX) -> None:
    import socket

    threads_before, rss_before = _threads_and_rss(running.proc.pid)
    idle = [socket.create_connection(("127.0.0.1", running.port)) for _ in range(300)]
    try:
        time.sleep(0.5)
        started = time.monotonic()
        assert running.get("/healthz")[0] == 200  # answers while 300 idle connections are held
        assert time.monotonic() - started < 5
        threads, _ = _threads_and_rss(running.proc.pid)
        assert threads < threads_before + 10, (threads_before, threads)  # no thread per connection
        # Refused before a byte of the body is read: a wrong token, a bad or an oversized length, chunks.
        assert _raw(running.port, b"POST /ping/wrong HTTP/1.1\r\nContent-Length: 300000000\r\n\r\nxx") \
            == b"HTTP/1.1 404 Not Found"
        assert _raw(running.port, f"POST /ping/{TOKEN} HTTP/1.1\r\nContent-Length: -1\r\n\r\n".encode()) \
            == b"HTTP/1.1 400 Bad Request"
        assert _raw(running.port, f"POST /ping/{TOKEN} HTTP/1.1\r\nContent-Length: 300000000\r\n\r\n".encode()) \
            .startswith(b"HTTP/1.1 413")
        assert _raw(running.port, f"POST /ping/{TOKEN} HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".encode()) \
            == b"HTTP/1.1 411 Length Required"
        assert _raw(running.port, b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\n\r\n") \
            == b"HTTP/1.1 431 Request Header Fields Too Large"
        # A body on a request that takes none is refused, never read as the next request.
        smuggled = f"POST /ping/{TOKEN} HTTP/1.1\r\nContent-Length: 0\r\n\r\n".encode()
        assert _raw(running.port, b"GET /healthz HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(smuggled)
                    + smuggled) == b"HTTP/1.1 400 Bad Request"
        assert _raw(running.port, f"POST /ping/{TOKEN} HTTP/1.1\r\nContent-Length: \u00b2\r\n\r\n".encode("latin-1")) \
            == b"HTTP/1.1 400 Bad Request"
        # A body pushed at a wrong token is not read: the answer comes while the sender still sends.
        with socket.create_connection(("127.0.0.1", running.port), timeout=10) as s:
            s.sendall(b"POST /ping/wrong HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 404")
    finally:
        for s in idle:
            s.close()
    _, rss_after = _threads_and_rss(running.proc.pid)
    assert rss_after < rss_before + 30, (rss_before, rss_after)
    assert fake_x.tweets == [] and "ping received" not in running.text()  # none of it was taken for a ping


@pytest.mark.slow
def test_an_idle_connection_is_closed(running: Running) -> None:
    import socket

    from bot.web import HEAD_TIMEOUT

    with socket.create_connection(("127.0.0.1", running.port), timeout=HEAD_TIMEOUT + 10) as s:
        started = time.monotonic()
        assert s.recv(100) == b""  # the server hangs up on a connection that sends nothing
        assert HEAD_TIMEOUT - 1 < time.monotonic() - started < HEAD_TIMEOUT + 5



def test_a_ping_that_expects_100_continue_gets_it(running: Running) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", running.port), timeout=5) as s:
        s.sendall(f"POST /ping/{TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                  "Expect: 100-continue\r\n\r\n".encode())
        assert s.recv(100).startswith(b"HTTP/1.1 100 Continue")
        s.sendall(b"{}")
        assert b"HTTP/1.1 202 Accepted" in s.recv(1000)


def test_connections_are_bounded_and_a_kept_alive_one_is_closed_when_idle() -> None:
    """In process, with small limits: one connection more than the bound is closed at once, and a kept-alive
    connection that sends no next request is closed after the idle timeout."""
    import socket

    from bot.web import WebSide
    from bot.web.app import Hooks, build_app

    web = WebSide("127.0.0.1", 0, build_app(Hooks(lambda: (True, {"ok": True}), lambda: b"", lambda: None)),
                  lambda: TOKEN)
    web.max_connections, web.idle_timeout = 3, 0.5
    web.start()
    try:
        held = [socket.create_connection(("127.0.0.1", web.port), timeout=5) for _ in range(3)]
        wait_for(lambda: web.open == 3, what="three connections")
        with socket.create_connection(("127.0.0.1", web.port), timeout=5) as extra:
            assert extra.recv(100) == b""  # the fourth: closed without an answer
        for s in held:
            s.close()
        wait_for(lambda: web.open == 0, what="the connections to close")
        with socket.create_connection(("127.0.0.1", web.port), timeout=5) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < int(
                    answer.split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0]):  # the whole answer (it may
                answer += s.recv(1000)                                            # come in more than one read)
            assert answer.startswith(b"HTTP/1.1 200 OK")
            started = time.monotonic()
            assert s.recv(100) == b""  # no second request: closed after the idle timeout
            assert time.monotonic() - started < 5
    finally:
        web.stop()


def test_connections_from_one_address_are_bounded_and_an_answer_has_a_deadline() -> None:
    """In process: a fourth connection from one address (127.0.0.2, not the loopback the bound leaves out)
    is closed at once while others still get in; an answer that takes longer than its deadline (a handler that
    hangs, or a client that stops reading) closes its connection."""
    import asyncio
    import socket

    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from bot.web import WebSide

    async def slow(request: object) -> PlainTextResponse:
        await asyncio.sleep(30)
        return PlainTextResponse("late")

    async def fast(request: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    web = WebSide("0.0.0.0", 0, Starlette(routes=[Route("/slow", slow), Route("/fast", fast)]))
    web.max_per_address, web.answer_timeout = 3, 1.0
    web.start()

    def connect(source: str) -> socket.socket:
        s = socket.socket()
        s.settimeout(10)
        s.bind((source, 0))
        s.connect(("127.0.0.1", web.port))
        return s

    try:
        held = [connect("127.0.0.2") for _ in range(3)]
        wait_for(lambda: web.per_address.get("127.0.0.2") == 3, what="three connections from 127.0.0.2")
        with connect("127.0.0.2") as extra:
            assert extra.recv(100) == b""  # the fourth from that address: closed without an answer
        with connect("127.0.0.3") as other:  # another address is not held back
            other.sendall(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
            assert other.recv(1000).startswith(b"HTTP/1.1 200")
        for s in held:
            s.close()
        with connect("127.0.0.3") as s:
            s.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            started = time.monotonic()
            assert s.recv(100) == b""  # no answer within its deadline: closed
            assert time.monotonic() - started < 10
    finally:
        web.stop()
