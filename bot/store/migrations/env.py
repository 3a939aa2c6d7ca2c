"""Alembic's environment: run on the connection bot.store.schema hands over (or on sqlalchemy.url when a
developer runs alembic by hand: ``alembic -x url=sqlite:///var/bot.sqlite3 upgrade head`` with a config
whose script_location is bot/store/migrations)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from bot.config.database import normalize_url
from bot.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")


def _run(c: sa.Connection) -> None:
    # Batch mode: SQLite cannot alter most things in place; batch operations copy the table instead.
    context.configure(connection=c, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("give the database: alembic -x url=... upgrade head")
    engine = sa.create_engine(normalize_url(url))
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
