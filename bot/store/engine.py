"""Engines (SQLite in WAL mode, PostgreSQL), database URLs, advisory locks, and ``StoreBase``: the
connection handling every part of the store shares.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.config.database import normalize_url, shown_url
from bot.errors import StoreError
from bot.models import DeliveryState
from bot.store import schema
from bot.store.tables import deliveries

log = logging.getLogger("bot.store")


class StoreBase:
    """What every part of the store shares: the engines (a durable one, and a light one for a poll's
    bookkeeping), this process's name for poll leases, opening and closing."""

    def __init__(self, engine: Engine, light: Engine | None = None) -> None:
        self.engine = engine
        #: For bookkeeping whose loss in a power cut costs repeated work, never a post (see _bookkeeping).
        self.light = light or engine
        #: This process's name in a database it may share with other replicas (poll leases).
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    @classmethod
    def open(cls, url: str, *, migrate: bool = False, create: bool = True) -> Self:
        """Open the database at ``url``: an empty one gets the newest schema; one at an older schema
        revision is migrated when ``migrate`` is set and refused otherwise. Without ``create`` (commands that
        only read) a database that is not there yet is not made: StoreError. Raises StoreError when it cannot."""
        url = sqlite_file(normalize_url(url))  # "in memory": one throw-away file for both engines
        shown = shown_url(url)
        parsed = sa.engine.make_url(url)
        if not create and parsed.get_backend_name() == "sqlite" and parsed.database \
                and not Path(parsed.database).exists():
            raise StoreError(f"there is no database at {parsed.database} yet (bot run or bot migrate makes it): "
                             "is this the config the daemon uses?")
        engine: Engine | None = None
        try:
            engine = make_engine(url)
            schema.prepare(engine, migrate=migrate, create=create)
            light = make_engine(url, durable=False) if engine.dialect.name == "sqlite" else None
        except Exception as exc:
            if engine is not None:
                engine.dispose()
            if isinstance(exc, schema.SchemaError):
                raise StoreError(f"the database {shown}: {exc}") from exc
            if isinstance(exc, sa.exc.SQLAlchemyError | OSError):
                reason = str(getattr(exc, "orig", None) or exc).strip()
                raise StoreError(f"cannot open the database {shown}: {reason}") from exc
            raise
        return cls(engine, light)

    @staticmethod
    def migrate(url: str) -> tuple[str | None, str]:
        """Bring the database at ``url`` up to this bot's schema, or create it when empty (``bot migrate``):
        (the revision found, the revision now). Raises StoreError when it cannot."""
        engine = make_engine(url)
        try:
            return schema.prepare(engine, migrate=True)
        except schema.SchemaError as exc:
            raise StoreError(f"the database: {exc}") from exc
        except Exception as exc:  # the driver's own errors: say what and where, without the password
            raise StoreError(f"cannot migrate the database {shown_url(url)}: "
                             f"{getattr(exc, 'orig', None) or exc}") from exc
        finally:
            engine.dispose()

    @property
    def shown(self) -> str:
        """The database in use, as messages name it (a SQLite file's path; a URL without its password)."""
        url = self.engine.url
        return str(url.database) if url.get_backend_name() == "sqlite" else shown_url(url.render_as_string(False))

    def hold_exclusive(self) -> None:
        """For ``bot run`` on SQLite: take the file's daemon lock (``<file>.lock``, held until the process ends),
        or raise StoreError when another daemon holds it. Only one daemon may use a SQLite file; ``bot poll``
        and the other commands may run beside it. (PostgreSQL takes any number of replicas: nothing to do.)"""
        if self.postgres or not self.engine.url.database:
            return
        import fcntl

        path = Path(f"{self.engine.url.database}.lock")
        handle = path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StoreError(f"another bot runs on the database {self.engine.url.database} ({holder}): only one "
                             "daemon may use a SQLite file (use PostgreSQL for replicas)") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        self._daemon_lock = handle  # kept open: the lock lasts as long as this process

    @property
    def postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def close(self) -> None:
        self.engine.dispose()
        if self.light is not self.engine:
            self.light.dispose()

    @contextmanager
    def _bookkeeping(self) -> Iterator[Connection]:
        """A transaction committed without waiting for the disk (SQLite ``synchronous=NORMAL`` in WAL mode,
        PostgreSQL ``synchronous_commit=off``): a power cut may undo the last few such commits but never
        corrupts, and a later durable commit (a post recorded as sent) makes them durable too. Used for what
        a poll writes: undone, a poll's leases and feed state are simply redone, and its new articles are
        seen as new again at the next poll, with their deliveries. Nothing sent depends on them alone."""
        with self.light.begin() as c:
            if c.dialect.name == "postgresql":
                c.execute(sa.text("SET LOCAL synchronous_commit = off"))
            yield c


def make_engine(url: str, *, durable: bool = True) -> Engine:
    parsed = sa.engine.make_url(normalize_url(url))
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(sa.engine.make_url(sqlite_file(url)), durable)
    # READ COMMITTED (PostgreSQL's default): every statement sees what other replicas committed before it.
    return sa.create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=5)


def sqlite_file(url: str) -> str:
    """A SQLite URL with a file: "in memory" (demos) becomes a throw-away file, so the scheduler's threads
    each get their own connection exactly as with a real file, instead of sharing one between transactions.
    Other URLs are returned as they are."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or (parsed.database and parsed.database != ":memory:"):
        return url
    folder = tempfile.mkdtemp(prefix="wp-social-bot-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return parsed.set(database=str(Path(folder) / "bot.sqlite3")).render_as_string(hide_password=False)


def _sqlite_engine(url: sa.URL, durable: bool = True) -> Engine:
    if url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: a post recorded as sent stays recorded, even in a power cut (see Store._bookkeeping for NORMAL).
        cur.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return engine


def _insert(c: Connection, table: sa.Table) -> Any:
    """An INSERT that can say ON CONFLICT DO NOTHING, in the connection's dialect."""
    if c.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def _gone(owner: str) -> bool:
    """Whether a lease owner (``host:pid:tag``) is a process of this machine that no longer runs."""
    host, _, pid = owner.rpartition(":")[0].rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists (perhaps as another user's process)
        return False
    return False


#: Keys of PostgreSQL advisory locks (any fixed numbers).
_NEW_ARTICLES_LOCK = 7_413_092_002


def _serialize_new_articles(c: Connection) -> None:
    """On PostgreSQL, one transaction at a time records new articles: two replicas polling two feeds that
    carry the same article (the main feed and a category feed) must not both queue it for an account.
    These transactions do no network I/O, so the wait is short. (SQLite writers are serial already.)"""
    if c.dialect.name == "postgresql":
        c.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _NEW_ARTICLES_LOCK})


def _account_claim_lock(c: Connection, account_id: str, delivery_id: int, now: datetime) -> bool:
    """PostgreSQL: whether this transaction may claim for the account. It takes the account's advisory lock
    (held until commit) and, under it, checks that no other replica committed a claim for the account
    since the query's snapshot."""
    got = c.execute(sa.text("SELECT pg_try_advisory_xact_lock(hashtext(:key))"),
                    {"key": f"wp-social-bot account {account_id}"}).scalar()
    if not got:
        return False
    other = c.execute(sa.select(deliveries.c.id).where(
        deliveries.c.account_id == account_id, deliveries.c.id != delivery_id,
        deliveries.c.state == DeliveryState.SENDING.value, deliveries.c.claimed_until > now).limit(1)).first()
    return other is None


def db_now(c: Connection) -> datetime:
    """The database's own time (UTC): claims are made and expire by it, so a replica whose clock runs ahead
    cannot take another's claim early."""
    if c.dialect.name == "postgresql":
        value: datetime = c.execute(sa.text("SELECT clock_timestamp() AT TIME ZONE 'UTC'")).scalar_one()
        return value.replace(tzinfo=UTC)
    text: str = c.execute(sa.text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")).scalar_one()
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)


_T = TypeVar("_T")


def _chunks(items: Sequence[_T], size: int) -> Iterable[Sequence[_T]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
