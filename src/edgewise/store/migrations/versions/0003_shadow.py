"""Shadow runs, their paired per-request records and verdicts, and the deployment registry.

Revision ID: 0003_shadow
Revises: 0002_catalog
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_shadow"
down_revision = "0002_catalog"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "shadow_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("device", sa.String(200), nullable=False),
        sa.Column("production", sa.JSON, nullable=False),
        sa.Column("candidates", sa.JSON, nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "shadow_pairs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("shadow_runs.id"), nullable=False, index=True
        ),
        sa.Column("candidate", sa.String(200), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("request_id", sa.String(200), nullable=False, server_default=""),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("production_ms", sa.Float, nullable=False),
        sa.Column("production_compute_ms", sa.Float, nullable=True),
        sa.Column("production_io_ms", sa.Float, nullable=True),
        sa.Column("candidate_ms", sa.Float, nullable=True),
        sa.Column("candidate_compute_ms", sa.Float, nullable=True),
        sa.Column("candidate_io_ms", sa.Float, nullable=True),
        sa.Column("lag_ms", sa.Float, nullable=True),
        sa.Column("max_abs_diff", sa.Float, nullable=True),
        sa.Column("rel_diff", sa.Float, nullable=True),
        sa.Column("top1_agree", sa.Boolean, nullable=True),
        sa.Column("cosine", sa.Float, nullable=True),
        sa.Column("agree", sa.Boolean, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "shadow_verdicts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("shadow_runs.id"), nullable=False, index=True
        ),
        sa.Column("candidate", sa.String(200), nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("final", sa.Boolean, nullable=False),
        sa.Column("requests_used", sa.Integer, nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=False, index=True),
        sa.Column("device", sa.String(200), nullable=False, index=True),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("slo_ms", sa.Float, nullable=True),
        sa.Column("percentile", sa.Float, nullable=True),
        sa.Column("predicted_ms", sa.Float, nullable=True),
        sa.Column("predicted_lo_ms", sa.Float, nullable=True),
        sa.Column("predicted_hi_ms", sa.Float, nullable=True),
        sa.Column("observed_ms", sa.Float, nullable=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("shadow_runs.id"), nullable=True),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("deployments")
    op.drop_table("shadow_verdicts")
    op.drop_table("shadow_pairs")
    op.drop_table("shadow_runs")
