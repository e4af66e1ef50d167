"""Initial schema: devices, models, measurements, latency_records.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("fingerprint_sha", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "models",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("input_signature", sa.JSON, nullable=False),
        sa.Column("path", sa.Text, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "measurements",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False, index=True),
        sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id"), nullable=False, index=True),
        sa.Column("scenario", sa.String(20), nullable=False),
        sa.Column("backend", sa.String(40), nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("queries", sa.Integer, nullable=False),
        sa.Column("valid", sa.Boolean, nullable=False),
        sa.Column("p50_ms", sa.Float, nullable=False),
        sa.Column("p99_ms", sa.Float, nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("environment", sa.JSON, nullable=False),
        sa.Column("latencies", sa.LargeBinary, nullable=False),
        sa.Column("histogram", sa.JSON, nullable=False),
        sa.Column("loadgen_summary", sa.Text, nullable=False),
        sa.Column("loadgen_detail", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "latency_records",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("space", sa.String(40), nullable=False, server_default=""),
        sa.Column("arch", sa.Text, nullable=False, server_default=""),
        sa.Column("model_sha256", sa.String(64), nullable=False, server_default=""),
        sa.Column("device", sa.String(200), nullable=False, index=True),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("space", "arch", "model_sha256", "device", name="uq_latency_record"),
    )


def downgrade() -> None:
    op.drop_table("latency_records")
    op.drop_table("measurements")
    op.drop_table("models")
    op.drop_table("devices")
