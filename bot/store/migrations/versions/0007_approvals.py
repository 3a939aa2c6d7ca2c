"""Approvals, editors' texts and the history.

- deliveries: ``state`` widened to 32 characters (``awaiting_approval`` is 17); ``maybe_posted`` (a send of its
  text may have reached the platform: its text never changes), set for every row already holding a frozen text (the
  older bot did not say which of them were surely never sent); ``first_tried_at`` filled where a text was frozen
  before that column existed (a frozen text without it now means an editor's text never tried)
- ``ix_deliveries_updated``: the history, newest first

On SQLite, widening a column copies the table (batch mode); with foreign keys on, dropping the old copy would
delete its history rows (``delivery_events`` cascade), so they are kept aside and put back.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _keeping_events(change: Callable[[], None]) -> None:
    """Run ``change`` (which may copy the deliveries table) without losing the deliveries' history on SQLite."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("CREATE TEMP TABLE _kept_delivery_events AS SELECT * FROM delivery_events")
    change()
    if sqlite:
        op.execute("DELETE FROM delivery_events")  # what the copy left (nothing, with foreign keys on)
        op.execute("INSERT INTO delivery_events SELECT * FROM _kept_delivery_events")
        op.execute("DROP TABLE _kept_delivery_events")


def upgrade() -> None:
    def change() -> None:
        with op.batch_alter_table("deliveries") as batch:
            batch.alter_column("state", existing_type=sa.String(16), type_=sa.String(32), existing_nullable=False)
            batch.add_column(sa.Column("maybe_posted", sa.Boolean, nullable=False, server_default=sa.false()))

    _keeping_events(change)
    op.execute("UPDATE deliveries SET maybe_posted = true WHERE text IS NOT NULL")
    op.execute("UPDATE deliveries SET first_tried_at = updated_at WHERE text IS NOT NULL AND first_tried_at IS NULL")
    op.create_index("ix_deliveries_updated", "deliveries", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_updated", "deliveries")
    # The older bot knows no approval: what waits for one is not posted unapproved.
    op.execute("UPDATE deliveries SET state = 'skipped', note = 'awaiting approval when the bot was downgraded' "
               "WHERE state = 'awaiting_approval'")

    def change() -> None:
        with op.batch_alter_table("deliveries") as batch:
            batch.drop_column("maybe_posted")
            batch.alter_column("state", existing_type=sa.String(32), type_=sa.String(16), existing_nullable=False)

    _keeping_events(change)
