"""The daemon as a real process: it polls on schedule, posts new articles once, and stops cleanly on signals."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .kit.configs import account, posts, sample_site, write_config
from .kit.fake_x import FakeX
from .kit.paths import ROOT
from .kit.runs import Run, bot_process, wait_for
from .kit.servers import FeedServer
from .kit.wordpress import SAMPLE_ITEMS, Item, rss2

NEW = Item(140, "الحكومة تعلن عطلة رسمية بمناسبة العيد الوطني", ["محليات"])


class Daemon:
    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        self._log_file = log.open("wb")
        self.proc = bot_process("run", "--config", str(config), stderr=self._log_file, PYTHONUNBUFFERED="1")

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, float]:
        started = time.monotonic()
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=30)
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log_file.close()


@pytest.fixture
def daemon_factory() -> Iterator[Callable[[Path, Path], Daemon]]:
    started: list[Daemon] = []

    def start(config: Path, log: Path) -> Daemon:
        d = Daemon(config, log)
        started.append(d)
        return d

    yield start
    for d in started:
        d.kill()


@pytest.mark.slow
def test_run_polls_posts_new_articles_once_and_stops_on_sigterm(
    tmp_path: Path, feed_server: FeedServer, daemon_factory: Callable[[Path, Path], Daemon],
) -> None:
    config = sample_site(tmp_path, feed_server, feed={"interval": "10s"}, dispatch_interval="1s")
    d = daemon_factory(config, tmp_path / "daemon.log")
    wait_for(lambda: "first_start=yes" in d.text(), what="the first poll")
    assert posts(tmp_path) == []  # a first start posts nothing
    feed_server.set("/feed", rss2([NEW, *SAMPLE_ITEMS]))
    wait_for(lambda: len(posts(tmp_path)) == 1, what="the new article's post")  # at the next interval
    assert posts(tmp_path)[0]["title"] == NEW.title
    code, took = d.stop(signal.SIGTERM)
    assert code == 0 and took < 10
    text = d.text()
    assert "received SIGTERM" in text and "bot stopped" in text and "Traceback" not in text
    assert "feed=main status=ok entries=11 new=1" in text


@pytest.mark.slow
def test_sigint_with_a_hanging_feed_still_exits_within_ten_seconds(
    tmp_path: Path, feed_server: FeedServer, daemon_factory: Callable[[Path, Path], Daemon],
) -> None:
    feed_server.set("/feed", rss2(SAMPLE_ITEMS), delay=25.0)  # the poll will be stuck waiting
    config = write_config(tmp_path, feeds=[{"id": "main", "url": feed_server.url("/feed"), "timeout": "60s"}])
    d = daemon_factory(config, tmp_path / "daemon.log")
    wait_for(lambda: len(feed_server.hits("/feed")) == 1, what="the poll to start")
    code, took = d.stop(signal.SIGINT)
    assert code == 0 and took < 10
    assert "received SIGINT" in d.text()


def test_run_with_a_bad_config_exits_2(tmp_path: Path) -> None:
    config = write_config(tmp_path, feeds=[{"id": "main", "url": "gopher://old.example/feed"}])
    proc = subprocess.run([sys.executable, "-m", "bot", "run", "--config", str(config)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2 and "feeds[0].url" in proc.stderr and "Traceback" not in proc.stderr


def _run_briefly(path: Path, env: dict[str, str] | None = None, seconds: float = 20) -> tuple[int, str]:
    """`bot run` as a process that should refuse to start: its exit status and what it printed."""
    proc = bot_process("run", "--config", str(path), stderr=subprocess.PIPE, **(env or {}))
    try:
        _, err = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return proc.returncode, err.decode()


@pytest.mark.parametrize("trouble", ["PORT=abc", "a taken port"])
def test_a_port_that_cannot_be_had_is_one_line_before_anything_starts(
    tmp_path: Path, feed_server: FeedServer, trouble: str,
) -> None:
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    server = {"host": "127.0.0.1", "port": taken.getsockname()[1]}
    path = sample_site(tmp_path, feed_server, server=server)
    env = {"PORT": "abc"} if trouble == "PORT=abc" else {}
    code, err = _run_briefly(path, env)
    taken.close()
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err and "bot running" not in err, err
    assert ("$PORT is 'abc'" in err) if trouble == "PORT=abc" else ("server.port" in err and "in use" in err), err
    assert feed_server.hits("/feed") == []  # nothing started: not even a poll


def test_a_second_daemon_on_one_sqlite_file_refuses(tmp_path: Path, feed_server: FeedServer) -> None:
    path = sample_site(tmp_path, feed_server, feed={"interval": "1h"})
    log = tmp_path / "first.log"
    with log.open("wb") as out:
        first = bot_process("run", "--config", str(path), stderr=out, PYTHONUNBUFFERED="1")
        try:
            wait_for(lambda: "bot running" in log.read_text(errors="replace"), what="the first daemon")
            assert f"database {tmp_path / 'bot.sqlite3'}" in log.read_text()  # named at start
            code, err = _run_briefly(path)
            assert code == 1 and "another bot runs on the database" in err and f"pid {first.pid}" in err, err
            assert first.poll() is None  # the first one goes on
        finally:
            first.send_signal(signal.SIGTERM)
            first.wait(timeout=30)


@pytest.mark.slow
def test_release_reaches_the_running_daemon_with_the_credentials_as_they_are_now(
    tmp_path: Path, feed_server: FeedServer, fake_x: FakeX, run_bot: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The token was wrong (X says 401: the account is held). The operator fixes it in the environment file
    the service reads (BOT_ENV_FILE) and runs `bot release x`: the daemon posts within seconds, no SIGHUP."""
    good = fake_x.credentials()
    env_file = tmp_path / "env"
    env_file.write_text(f"X_TOKEN_SECRET=wrong-secret\nX_TOKEN={good['access_token']}\n")
    monkeypatch.setenv("BOT_ENV_FILE", str(env_file))  # for the commands run here, as for the service
    creds = {**good, "access_token": "${X_TOKEN}", "access_token_secret": "${X_TOKEN_SECRET}"}
    path = sample_site(tmp_path, feed_server, [account(fake_x, "x", credentials=creds)],
                       feed={"interval": "10s"}, dispatch_interval="1s")
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        proc = bot_process("run", "--config", str(path), stderr=out, PYTHONUNBUFFERED="1", BOT_ENV_FILE=str(env_file))
        try:
            wait_for(lambda: "first_start=yes" in log.read_text(errors="replace"), what="the first poll")
            feed_server.set("/feed", rss2([Item(950, "البنك المركزي يخفض سعر الفائدة", ["اقتصاد"]), *SAMPLE_ITEMS]))
            wait_for(lambda: "is HELD" in log.read_text(errors="replace"), timeout=40, what="the account to be held")
            assert fake_x.tweets == []
            env_file.write_text(f"X_TOKEN_SECRET={good['access_token_secret']}\nX_TOKEN={good['access_token']}\n")
            assert run_bot("release", "x", "--config", str(path)).code == 0
            wait_for(lambda: fake_x.tweets, timeout=20, what="the post, after the release")
            assert "released: reloading the config and its credentials" in log.read_text(errors="replace")
            assert len(fake_x.tweets) == 1
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def test_no_dispatch_pass_runs_between_a_release_and_its_reload(tmp_path: Path, feed_server: FeedServer) -> None:
    """A hold and a release the daemon saw only between two passes (nothing waited) still mean a reload, and no
    pass sends (with the old credentials) until the reload has happened."""
    from bot.config import load_config
    from bot.core import Bot
    from bot.daemon import Daemon

    path = sample_site(tmp_path, feed_server)
    daemon = Daemon(Bot.open(load_config(path)), path)
    store = daemon.bot.store
    assert daemon._no_release()  # nothing held, nothing released
    store.hold_account("console", "held by سارة", daemon.bot.clock.now())
    assert daemon._no_release()  # (nothing was waiting: the hold is seen all the same)
    store.release_account("console", daemon.bot.clock.now())
    assert not daemon._no_release() and daemon._reload.is_set()
    assert not daemon._no_release() and not daemon._no_release()  # every pass waits for the reload
    daemon._releasing.clear()  # what the main loop does once it has reloaded
    assert daemon._no_release()
    daemon.bot.close()
