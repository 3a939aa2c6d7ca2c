"""Images at a public address (Instagram, Threads fetch them), platforms' refreshed tokens, and the headline
frozen with a delivery's text.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("frozen_title", sa.Text))  # nullable: SQLite adds it in place
    op.create_table(
        "hosted_images",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_hosted_images_expires_at", "hosted_images", ["expires_at"])
    op.create_table(
        "account_tokens",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime),
        sa.Column("refreshed_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("account_tokens")
    op.drop_index("ix_hosted_images_expires_at", "hosted_images")
    op.drop_table("hosted_images")
    # In place (SQLite 3.35+ and PostgreSQL): a batch copy of the table would cascade-delete its history.
    op.execute("ALTER TABLE deliveries DROP COLUMN frozen_title")
