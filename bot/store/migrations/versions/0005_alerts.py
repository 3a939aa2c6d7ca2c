"""Alerts: what operators were told (one row a problem, and what each channel last heard), and token expiry.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("token_expires_at", sa.DateTime))
        batch.add_column(sa.Column("token_checked_at", sa.DateTime))
    op.create_table(
        "alerts",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("cleared_message", sa.Text, nullable=False),
        sa.Column("raised_at", sa.DateTime, nullable=False),
        sa.Column("cleared_at", sa.DateTime),
        sa.Column("changed_at", sa.DateTime, nullable=False),
        sa.Column("claimed_until", sa.DateTime),
        sa.Column("claims", sa.Integer, nullable=False),
    )
    op.create_table(
        "alert_channels",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("channel", sa.String(64), primary_key=True),
        sa.Column("told_event", sa.String(16)),
        sa.Column("told_at", sa.DateTime),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("not_before", sa.DateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("given_up_at", sa.DateTime),
    )


def downgrade() -> None:
    op.drop_table("alert_channels")
    op.drop_table("alerts")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("token_checked_at")
        batch.drop_column("token_expires_at")
