"""Identity beyond the guid, retention by presence in the feed, catch-ups that resume, and posts' own keys.

- articles: ``post_key`` and ``link_key`` (an article whose guid changed is still known by its WordPress post id
  or its link), ``last_seen_at`` (when its item was last in the feed), filled for the articles already there
- feeds: ``catch_up_since`` (a catch-up that did not finish), ``last_body_at`` (the last poll that read a body)
- deliveries: ``first_tried_at`` (when its text was frozen) and ``revision`` (0, then 1, 2 … for reposts)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.compose.ids import link_key, post_key

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("post_key", sa.String(32)))
        batch.add_column(sa.Column("link_key", sa.Text))
        batch.add_column(sa.Column("last_seen_at", sa.DateTime))
    op.create_index("ix_articles_post_key", "articles", ["post_key"])
    op.create_index("ix_articles_link_key", "articles", ["link_key"])
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("catch_up_since", sa.DateTime))
        batch.add_column(sa.Column("last_body_at", sa.DateTime))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("first_tried_at", sa.DateTime))
        batch.add_column(sa.Column("revision", sa.Integer, nullable=False, server_default="0"))
    c = op.get_bind()
    articles = sa.table("articles", sa.column("id", sa.Integer), sa.column("guid", sa.Text),
                        sa.column("link", sa.Text), sa.column("post_key", sa.String),
                        sa.column("link_key", sa.Text))
    rows = c.execute(sa.select(articles.c.id, articles.c.guid, articles.c.link)).all()
    for r in rows:
        c.execute(articles.update().where(articles.c.id == r.id).values(
            post_key=post_key(r.guid, r.link), link_key=link_key(r.link)))
    # What was in the feed at its last read is taken as still there: nothing known becomes prunable at once.
    c.execute(sa.text("UPDATE articles SET last_seen_at = updated_at"))
    c.execute(sa.text("UPDATE feeds SET last_body_at = last_success_at"))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("revision")
        batch.drop_column("first_tried_at")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("last_body_at")
        batch.drop_column("catch_up_since")
    op.drop_index("ix_articles_link_key", "articles")
    op.drop_index("ix_articles_post_key", "articles")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("last_seen_at")
        batch.drop_column("link_key")
        batch.drop_column("post_key")
