"""The first schema: feeds, articles, deliveries (the outbox), their events, short links, accounts.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("initialized", sa.Boolean, nullable=False),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("body_hash", sa.String(64)),
        sa.Column("last_poll_at", sa.DateTime),
        sa.Column("last_success_at", sa.DateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("next_poll_at", sa.DateTime),
    )
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("feed_id", sa.String(64), nullable=False),
        sa.Column("guid", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("link", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("published_at", sa.DateTime),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("image_urls", sa.JSON, nullable=False),
        sa.Column("categories", sa.JSON),
        sa.Column("tags", sa.JSON),
        sa.Column("featured_image", sa.Text),
        sa.Column("excerpt", sa.Text),
        sa.Column("api_checked_at", sa.DateTime),
        sa.Column("first_seen_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("feed_id", "guid", name="uq_articles_feed_guid"),
    )
    op.create_index("ix_articles_guid", "articles", ["guid"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("not_before", sa.DateTime),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("text", sa.Text),
        sa.Column("claimed_until", sa.DateTime),
        sa.Column("remote_id", sa.Text),
        sa.Column("remote_url", sa.Text),
        sa.Column("note", sa.Text),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime),
        sa.Column("created_by", sa.Text),
        sa.UniqueConstraint("article_id", "account_id", name="uq_deliveries_article_account"),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["state", "not_before"])
    op.create_table(
        "delivery_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.Integer, sa.ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("by", sa.Text),
    )
    op.create_table(
        "short_links",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("url", sa.Text, primary_key=True),
        sa.Column("short", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("held", sa.Boolean, nullable=False),
        sa.Column("held_reason", sa.Text),
        sa.Column("held_at", sa.DateTime),
        sa.Column("not_before", sa.DateTime),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("accounts", "short_links", "delivery_events", "deliveries", "articles", "feeds"):
        op.drop_table(table)
