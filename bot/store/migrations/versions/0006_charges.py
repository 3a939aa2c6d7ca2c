"""Charges: what each paid request cost (X's pay-per-use), and each sent delivery's cost.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("cost_micro_usd", sa.Integer))
    op.create_table(
        "charges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("micro_usd", sa.Integer, nullable=False),
        sa.Column("what", sa.String(64), nullable=False),
        sa.Column("delivery_id", sa.Integer),
    )
    op.create_index("ix_charges_account_at", "charges", ["account_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_charges_account_at", "charges")
    op.drop_table("charges")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("cost_micro_usd")
