"""Item hashes: each article keeps the hash of its feed item, so a poll parses only new or edited items.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("item_hash", sa.String(64)))
    op.create_index("ix_articles_feed_item_hash", "articles", ["feed_id", "item_hash"])


def downgrade() -> None:
    op.drop_index("ix_articles_feed_item_hash", "articles")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("item_hash")
