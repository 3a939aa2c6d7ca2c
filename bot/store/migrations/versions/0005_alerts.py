"""Alerts: what operators were told (one row a problem, and an outbox of messages), and accounts' token expiry.

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
    )
    op.create_table(
        "alert_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_key", sa.String(200), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("told", sa.JSON, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("not_before", sa.DateTime),
        sa.Column("claimed_until", sa.DateTime),
        sa.Column("done_at", sa.DateTime),
    )
    op.create_index("ix_alert_messages_pending", "alert_messages", ["done_at", "alert_key"])


def downgrade() -> None:
    op.drop_index("ix_alert_messages_pending", "alert_messages")
    op.drop_table("alert_messages")
    op.drop_table("alerts")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("token_checked_at")
        batch.drop_column("token_expires_at")
