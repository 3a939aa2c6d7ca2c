"""The tests' fixtures and hooks, and nothing else: the helpers they use are in tests/kit/."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock

from .kit.clock import manual_clock
from .kit.databases import PG_URL, empty_postgres
from .kit.fake_alerts import FakeSMTP, FakeWebhook
from .kit.fake_bluesky import FakeBluesky
from .kit.fake_discord import FakeDiscord
from .kit.fake_facebook import FakeFacebook
from .kit.fake_instagram import FakeInstagram, MediaSide
from .kit.fake_mastodon import FakeMastodon
from .kit.fake_telegram import FakeTelegram
from .kit.fake_threads import FakeThreads
from .kit.fake_x import FakeX
from .kit.real_wordpress import WordPress, wordpress_fixture
from .kit.runs import Run, run_cli
from .kit.servers import FeedServer, serving


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.close()


@pytest.fixture
def clock() -> ManualClock:
    return manual_clock()


@pytest.fixture
def run_bot(clock: ManualClock) -> Callable[..., Run]:
    """Run ``bot ARGS`` in this process with the test's clock; returns the exit code and what it printed."""

    def run(*args: str) -> Run:
        return run_cli(clock, *args)

    return run


# --- the platform fakes: each checked, once the test is over, for errors of its own and refused requests ----

@pytest.fixture
def fake_x(clock: ManualClock) -> Iterator[FakeX]:
    yield from serving(FakeX(clock))


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    yield from serving(FakeTelegram())


@pytest.fixture
def facebook() -> Iterator[FakeFacebook]:
    yield from serving(FakeFacebook())


@pytest.fixture
def mastodon() -> Iterator[FakeMastodon]:
    yield from serving(FakeMastodon())


@pytest.fixture
def bluesky() -> Iterator[FakeBluesky]:
    yield from serving(FakeBluesky())


@pytest.fixture
def discord(clock: ManualClock) -> Iterator[FakeDiscord]:
    yield from serving(FakeDiscord(clock))


@pytest.fixture
def instagram(clock: ManualClock) -> Iterator[FakeInstagram]:
    yield from serving(FakeInstagram(clock))


@pytest.fixture
def media() -> Iterator[MediaSide]:
    """The bot's HTTP side serving hosted pictures (``/media/…``) for a bot run in the test's process."""
    side = MediaSide()
    yield side
    side.close()


@pytest.fixture
def threads(clock: ManualClock) -> Iterator[FakeThreads]:
    yield from serving(FakeThreads(clock))


@pytest.fixture
def smtp() -> Iterator[FakeSMTP]:
    server = FakeSMTP()
    yield server
    server.close()


@pytest.fixture
def webhook() -> Iterator[FakeWebhook]:
    yield from serving(FakeWebhook())


@pytest.fixture
def desk() -> Iterator[FakeTelegram]:
    """A second Telegram: the newsroom's chat that alerts go to (its own bot and chat)."""
    yield from serving(FakeTelegram(token="777000:AA-alerts-bot", channel="qurays_desk", chat_id=-1009876543210))


@pytest.fixture(scope="session")
def real_wordpress() -> Iterator[WordPress]:
    """One real WordPress (MariaDB, php -S, the plugin from its zip) for the whole run (kit.real_wordpress)."""
    yield from wordpress_fixture()


# --- the sandbox ---------------------------------------------------------------------------------------------

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

@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of this test run's own on the local PostgreSQL server (kit.databases.PG_URL); its URL."""
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


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or the test run's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    return empty_postgres(request.getfixturevalue("postgres_database"))
