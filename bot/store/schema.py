"""The database schema's revision, and the Alembic migrations between revisions (``bot/store/migrations``).

An empty database gets the newest schema at once. A database at an older revision is migrated by
``bot migrate`` (or at start with ``migrate_on_start: true``); otherwise the bot refuses it with a clear
message instead of running on tables that lack what it needs. A database from a newer bot is refused too.
On PostgreSQL an advisory lock makes replicas that start together prepare the schema one at a time.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.store.tables import metadata

#: The newest revision (the last file in bot/store/migrations/versions; a test keeps them in step).
HEAD = "0011"
#: Revisions in order, oldest first.
REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010", "0011")
MIGRATIONS = Path(__file__).parent / "migrations"
#: Any fixed number: the key of the PostgreSQL advisory lock held while the schema is prepared.
_LOCK_KEY = 7_413_092_001


class SchemaError(Exception):
    """The database's schema is not the one this bot needs (older, newer, or unknown)."""

    pass


def current_revision(c: Connection) -> str | None:
    """The database's revision; None when it holds none of the bot's tables. Tables made before the bot
    had migrations (no ``alembic_version``) are revision 0001, the schema they were made with."""
    tables = set(sa.inspect(c).get_table_names())
    if "alembic_version" in tables:
        version: str | None = c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        if version:
            return version
    return "0001" if "deliveries" in tables else None


def prepare(engine: Engine, *, migrate: bool, create: bool = True) -> tuple[str | None, str]:
    """Make the database ready for this bot. Returns (the revision found, the revision now)."""
    with engine.begin() as c:
        if c.dialect.name == "postgresql":
            c.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        found = current_revision(c)
        if found == HEAD:
            return found, HEAD
        if found is None:
            if not create:
                raise SchemaError("it holds none of the bot's tables yet (bot run or bot migrate makes them)")
            metadata.create_all(c)
            _stamp(c, HEAD)
            return None, HEAD
        if found not in REVISIONS:
            raise SchemaError(f"its schema is at revision {found}, which this version of the bot does not know "
                              f"(its newest is {HEAD}): it was migrated by a newer bot; run that version")
        if not migrate:
            raise SchemaError(f"its schema is at revision {found} and this version of the bot needs {HEAD}: "
                              "back it up, then run `bot migrate` (or set migrate_on_start: true)")
        _upgrade(c)
        return found, HEAD


def _stamp(c: Connection, revision: str) -> None:
    """Record the revision as Alembic does (its version table), without importing Alembic: the daemon's
    first start would carry its ~12 MB for the rest of its life."""
    c.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                      "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"))
    c.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": revision})


def _upgrade(c: Connection) -> None:
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = c
    if MigrationContext.configure(c).get_current_revision() is None:
        command.stamp(cfg, "0001")  # tables made before migrations existed: they are revision 0001
    command.upgrade(cfg, "head")
