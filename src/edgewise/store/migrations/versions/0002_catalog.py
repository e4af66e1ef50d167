"""Chip catalog: chips (with sourced specs) and their published or measured results.

Revision ID: 0002_catalog
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_catalog"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "chips",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("vendor", sa.String(100), nullable=False, server_default=""),
        sa.Column("origins", sa.JSON, nullable=False),
        sa.Column("specs", sa.JSON, nullable=False),
        sa.Column("aliases", sa.JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "catalog_results",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("chip_id", sa.Integer, sa.ForeignKey("chips.id"), nullable=False, index=True),
        sa.Column("origin", sa.String(40), nullable=False, index=True),
        sa.Column("benchmark", sa.String(200), nullable=False, index=True),
        sa.Column("scenario", sa.String(40), nullable=False),
        sa.Column("metric", sa.String(60), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("units", sa.String(40), nullable=False),
        sa.Column("system", sa.Text, nullable=False, server_default=""),
        sa.Column("submitter", sa.String(200), nullable=False, server_default=""),
        sa.Column("round", sa.String(40), nullable=False, server_default=""),
        sa.Column("division", sa.String(40), nullable=False, server_default=""),
        sa.Column("category", sa.String(40), nullable=False, server_default=""),
        sa.Column("software", sa.Text, nullable=False, server_default=""),
        sa.Column("source", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", _TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("catalog_results")
    op.drop_table("chips")
