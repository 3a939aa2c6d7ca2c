"""The PostgreSQL side of the database tests: ``PG_URL`` (the server the tests use), making and dropping
this run's own database on it, and ``empty_postgres``. The fixtures that use them (``postgres_database``,
``db_url``) are in conftest."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

#: The PostgreSQL server the tests use (any database on it; each test run makes its own). CI sets
#: BOT_TEST_POSTGRES=required, so a server that is not there fails the run instead of skipping.
PG_URL = os.environ.get("BOT_TEST_POSTGRES_URL", "postgresql+psycopg:///postgres?host=/var/run/postgresql")


def empty_postgres(url: str) -> str:
    """Drop everything in the test database: each test starts from an empty one."""
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text("DROP SCHEMA public CASCADE"))
        c.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def expire_claims(store: Any) -> int:
    """Let the database's clock pass every claim under way, as if their process had died minutes ago (claims
    expire by the database's clock, which a test's ManualClock does not move). Returns how many."""
    from bot.store import deliveries

    with store.engine.begin() as c:
        done = c.execute(deliveries.update().where(deliveries.c.state == "sending")
                         .values(claimed_until=datetime(2000, 1, 1, tzinfo=UTC)))
    return int(done.rowcount or 0)
