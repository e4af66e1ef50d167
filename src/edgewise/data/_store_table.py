"""The store as a latency table: what edgewise measured, shadowed and imported, for training.

The store is the product's memory and the predictor's training set (PRODUCT.md, "The
loop"). This turns it back into a :class:`LatencyTable`, one row per (model, device):

- ``measured``: each valid single-stream ``edgewise profile`` run, its p50 (newest
  first, so a model measured again keeps its latest run); the predictor learns a query's
  own latency, which the other scenarios' latencies are not (server adds queueing,
  multi-stream a batch of samples, offline the time since the whole batch was issued);
- ``shadow``: each shadow run's replicas on its device, the median of their own timings
  (production's up to the run's first promotion, since production changes hands then;
  a candidate's over its answered copies);
- ``imported``: the rows ``edgewise data import`` stored.

ONNX models are found by the path the store recorded with their sha256; a model whose
file is gone is left out and reported, like every other unusable row.

>>> table = store_table(Store())          # doctest: +SKIP
>>> table.frame[["model", "device", "latency_ms", "source"]].head()   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from edgewise.data._table import LatencyTable, RowProblem
from edgewise.errors import ConfigError, DataError
from edgewise.store import Store

#: Where rows come from, in the order they take precedence for one (model, device).
SOURCES = ("measured", "shadow", "imported")
#: How the ``source`` column names a profile run and a shadow run (then their ids).
_MEASURED, _SHADOW = "measurement #", "shadow run "


def _measured(store: Store, rows: list[dict[str, Any]], gone: list[RowProblem]) -> None:
    for m in store.list_measurements():  # newest first
        if m.model is None or m.device is None:
            continue
        label = f"{_MEASURED}{m.id}"
        if not m.valid:
            gone.append(RowProblem(0, "invalid LoadGen run", label))
            continue
        if m.scenario != "single-stream":
            gone.append(RowProblem(0, "not a single-stream run", f"{label} ({m.scenario})"))
            continue
        rows.append(
            {
                "model": m.model.path or "",
                "device": m.device.name,
                "latency_ms": m.p50_ms,
                "source": label,
            }
        )


def _utc(t: datetime) -> datetime:
    """Stored times compare as UTC (the drivers hand some back without a zone)."""
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _shadow(store: Store, rows: list[dict[str, Any]], gone: list[RowProblem]) -> None:
    import numpy as np

    promoted: dict[int, datetime] = {}
    for e in store.list_deployments(event="promote"):
        if e.run_id is not None and e.created_at is not None:
            at = _utc(e.created_at)
            first = promoted.get(e.run_id)
            promoted[e.run_id] = at if first is None else min(first, at)
    for run in store.list_shadow_runs():
        assert run.id is not None
        label = f"{_SHADOW}{run.id}"
        pairs = store.shadow_pairs(run.id)
        until = promoted.get(run.id)
        prod: dict[int, float] = {}
        cand: dict[str, list[float]] = {}
        for p in pairs:
            if until is None or (p.created_at is not None and _utc(p.created_at) <= until):
                prod.setdefault(p.seq, p.production_ms)  # one request, one production time
            if p.candidate_ms is not None:
                cand.setdefault(p.candidate, []).append(p.candidate_ms)
        replicas = [(run.production, list(prod.values()))]
        by_name = {c.get("name"): c for c in run.candidates}
        replicas += [(by_name[n], v) for n, v in cand.items() if n in by_name]
        for identity, values in replicas:
            if not values:
                continue
            if not identity.get("path"):
                gone.append(RowProblem(0, "proxy replica (no model file)", label))
                continue
            rows.append(
                {
                    "model": identity["path"],
                    "device": run.device,
                    "latency_ms": float(np.median(values)),
                    "source": label,
                }
            )


def _imported(store: Store, rows: list[dict[str, Any]], gone: list[RowProblem]) -> None:
    paths = {m.sha256: m.path for m in store.list_models() if m.path}
    for r in store.latency_records():
        source = r.source or "imported"
        if r.space:
            rows.append(
                {
                    "space": r.space,
                    "arch": r.arch,
                    "device": r.device,
                    "latency_ms": r.latency_ms,
                    "source": source,
                }
            )
        elif r.model_sha256 in paths:
            rows.append(
                {
                    "model": paths[r.model_sha256],
                    "device": r.device,
                    "latency_ms": r.latency_ms,
                    "source": source,
                }
            )
        else:
            gone.append(
                RowProblem(0, "model file unknown", f"{source}: sha256 {r.model_sha256[:12]}")
            )


def source_kind(source: str) -> str:
    """Which of :data:`SOURCES` a row's ``source`` label names."""
    if source.startswith(_MEASURED):
        return "measured"
    return "shadow" if source.startswith(_SHADOW) else "imported"


_READERS = {"measured": _measured, "shadow": _shadow, "imported": _imported}


def store_table(store: Store, *, sources: Sequence[str] = SOURCES) -> LatencyTable:
    """The store's latencies as one validated table (see the module docstring)."""
    import pandas as pd

    unknown = [s for s in sources if s not in SOURCES]
    if unknown or not sources:
        raise ConfigError(
            f"--sources takes {', '.join(SOURCES)}, got {', '.join(unknown) or 'nothing'}"
        )
    rows: list[dict[str, Any]] = []
    gone: list[RowProblem] = []
    for name in SOURCES:  # precedence order, whatever order they were asked in
        if name in sources:
            _READERS[name](store, rows, gone)
    if not rows:
        counts = ", ".join(sorted({p.reason for p in gone})) or "nothing stored"
        raise DataError(f"no latencies in the store from {', '.join(sources)} ({counts})")
    blank = {"space": "", "arch": "", "model": ""}
    frame = pd.DataFrame(
        [{**blank, **r} for r in rows],
        columns=["space", "arch", "model", "device", "latency_ms", "source"],
    )
    table = LatencyTable.from_frame(frame, source="store", path="store")
    # from_frame numbers rows as file lines; here a row is known by its source instead
    labels = frame["source"].tolist()
    problems = [
        RowProblem(
            0, p.reason, f"{labels[p.line - 2]}: {p.detail}" if p.detail else labels[p.line - 2]
        )
        for p in table.problems
    ]
    out = LatencyTable(frame=table.frame, problems=(*gone, *problems), path="store")
    if out.frame.empty:
        raise DataError(
            f"no usable latencies in the store from {', '.join(sources)} "
            f"({', '.join(f'{k}: {v}' for k, v in out.problem_counts().items())})"
        )
    return out
