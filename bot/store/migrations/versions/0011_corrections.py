"""Corrections and retractions: what a post on a platform is owed after its article changed on the site (the
corrected text, or its deletion), and which articles the site withdrew.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

DELIVERY_COLUMNS = ("revise", "revise_by", "revise_due", "revise_tries", "revise_claimed_until", "revise_error",
                    "source_text", "earlier")
ARTICLE_COLUMNS = ("retracted_at", "retracted_why")


def upgrade() -> None:
    # Added in place (SQLite too): nullable, or with a server default.
    op.add_column("articles", sa.Column("retracted_at", sa.DateTime))
    op.add_column("articles", sa.Column("retracted_why", sa.Text))
    op.add_column("deliveries", sa.Column("revise", sa.String(16)))
    op.add_column("deliveries", sa.Column("revise_by", sa.Text))
    op.add_column("deliveries", sa.Column("revise_due", sa.DateTime))
    op.add_column("deliveries", sa.Column("revise_tries", sa.Integer, nullable=False, server_default="0"))
    op.add_column("deliveries", sa.Column("revise_claimed_until", sa.DateTime))
    op.add_column("deliveries", sa.Column("revise_error", sa.Text))
    op.add_column("deliveries", sa.Column("source_text", sa.Text))
    op.add_column("deliveries", sa.Column("earlier", sa.JSON))
    # A text a person wrote (bot edit, an approval with one's own text: an "edit" in the history) is no headline
    # a correction may replace: marked so on the posts made before this revision, as the bot marks them from now on.
    op.execute("UPDATE deliveries SET source_text = '' WHERE id IN "
               "(SELECT delivery_id FROM delivery_events WHERE event = 'edit')")
    # One composed from the plugin's custom text (0010) was composed from it, not from the headline.
    op.execute("UPDATE deliveries SET source_text = (SELECT editor_text FROM articles WHERE articles.id = "
               "deliveries.article_id) WHERE source_text IS NULL AND text IS NOT NULL AND article_id IN "
               "(SELECT id FROM articles WHERE editor_text IS NOT NULL AND editor_text <> '')")
    op.create_index("ix_deliveries_revise", "deliveries", ["revise"])
    op.create_index("ix_articles_retracted", "articles", ["retracted_at"])


def downgrade() -> None:
    # In place (SQLite 3.35+ and PostgreSQL): a batch copy of a table would cascade-delete its deliveries.
    op.drop_index("ix_articles_retracted", "articles")
    op.drop_index("ix_deliveries_revise", "deliveries")
    for column in reversed(DELIVERY_COLUMNS):
        op.execute(f"ALTER TABLE deliveries DROP COLUMN {column}")
    for column in reversed(ARTICLE_COLUMNS):
        op.execute(f"ALTER TABLE articles DROP COLUMN {column}")
