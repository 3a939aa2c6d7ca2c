"""The editor's say per article, from the companion WordPress plugin's post meta (share or not, a custom text
for every network or per network, breaking).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMNS = ("editor_share", "editor_text", "editor_texts", "editor_breaking")


def upgrade() -> None:
    # Nullable, added in place (SQLite too): NULL is "the editor said nothing".
    op.add_column("articles", sa.Column("editor_share", sa.Boolean))
    op.add_column("articles", sa.Column("editor_text", sa.Text))
    op.add_column("articles", sa.Column("editor_texts", sa.JSON))
    op.add_column("articles", sa.Column("editor_breaking", sa.Boolean))


def downgrade() -> None:
    # In place (SQLite 3.35+ and PostgreSQL): a batch copy of the table would cascade-delete its deliveries.
    for column in reversed(COLUMNS):
        op.execute(f"ALTER TABLE articles DROP COLUMN {column}")
