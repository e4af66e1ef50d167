"""Measurements and latency tables in the store."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from edgewise.store import _schema as t
from edgewise.store._base import StoreBase, _insert_or, _now, record_from
from edgewise.store._records import (
    DeviceRecord,
    LatencyRecord,
    MeasurementRecord,
    ModelRecord,
    pack_latencies,
    unpack_latencies,
)


class MeasurementsMixin(StoreBase):
    """Measurements and latency tables in the store."""

    # -- measurements --------------------------------------------------------------
    def add_measurement(
        self, measurement: MeasurementRecord, *, model: ModelRecord, device: DeviceRecord
    ) -> int:
        """Insert a measurement with its model and device, in one transaction."""
        with self._begin() as conn:
            model_id = self._upsert_model(conn, model)
            device_id = self._upsert_device(conn, device)
            return self._insert(
                conn,
                t.measurements,
                model_id=model_id,
                device_id=device_id,
                scenario=measurement.scenario,
                backend=measurement.backend,
                settings=measurement.settings,
                queries=measurement.queries,
                valid=measurement.valid,
                p50_ms=measurement.p50_ms,
                p99_ms=measurement.p99_ms,
                summary=measurement.summary,
                environment=measurement.environment,
                latencies=pack_latencies(measurement.latencies_ms),
                histogram=measurement.histogram,
                loadgen_summary=measurement.loadgen_summary,
                loadgen_detail=measurement.loadgen_detail,
            )

    def _measurement_query(self) -> sa.Select[Any]:
        m, mo, d = t.measurements, t.models, t.devices
        return (
            sa.select(m, *[c.label(f"model__{c.name}") for c in mo.c])
            .add_columns(*[c.label(f"device__{c.name}") for c in d.c])
            .join(mo, mo.c.id == m.c.model_id)
            .join(d, d.c.id == m.c.device_id)
        )

    def list_measurements(
        self,
        *,
        model_sha256: str | None = None,
        device: str | None = None,
        scenario: str | None = None,
        valid: bool | None = None,
        limit: int | None = None,
        with_latencies: bool = False,
    ) -> list[MeasurementRecord]:
        """Newest first; filter by model sha (prefix), device name, scenario, validity."""
        q = self._measurement_query().order_by(t.measurements.c.id.desc())
        if model_sha256:
            q = q.where(t.models.c.sha256.startswith(model_sha256, autoescape=True))
        if device:
            q = q.where(t.devices.c.name == device)
        if scenario:
            q = q.where(t.measurements.c.scenario == scenario)
        if valid is not None:
            q = q.where(t.measurements.c.valid == valid)
        if limit:
            q = q.limit(limit)
        with self._begin() as conn:
            rows = conn.execute(q).all()
        return [_measurement(r._mapping, with_latencies=with_latencies) for r in rows]

    def get_measurement(self, measurement_id: int) -> MeasurementRecord | None:
        q = self._measurement_query().where(t.measurements.c.id == measurement_id)
        with self._begin() as conn:
            row = conn.execute(q).first()
        return None if row is None else _measurement(row._mapping, with_latencies=True)

    # -- latency tables --------------------------------------------------------------
    def add_latency_records(
        self, records: Iterable[LatencyRecord], *, models: Iterable[ModelRecord] = ()
    ) -> int:
        """Insert or replace latency rows, all in one transaction; returns the count.

        ``models`` are the files of model-sha rows: kept (by sha256, with their path)
        so the rows can be featurised again later (``edgewise data export``).
        """
        rows = [
            {
                "space": r.space,
                "arch": r.arch,
                "model_sha256": r.model_sha256,
                "device": r.device,
                "latency_ms": float(r.latency_ms),
                "source": r.source,
                "created_at": _now(),
            }
            for r in records
        ]
        if not rows:
            return 0
        lr = t.latency_records
        with self._begin() as conn:
            for model in models:
                self._upsert_model(conn, model)
            # one upsert on the table's unique key: reading the stored rows, deleting the
            # stale ones and inserting raced with another import of the same rows
            ins = _insert_or(conn, lr)
            replace = ("latency_ms", "source", "created_at")
            conn.execute(
                ins.on_conflict_do_update(
                    index_elements=[lr.c.space, lr.c.arch, lr.c.model_sha256, lr.c.device],
                    set_={c: ins.excluded[c] for c in replace},
                ),
                rows,
            )
        return len(rows)

    def latency_records(
        self, *, device: str | None = None, space: str | None = None
    ) -> list[LatencyRecord]:
        lr = t.latency_records
        q = sa.select(lr).order_by(lr.c.id)
        if device:
            q = q.where(lr.c.device == device)
        if space:
            q = q.where(lr.c.space == space)
        with self._begin() as conn:
            rows = conn.execute(q).all()
        return [
            LatencyRecord(
                device=r.device,
                latency_ms=r.latency_ms,
                space=r.space,
                arch=r.arch,
                model_sha256=r.model_sha256,
                source=r.source,
            )
            for r in rows
        ]


def _measurement(m: Any, *, with_latencies: bool) -> MeasurementRecord:
    return record_from(
        MeasurementRecord,
        m,
        valid=bool(m["valid"]),
        latencies_ms=unpack_latencies(m["latencies"]) if with_latencies else (),
        loadgen_detail=m["loadgen_detail"] if with_latencies else "",
        model=record_from(ModelRecord, m, "model__"),
        device=record_from(DeviceRecord, m, "device__"),
    )
