"""Table definitions (SQLAlchemy Core). Migrations in ``migrations/versions`` create them.

Only ``edgewise.store`` touches these; everything else passes dataclasses.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

devices = Table(
    "devices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("fingerprint_sha", String(64), nullable=False),
    Column("fingerprint", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

models = Table(
    "models",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("format", String(20), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("input_signature", JSON, nullable=False),
    Column("path", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

measurements = Table(
    "measurements",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False, index=True),
    Column("device_id", Integer, ForeignKey("devices.id"), nullable=False, index=True),
    Column("scenario", String(20), nullable=False),
    Column("backend", String(40), nullable=False),
    Column("settings", JSON, nullable=False),
    Column("queries", Integer, nullable=False),
    Column("valid", Boolean, nullable=False),
    Column("p50_ms", Float, nullable=False),
    Column("p99_ms", Float, nullable=False),
    Column("summary", JSON, nullable=False),
    Column("environment", JSON, nullable=False),
    # Raw per-query end-to-end latencies: little-endian float32 ms, zlib-compressed.
    Column("latencies", LargeBinary, nullable=False),
    Column("histogram", JSON, nullable=False),
    Column("loadgen_summary", Text, nullable=False),
    Column("loadgen_detail", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

latency_records = Table(
    "latency_records",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("space", String(40), nullable=False, server_default=""),
    Column("arch", Text, nullable=False, server_default=""),
    Column("model_sha256", String(64), nullable=False, server_default=""),
    Column("device", String(200), nullable=False, index=True),
    Column("latency_ms", Float, nullable=False),
    Column("source", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("space", "arch", "model_sha256", "device", name="uq_latency_record"),
)

# -- chip catalog (migration 0002_catalog) ------------------------------------------
chips = Table(
    "chips",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("vendor", String(100), nullable=False, server_default=""),
    Column("origins", JSON, nullable=False),
    # {field: {"value": number, "source": "where it comes from"}}; unknown fields absent.
    Column("specs", JSON, nullable=False),
    Column("aliases", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

catalog_results = Table(
    "catalog_results",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chip_id", Integer, ForeignKey("chips.id"), nullable=False, index=True),
    Column("origin", String(40), nullable=False, index=True),
    Column("benchmark", String(200), nullable=False, index=True),
    Column("scenario", String(40), nullable=False),
    Column("metric", String(60), nullable=False),
    Column("value", Float, nullable=False),
    Column("units", String(40), nullable=False),
    Column("system", Text, nullable=False, server_default=""),
    Column("submitter", String(200), nullable=False, server_default=""),
    Column("round", String(40), nullable=False, server_default=""),
    Column("division", String(40), nullable=False, server_default=""),
    Column("category", String(40), nullable=False, server_default=""),
    Column("software", Text, nullable=False, server_default=""),
    Column("source", Text, nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
