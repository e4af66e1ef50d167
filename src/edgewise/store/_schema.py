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

# -- shadow runs and the deployment registry (migration 0003_shadow) -------------------
shadow_runs = Table(
    "shadow_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("device", String(200), nullable=False),
    Column("production", JSON, nullable=False),  # {"name", "sha256", "path" | "url"}
    Column("candidates", JSON, nullable=False),  # [{"name", "sha256", "path" | "url"}]
    Column("settings", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

shadow_pairs = Table(
    "shadow_pairs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("shadow_runs.id"), nullable=False, index=True),
    Column("candidate", String(200), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("request_id", String(200), nullable=False, server_default=""),
    Column("outcome", String(20), nullable=False),  # ok | timeout | error | unavailable
    Column("production_ms", Float, nullable=False),
    Column("production_compute_ms", Float, nullable=True),
    Column("production_io_ms", Float, nullable=True),
    Column("candidate_ms", Float, nullable=True),  # NULL: censored (timeout / error)
    Column("candidate_compute_ms", Float, nullable=True),
    Column("candidate_io_ms", Float, nullable=True),
    Column("lag_ms", Float, nullable=True),
    Column("max_abs_diff", Float, nullable=True),
    Column("rel_diff", Float, nullable=True),
    Column("top1_agree", Boolean, nullable=True),
    Column("cosine", Float, nullable=True),
    Column("agree", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

shadow_verdicts = Table(
    "shadow_verdicts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("shadow_runs.id"), nullable=False, index=True),
    Column("candidate", String(200), nullable=False),
    Column("verdict", String(20), nullable=False),
    Column("rule", String(40), nullable=False),
    Column("reason", Text, nullable=False),
    Column("final", Boolean, nullable=False),
    Column("requests_used", Integer, nullable=False),
    Column("detail", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

deployments = Table(
    "deployments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event", String(20), nullable=False),  # gate | promote | rollback
    Column("model_name", String(200), nullable=False),
    Column("model_sha256", String(64), nullable=False, index=True),
    Column("device", String(200), nullable=False, index=True),
    Column("verdict", String(20), nullable=False),
    Column("reason", Text, nullable=False),
    Column("source", String(40), nullable=False),  # measurement | predictor | shadow | manual
    Column("slo_ms", Float, nullable=True),
    Column("percentile", Float, nullable=True),
    Column("predicted_ms", Float, nullable=True),
    Column("predicted_lo_ms", Float, nullable=True),
    Column("predicted_hi_ms", Float, nullable=True),
    Column("observed_ms", Float, nullable=True),
    Column("run_id", Integer, ForeignKey("shadow_runs.id"), nullable=True),
    Column("detail", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
