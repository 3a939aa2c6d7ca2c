"""The companion WordPress plugin's signed notice, ``POST /wordpress/notice``, over a real socket: a valid one is a
ping (202, one poll); a wrong signature, a stale or future timestamp, a replay, missing headers, a body that is
not a JSON object, or no secret configured get 404; the secret never reaches the log. Then through a real
``bot run``: a notice makes the bot read the feed at once."""

from __future__ import annotations

import json
import logging
import signal
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.web import WebSide
from bot.web.app import Hooks, build_app
from bot.web.notice import sign

from .kit.configs import account, sample_site
from .kit.fake_x import FakeX
from .kit.runs import bot_process, free_port, wait_for
from .kit.servers import FeedServer

SECRET = "plugin-s3cret-91c4"
BODY = json.dumps({"event": "publish", "post_id": 500, "url": "https://news.example/?p=500",
                   "site": "https://news.example", "extra": "ignored"}).encode()


def post(base: str, body: bytes = BODY, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(f"{base}/wordpress/notice", data=body, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def signed(body: bytes = BODY, *, secret: str = SECRET, age: float = 0) -> dict[str, str]:
    ts = str(int(time.time() - age))
    return {"X-WP-Social-Bot-Timestamp": ts, "X-WP-Social-Bot-Signature": sign(secret, ts, body)}


class Side:
    """The HTTP side in process; its ping hook records calls."""

    def __init__(self, secret: str | None) -> None:
        self.pings: list[float] = []
        hooks = Hooks(lambda: (True, {"ok": True}), lambda: b"", lambda: self.pings.append(time.time()),
                      plugin_secret=lambda: secret)
        self.web = WebSide("127.0.0.1", 0, build_app(hooks), lambda: "ping-token", plugin_secret=lambda: secret)
        self.web.start()
        self.base = f"http://127.0.0.1:{self.web.port}"  # bound already: a request waits for the server


@pytest.fixture
def side(caplog: pytest.LogCaptureFixture) -> Iterator[Side]:
    caplog.set_level(logging.INFO, logger="bot.web")
    s = Side(SECRET)
    yield s
    s.web.stop()


def test_a_valid_notice_is_a_ping(side: Side, caplog: pytest.LogCaptureFixture) -> None:
    status, body = post(side.base, headers=signed())
    assert status == 202 and json.loads(body) == {"ok": True, "polling": True}
    assert len(side.pings) == 1
    assert "publish of post 500" in caplog.text
    for event in ("update", "unpublish", "trash", "delete"):  # every event polls (the feed shows the change)
        notice = json.dumps({"event": event, "post_id": 7, "url": "u", "site": "s"}).encode()
        assert post(side.base, notice, signed(notice))[0] == 202
    assert len(side.pings) == 5
    assert SECRET not in caplog.text


@pytest.mark.parametrize(("why", "body", "headers"), [
    ("wrong signature", BODY, lambda: signed(secret="not-the-secret")),
    ("signed another body", BODY, lambda: signed(b'{"event": "publish", "post_id": 1}')),
    ("stale", BODY, lambda: signed(age=360)),
    ("future", BODY, lambda: signed(age=-360)),
    ("no headers", BODY, lambda: {}),
    ("no signature", BODY, lambda: {"X-WP-Social-Bot-Timestamp": signed()["X-WP-Social-Bot-Timestamp"]}),
    ("no timestamp", BODY, lambda: {"X-WP-Social-Bot-Signature": signed()["X-WP-Social-Bot-Signature"]}),
    ("bare hex", BODY, lambda: {**signed(), "X-WP-Social-Bot-Signature":
                                signed()["X-WP-Social-Bot-Signature"].removeprefix("sha256=")}),
    ("timestamp not a number", BODY, lambda: {**signed(), "X-WP-Social-Bot-Timestamp": "soon"}),
    ("not JSON", b"event=publish", lambda: signed(b"event=publish")),
    ("not an object", b"[1, 2]", lambda: signed(b"[1, 2]")),
    ("unknown event", b'{"event": "hack", "post_id": 1}', lambda: signed(b'{"event": "hack", "post_id": 1}')),
])
def test_an_invalid_notice_gets_404_and_no_poll(
    side: Side, caplog: pytest.LogCaptureFixture, why: str, body: bytes, headers: object,
) -> None:
    assert callable(headers)
    sent = headers()
    status, text = post(side.base, body, sent)
    assert (status, text) == (404, "not found\n"), why
    assert side.pings == []
    refusals = [r for r in caplog.records if "plugin notice" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].levelno == logging.WARNING and "127.0.0.1" in refusals[0].getMessage()
    assert SECRET not in caplog.text
    signature = sent.get("X-WP-Social-Bot-Signature", "")
    assert not signature or signature.removeprefix("sha256=") not in caplog.text


def test_a_replayed_notice_gets_404(side: Side, caplog: pytest.LogCaptureFixture) -> None:
    headers = signed()
    assert post(side.base, headers=headers)[0] == 202
    assert post(side.base, headers=headers)[0] == 404
    assert len(side.pings) == 1 and "a replay" in caplog.text


def test_a_stale_notice_is_refused_before_its_body_is_read(side: Side) -> None:
    """The head alone decides: a notice whose body never comes gets 404 at once (not 400 after the body's
    10 s)."""
    headers = signed(age=360)
    head = (f"POST /wordpress/notice HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
            f"X-WP-Social-Bot-Timestamp: {headers['X-WP-Social-Bot-Timestamp']}\r\n"
            f"X-WP-Social-Bot-Signature: {headers['X-WP-Social-Bot-Signature']}\r\n\r\n").encode()
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", side.web.port), timeout=5) as s:
        s.sendall(head)
        assert s.recv(100).startswith(b"HTTP/1.1 404")
    assert time.monotonic() - started < 2 and side.pings == []


def test_without_a_secret_every_notice_gets_404(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.web")
    s = Side(None)
    try:
        assert post(s.base, headers=signed())[0] == 404
        assert post(s.base, headers=signed(secret=""))[0] == 404
        assert s.pings == [] and "no server.plugin_secret is set" in caplog.text
    finally:
        s.web.stop()


@pytest.mark.slow
def test_a_notice_makes_a_running_bot_poll_at_once(tmp_path: Path, feed_server: FeedServer, fake_x: FakeX) -> None:
    port = free_port()
    config = sample_site(tmp_path, feed_server, feed={"interval": "1h"},
                         server={"host": "127.0.0.1", "port": port, "plugin_secret": SECRET},
                         accounts=[account(fake_x, "x")], dispatch_interval="1h")
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        proc = bot_process("run", "--config", str(config), stderr=out, PYTHONUNBUFFERED="1")
        try:
            text = lambda: log.read_text(encoding="utf-8", errors="replace")  # noqa: E731
            wait_for(lambda: "first_start=yes" in text(), what="the first poll")
            base = f"http://127.0.0.1:{port}"
            hits = len(feed_server.hits("/feed"))
            assert post(base, headers=signed(secret="wrong"))[0] == 404
            time.sleep(0.5)
            assert len(feed_server.hits("/feed")) == hits  # no poll
            started = time.monotonic()
            assert post(base, headers=signed())[0] == 202
            wait_for(lambda: len(feed_server.hits("/feed")) > hits, what="the poll the notice asked for")
            assert time.monotonic() - started < 5
            assert "publish of post 500" in text() and SECRET not in text()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
