"""The ``Store``: the only place that runs SQL.

>>> store = Store("sqlite://")          # in-memory
>>> store.list_measurements()
[]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError

from edgewise.errors import StoreError, StoreUnavailableError
from edgewise.store import _schema as t
from edgewise.store._records import (
    CatalogResultRecord,
    ChipRecord,
    DeviceRecord,
    LatencyRecord,
    MeasurementRecord,
    ModelRecord,
    pack_latencies,
    unpack_latencies,
)
from edgewise.store._shadow_records import (
    DeploymentRecord,
    ShadowPairRecord,
    ShadowRunRecord,
    ShadowVerdictRecord,
)

ENV_VAR = "EDGEWISE_DB"


def default_url() -> str:
    """``$EDGEWISE_DB``, else an SQLite file in the user's data dir."""
    url = os.environ.get(ENV_VAR)
    if url:
        return url
    import platformdirs

    data_dir = Path(platformdirs.user_data_dir("edgewise", appauthor=False))
    return f"sqlite:///{data_dir / 'edgewise.db'}"


def _now() -> datetime:
    return datetime.now(UTC)


def _redact(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


class Store:
    """Wraps one database (SQLite or PostgreSQL) and migrates it to the latest schema.

    Every write runs in one transaction: it lands whole or not at all.
    """

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.url = url or default_url()
        self.engine = _connect(self.url)
        if migrate:
            self.migrate()

    # -- lifecycle -----------------------------------------------------------------
    def migrate(self) -> None:
        """Upgrade the schema to the newest migration (a no-op when current)."""
        from edgewise.store._migrate import upgrade

        with self._begin() as conn:
            upgrade(conn)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StoreUnavailableError(
                f"cannot use store {_redact(self.url)}: {exc.orig}".splitlines()[0]
            ) from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"store error: {exc}".splitlines()[0]) from exc

    # -- devices and models ----------------------------------------------------------
    def _upsert_device(self, conn: Connection, device: DeviceRecord) -> int:
        row = conn.execute(sa.select(t.devices.c.id).where(t.devices.c.name == device.name)).first()
        values = {
            "kind": device.kind,
            "fingerprint_sha": device.fingerprint_sha,
            "fingerprint": device.fingerprint,
        }
        if row is not None:
            conn.execute(t.devices.update().where(t.devices.c.id == row.id).values(**values))
            return int(row.id)
        res = conn.execute(
            t.devices.insert().values(name=device.name, created_at=_now(), **values)
        )
        return int(res.inserted_primary_key[0])  # type: ignore[index]

    def _upsert_model(self, conn: Connection, model: ModelRecord) -> int:
        row = conn.execute(
            sa.select(t.models.c.id).where(t.models.c.sha256 == model.sha256)
        ).first()
        if row is not None:
            return int(row.id)
        res = conn.execute(
            t.models.insert().values(
                sha256=model.sha256,
                name=model.name,
                format=model.format,
                size_bytes=model.size_bytes,
                input_signature=model.input_signature,
                path=model.path,
                created_at=_now(),
            )
        )
        return int(res.inserted_primary_key[0])  # type: ignore[index]

    def add_device(self, device: DeviceRecord) -> int:
        with self._begin() as conn:
            return self._upsert_device(conn, device)

    def list_devices(self) -> list[DeviceRecord]:
        with self._begin() as conn:
            rows = conn.execute(sa.select(t.devices).order_by(t.devices.c.id)).all()
        return [_device(r._mapping) for r in rows]

    def list_models(self) -> list[ModelRecord]:
        with self._begin() as conn:
            rows = conn.execute(sa.select(t.models).order_by(t.models.c.id)).all()
        return [_model(r._mapping) for r in rows]

    # -- measurements --------------------------------------------------------------
    def add_measurement(
        self, measurement: MeasurementRecord, *, model: ModelRecord, device: DeviceRecord
    ) -> int:
        """Insert a measurement with its model and device, in one transaction."""
        with self._begin() as conn:
            model_id = self._upsert_model(conn, model)
            device_id = self._upsert_device(conn, device)
            res = conn.execute(
                t.measurements.insert().values(
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
                    created_at=_now(),
                )
            )
            return int(res.inserted_primary_key[0])  # type: ignore[index]

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
        limit: int | None = None,
        with_latencies: bool = False,
    ) -> list[MeasurementRecord]:
        """Newest first; filter by model sha (prefix) or device name."""
        q = self._measurement_query().order_by(t.measurements.c.id.desc())
        if model_sha256:
            q = q.where(t.models.c.sha256.startswith(model_sha256))
        if device:
            q = q.where(t.devices.c.name == device)
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
    def add_latency_records(self, records: Iterable[LatencyRecord]) -> int:
        """Insert or replace latency rows, all in one transaction; returns the count."""
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
            keys = {(r["space"], r["arch"], r["model_sha256"], r["device"]) for r in rows}
            for device in {k[3] for k in keys}:
                existing = conn.execute(
                    sa.select(lr.c.id, lr.c.space, lr.c.arch, lr.c.model_sha256).where(
                        lr.c.device == device
                    )
                ).all()
                stale = [e.id for e in existing if (e.space, e.arch, e.model_sha256, device) in keys]
                for i in range(0, len(stale), 500):
                    conn.execute(lr.delete().where(lr.c.id.in_(stale[i : i + 500])))
            conn.execute(lr.insert(), rows)
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


    # -- chip catalog ----------------------------------------------------------------
    def replace_catalog(
        self,
        *,
        origin: str,
        chips: Iterable[ChipRecord],
        results: Iterable[CatalogResultRecord],
    ) -> tuple[int, int]:
        """Upsert ``chips`` and replace every result of ``origin``, in one transaction.

        Returns ``(chips upserted, results inserted)``. Re-importing is idempotent.
        """
        chip_list = list(chips)
        result_list = list(results)
        c, r = t.chips, t.catalog_results
        with self._begin() as conn:
            existing = {row.name: row for row in conn.execute(sa.select(c)).all()}
            ids: dict[str, int] = {}
            for chip in chip_list:
                row = existing.get(chip.name)
                if row is None:
                    res = conn.execute(
                        c.insert().values(
                            name=chip.name,
                            kind=chip.kind,
                            vendor=chip.vendor,
                            origins=sorted(set(chip.origins) | {origin}),
                            specs=chip.specs,
                            aliases=sorted(set(chip.aliases)),
                            created_at=_now(),
                        )
                    )
                    ids[chip.name] = int(res.inserted_primary_key[0])  # type: ignore[index]
                    continue
                specs = {**(row.specs or {}), **chip.specs}
                conn.execute(
                    c.update()
                    .where(c.c.id == row.id)
                    .values(
                        kind=chip.kind if chip.kind != "unknown" else row.kind,
                        vendor=chip.vendor or row.vendor,
                        origins=sorted(set(row.origins or []) | set(chip.origins) | {origin}),
                        specs=specs,
                        aliases=sorted(set(row.aliases or []) | set(chip.aliases)),
                    )
                )
                ids[chip.name] = int(row.id)
            for name, row in existing.items():
                ids.setdefault(name, int(row.id))
            conn.execute(r.delete().where(r.c.origin == origin))
            rows = []
            for res_rec in result_list:
                if res_rec.chip not in ids:
                    raise StoreError(f"catalog result names unknown chip {res_rec.chip!r}")
                rows.append(
                    {
                        "chip_id": ids[res_rec.chip],
                        "origin": origin,
                        "benchmark": res_rec.benchmark,
                        "scenario": res_rec.scenario,
                        "metric": res_rec.metric,
                        "value": float(res_rec.value),
                        "units": res_rec.units,
                        "system": res_rec.system,
                        "submitter": res_rec.submitter,
                        "round": res_rec.round,
                        "division": res_rec.division,
                        "category": res_rec.category,
                        "software": res_rec.software,
                        "source": res_rec.source,
                        "created_at": _now(),
                    }
                )
            for i in range(0, len(rows), 5000):
                conn.execute(r.insert(), rows[i : i + 5000])
        return len(chip_list), len(result_list)

    def list_chips(self) -> list[ChipRecord]:
        """Every chip in the catalog, by name."""
        with self._begin() as conn:
            rows = conn.execute(sa.select(t.chips).order_by(t.chips.c.name)).all()
        return [_chip(row._mapping) for row in rows]

    def get_chip(self, name: str) -> ChipRecord | None:
        """One chip by exact name, or ``None``."""
        with self._begin() as conn:
            row = conn.execute(sa.select(t.chips).where(t.chips.c.name == name)).first()
        return None if row is None else _chip(row._mapping)

    def catalog_results(
        self,
        *,
        chip: str | None = None,
        benchmark: str | None = None,
        origin: str | None = None,
    ) -> list[CatalogResultRecord]:
        """Catalog results, optionally for one chip, benchmark or origin."""
        c, r = t.chips, t.catalog_results
        q = sa.select(r, c.c.name.label("chip_name")).join(c, c.c.id == r.c.chip_id)
        if chip:
            q = q.where(c.c.name == chip)
        if benchmark:
            q = q.where(r.c.benchmark == benchmark)
        if origin:
            q = q.where(r.c.origin == origin)
        with self._begin() as conn:
            rows = conn.execute(q.order_by(r.c.id)).all()
        return [
            CatalogResultRecord(
                chip=row.chip_name,
                origin=row.origin,
                benchmark=row.benchmark,
                scenario=row.scenario,
                metric=row.metric,
                value=float(row.value),
                units=row.units,
                system=row.system,
                submitter=row.submitter,
                round=row.round,
                division=row.division,
                category=row.category,
                software=row.software,
                source=row.source,
            )
            for row in rows
        ]

    # -- shadow runs and the deployment registry ---------------------------------------
    def add_shadow_run(self, run: ShadowRunRecord) -> int:
        """Insert a shadow run; returns its id."""
        with self._begin() as conn:
            res = conn.execute(
                t.shadow_runs.insert().values(
                    name=run.name,
                    device=run.device,
                    production=run.production,
                    candidates=run.candidates,
                    settings=run.settings,
                    created_at=_now(),
                )
            )
            return int(res.inserted_primary_key[0])  # type: ignore[index]

    def list_shadow_runs(self, *, limit: int | None = None) -> list[ShadowRunRecord]:
        """Shadow runs, newest first."""
        q = sa.select(t.shadow_runs).order_by(t.shadow_runs.c.id.desc())
        if limit:
            q = q.limit(limit)
        with self._begin() as conn:
            rows = conn.execute(q).all()
        return [
            ShadowRunRecord(
                id=r.id,
                name=r.name,
                device=r.device,
                production=dict(r.production),
                candidates=list(r.candidates),
                settings=dict(r.settings),
                created_at=r.created_at,
            )
            for r in rows
        ]

    def add_shadow_pairs(self, run_id: int, pairs: Iterable[ShadowPairRecord]) -> int:
        """Insert a batch of paired records in one transaction; returns the count.

        The shadow gateway's writer calls this several times a second, so it hands
        the rows straight to the driver's executemany (with each column's own bind
        processing), skipping SQLAlchemy's per-row work: ~5x faster on SQLite.
        """
        now = _now()
        rows = [_shadow_pair_row(run_id, p, now) for p in pairs]
        if not rows:
            return 0
        with self._begin() as conn:
            table = t.shadow_pairs
            keys = list(rows[0])
            compiled = table.insert().compile(dialect=conn.dialect, column_keys=keys)
            procs = {
                k: proc
                for k in keys
                if (proc := table.c[k].type.bind_processor(conn.dialect)) is not None
            }
            stamp = procs.pop("created_at", lambda v: v)(now)  # one value for the batch
            for row in rows:
                row["created_at"] = stamp
                for k, proc in procs.items():
                    if row[k] is not None:
                        row[k] = proc(row[k])
            if compiled.positional:
                order = compiled.positiontup or keys
                conn.exec_driver_sql(compiled.string, [tuple(r[k] for k in order) for r in rows])
            else:
                conn.exec_driver_sql(compiled.string, rows)
        return len(rows)

    def shadow_pairs(
        self, run_id: int, *, candidate: str | None = None, limit: int | None = None
    ) -> list[ShadowPairRecord]:
        """Paired records of a run in arrival order (optionally one candidate's)."""
        sp = t.shadow_pairs
        q = sa.select(sp).where(sp.c.run_id == run_id).order_by(sp.c.id)
        if candidate:
            q = q.where(sp.c.candidate == candidate)
        if limit:
            q = q.limit(limit)
        with self._begin() as conn:
            rows = conn.execute(q).all()
        return [_shadow_pair(r._mapping) for r in rows]

    def count_shadow_pairs(self, run_id: int) -> int:
        sp = t.shadow_pairs
        with self._begin() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(sp).where(sp.c.run_id == run_id)
                ).scalar_one()
            )

    def add_shadow_verdict(self, run_id: int, verdict: ShadowVerdictRecord) -> int:
        with self._begin() as conn:
            res = conn.execute(
                t.shadow_verdicts.insert().values(
                    run_id=run_id,
                    candidate=verdict.candidate,
                    verdict=verdict.verdict,
                    rule=verdict.rule,
                    reason=verdict.reason,
                    final=verdict.final,
                    requests_used=verdict.requests_used,
                    detail=verdict.detail,
                    created_at=_now(),
                )
            )
            return int(res.inserted_primary_key[0])  # type: ignore[index]

    def shadow_verdicts(self, run_id: int) -> list[ShadowVerdictRecord]:
        sv = t.shadow_verdicts
        with self._begin() as conn:
            rows = conn.execute(sa.select(sv).where(sv.c.run_id == run_id).order_by(sv.c.id)).all()
        return [
            ShadowVerdictRecord(
                id=r.id,
                run_id=r.run_id,
                candidate=r.candidate,
                verdict=r.verdict,
                rule=r.rule,
                reason=r.reason,
                final=bool(r.final),
                requests_used=r.requests_used,
                detail=dict(r.detail),
                created_at=r.created_at,
            )
            for r in rows
        ]

    def add_deployment(self, event: DeploymentRecord) -> int:
        """Record a deployment event (gate, promote, rollback); returns its id."""
        with self._begin() as conn:
            res = conn.execute(
                t.deployments.insert().values(
                    event=event.event,
                    model_name=event.model_name,
                    model_sha256=event.model_sha256,
                    device=event.device,
                    verdict=event.verdict,
                    reason=event.reason,
                    source=event.source,
                    slo_ms=event.slo_ms,
                    percentile=event.percentile,
                    predicted_ms=event.predicted_ms,
                    predicted_lo_ms=event.predicted_lo_ms,
                    predicted_hi_ms=event.predicted_hi_ms,
                    observed_ms=event.observed_ms,
                    run_id=event.run_id,
                    detail=event.detail,
                    created_at=_now(),
                )
            )
            return int(res.inserted_primary_key[0])  # type: ignore[index]

    def list_deployments(
        self,
        *,
        model_sha256: str | None = None,
        device: str | None = None,
        event: str | None = None,
        limit: int | None = None,
    ) -> list[DeploymentRecord]:
        """Deployment events, newest first; filter by model sha (prefix), device or event."""
        d = t.deployments
        q = sa.select(d).order_by(d.c.id.desc())
        if model_sha256:
            q = q.where(d.c.model_sha256.startswith(model_sha256))
        if device:
            q = q.where(d.c.device == device)
        if event:
            q = q.where(d.c.event == event)
        if limit:
            q = q.limit(limit)
        with self._begin() as conn:
            rows = conn.execute(q).all()
        return [_deployment(r._mapping) for r in rows]


def _connect(url: str) -> Engine:
    try:
        parsed = sa.engine.make_url(url)
    except ArgumentError as exc:
        raise StoreUnavailableError(f"bad store URL {url!r}: expected an SQLAlchemy URL") from exc
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            try:
                Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailableError(f"cannot create store directory for {db}: {exc}") from exc
        else:
            # One shared in-memory database for the life of the engine.
            kwargs["poolclass"] = sa.pool.StaticPool
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    elif parsed.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": 5}
        kwargs["pool_pre_ping"] = True
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise StoreUnavailableError(
            f"store URL {_redact(url)} needs a driver that is not installed: {exc}"
        ) from exc
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as exc:
        engine.dispose()
        msg = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise StoreUnavailableError(f"cannot open store {_redact(url)}: {msg}") from exc
    return engine


def _device(m: Any, prefix: str = "") -> DeviceRecord:
    return DeviceRecord(
        id=m[f"{prefix}id"],
        name=m[f"{prefix}name"],
        kind=m[f"{prefix}kind"],
        fingerprint_sha=m[f"{prefix}fingerprint_sha"],
        fingerprint=m[f"{prefix}fingerprint"],
        created_at=m[f"{prefix}created_at"],
    )


def _model(m: Any, prefix: str = "") -> ModelRecord:
    return ModelRecord(
        id=m[f"{prefix}id"],
        sha256=m[f"{prefix}sha256"],
        name=m[f"{prefix}name"],
        format=m[f"{prefix}format"],
        size_bytes=m[f"{prefix}size_bytes"],
        input_signature=m[f"{prefix}input_signature"],
        path=m[f"{prefix}path"],
        created_at=m[f"{prefix}created_at"],
    )


def _chip(m: Any) -> ChipRecord:
    return ChipRecord(
        id=m["id"],
        name=m["name"],
        kind=m["kind"],
        vendor=m["vendor"],
        origins=tuple(m["origins"] or ()),
        specs=dict(m["specs"] or {}),
        aliases=tuple(m["aliases"] or ()),
        created_at=m["created_at"],
    )


def _measurement(m: Any, *, with_latencies: bool) -> MeasurementRecord:
    return MeasurementRecord(
        id=m["id"],
        scenario=m["scenario"],
        backend=m["backend"],
        settings=m["settings"],
        queries=m["queries"],
        valid=bool(m["valid"]),
        summary=m["summary"],
        environment=m["environment"],
        latencies_ms=unpack_latencies(m["latencies"]) if with_latencies else (),
        histogram=m["histogram"],
        loadgen_summary=m["loadgen_summary"],
        loadgen_detail=m["loadgen_detail"] if with_latencies else "",
        model=_model(m, "model__"),
        device=_device(m, "device__"),
        created_at=m["created_at"],
    )


def _shadow_pair_row(run_id: int, p: ShadowPairRecord, now: datetime) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "candidate": p.candidate,
        "seq": p.seq,
        "request_id": p.request_id[:200],
        "outcome": p.outcome,
        "production_ms": p.production_ms,
        "production_compute_ms": p.production_compute_ms,
        "production_io_ms": p.production_io_ms,
        "candidate_ms": p.candidate_ms,
        "candidate_compute_ms": p.candidate_compute_ms,
        "candidate_io_ms": p.candidate_io_ms,
        "lag_ms": p.lag_ms,
        "max_abs_diff": p.max_abs_diff,
        "rel_diff": p.rel_diff,
        "top1_agree": p.top1_agree,
        "cosine": p.cosine,
        "agree": p.agree,
        "created_at": now,
    }


def _shadow_pair(m: Any) -> ShadowPairRecord:
    return ShadowPairRecord(
        id=m["id"],
        run_id=m["run_id"],
        candidate=m["candidate"],
        seq=m["seq"],
        request_id=m["request_id"],
        outcome=m["outcome"],
        production_ms=m["production_ms"],
        production_compute_ms=m["production_compute_ms"],
        production_io_ms=m["production_io_ms"],
        candidate_ms=m["candidate_ms"],
        candidate_compute_ms=m["candidate_compute_ms"],
        candidate_io_ms=m["candidate_io_ms"],
        lag_ms=m["lag_ms"],
        max_abs_diff=m["max_abs_diff"],
        rel_diff=m["rel_diff"],
        top1_agree=None if m["top1_agree"] is None else bool(m["top1_agree"]),
        cosine=m["cosine"],
        agree=bool(m["agree"]),
        created_at=m["created_at"],
    )


def _deployment(m: Any) -> DeploymentRecord:
    return DeploymentRecord(
        id=m["id"],
        event=m["event"],
        model_name=m["model_name"],
        model_sha256=m["model_sha256"],
        device=m["device"],
        verdict=m["verdict"],
        reason=m["reason"],
        source=m["source"],
        slo_ms=m["slo_ms"],
        percentile=m["percentile"],
        predicted_ms=m["predicted_ms"],
        predicted_lo_ms=m["predicted_lo_ms"],
        predicted_hi_ms=m["predicted_hi_ms"],
        observed_ms=m["observed_ms"],
        run_id=m["run_id"],
        detail=dict(m["detail"] or {}),
        created_at=m["created_at"],
    )
