"""Past shadow runs read back from the store: what ran, what each candidate did, why.

The gateway writes a run row, paired records and the judge's verdict changes as it goes
(:mod:`edgewise.shadow.gateway`); this module reads them for ``edgewise shadow runs``
and ``edgewise shadow show``. Candidate quantiles count censored copies (timeouts,
errors, a candidate down) as infinitely slow, as the judge does.

>>> runs = list_runs(Store("sqlite://"))   # doctest: +SKIP
>>> doc = run_report(store, runs[0]["id"])   # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from edgewise.errors import DataError, UnknownNameError
from edgewise.store import ShadowPairRecord, ShadowRunRecord, ShadowVerdictRecord, Store

#: Quantiles summarised per replica, with distribution-free 95% intervals.
SUMMARY_QUANTILES = (0.5, 0.99)
#: Pair columns written by :func:`export_pairs` (the store's own field names).
PAIR_COLUMNS = (
    "candidate",
    "seq",
    "request_id",
    "outcome",
    "production_ms",
    "production_compute_ms",
    "production_io_ms",
    "candidate_ms",
    "candidate_compute_ms",
    "candidate_io_ms",
    "lag_ms",
    "agree",
    "max_abs_diff",
    "rel_diff",
    "top1_agree",
    "cosine",
)


def _run(store: Store, run_id: int) -> ShadowRunRecord:
    run = store.get_shadow_run(run_id)
    if run is None:
        raise UnknownNameError(
            "shadow run", str(run_id), advice="`edgewise shadow runs` lists them"
        )
    return run


def _head(run: ShadowRunRecord) -> dict[str, Any]:
    return {
        "id": run.id,
        "time": run.created_at.isoformat() if run.created_at else None,
        "name": run.name,
        "device": run.device,
        "production": run.production,
        "candidates": [c.get("name") for c in run.candidates],
    }


def _look(v: ShadowVerdictRecord) -> dict[str, Any]:
    """One stored verdict change, as ``shadow show`` and the API give it."""
    return {
        "time": v.created_at.isoformat() if v.created_at else None,
        "verdict": v.verdict,
        "rule": v.rule,
        "final": v.final,
        "requests_used": v.requests_used,
        "reason": v.reason,
    }


def _by_candidate(pairs: list[ShadowPairRecord]) -> dict[str, list[ShadowPairRecord]]:
    out: dict[str, list[ShadowPairRecord]] = {}
    for p in pairs:
        out.setdefault(p.candidate, []).append(p)
    return out


def _latencies(pairs: list[ShadowPairRecord]) -> tuple[np.ndarray, np.ndarray]:
    """Production's and the candidate's times per pair; a censored copy is ``inf``."""
    prod = np.array([p.production_ms for p in pairs], dtype=float)
    cand = np.array([np.inf if p.censored else p.candidate_ms for p in pairs], dtype=float)
    return prod, cand


def list_runs(store: Store, *, limit: int = 20) -> list[dict[str, Any]]:
    """The newest ``limit`` runs: who ran, how many pairs, each candidate's last verdict."""
    out = []
    for run in store.list_shadow_runs(limit=limit):
        assert run.id is not None
        head = _head(run)
        last = {v.candidate: v.verdict for v in store.shadow_verdicts(run.id)}  # stored in order
        out.append(
            {
                **head,
                "pairs": store.count_shadow_pairs(run.id),
                "verdicts": {name: last.get(name, "PENDING") for name in head["candidates"]},
            }
        )
    return out


def _quantiles(values: np.ndarray) -> dict[str, Any]:
    from edgewise.stats import quantile, quantile_ci

    if values.size == 0:
        return {}
    out: dict[str, Any] = {}
    for q in SUMMARY_QUANTILES:
        key = f"p{q * 100:g}"
        lo, hi = quantile_ci(values, q, censored=True)
        out[key] = {"ms": quantile(values, q, censored=True), "ci95": [lo, hi]}
    return out


def _summary(pairs: list[ShadowPairRecord]) -> dict[str, Any]:
    prod, cand = _latencies(pairs)
    answered = [p for p in pairs if not p.censored]
    outcomes = Counter(p.outcome for p in pairs)
    doc: dict[str, Any] = {
        "pairs": len(pairs),
        "censored": len(pairs) - len(answered),
        "outcomes": dict(sorted(outcomes.items())),
        "disagreements": sum(not p.agree for p in answered),
        "production": _quantiles(prod),
        "candidate": _quantiles(cand),
    }
    lags = [p.lag_ms for p in pairs if p.lag_ms is not None]
    doc["lag_p50_ms"] = float(np.median(lags)) if lags else None
    return doc


def run_report(store: Store, run_id: int) -> dict[str, Any]:
    """Everything stored about one run: settings, per-candidate summaries of its paired
    records, each verdict change, and the registry events it caused."""
    run = _run(store, run_id)
    names = _head(run)["candidates"]
    by_name = _by_candidate(store.shadow_pairs(run_id))
    history: dict[str, list[dict[str, Any]]] = {}
    for v in store.shadow_verdicts(run_id):
        history.setdefault(v.candidate, []).append(_look(v))
    # the baseline's pairs (``--baseline``) are stored under its own name
    for extra in sorted(set(by_name) - set(names)):
        names.append(extra)
    candidates = []
    for name in names:
        looks = history.get(name, [])
        candidates.append(
            {
                "name": name,
                **_summary(by_name.get(name, [])),
                "verdict": looks[-1]["verdict"] if looks else "PENDING",
                "history": looks,
            }
        )
    events = [e.to_dict() for e in store.list_deployments(run_id=run_id)]
    return {
        **_head(run),
        "settings": run.settings,
        "candidates": candidates,
        "events": events[::-1],  # oldest first, as the run went
    }


def export_pairs(store: Store, run_id: int, path: str | Path) -> int:
    """Write a run's paired records to ``path`` (``.csv`` or ``.parquet``); returns the count."""
    import pandas as pd

    from edgewise.data import write_table

    _run(store, run_id)
    pairs = store.shadow_pairs(run_id)
    frame = pd.DataFrame(
        [{c: getattr(p, c) for c in PAIR_COLUMNS} for p in pairs], columns=list(PAIR_COLUMNS)
    )
    write_table(frame, Path(path), what="the paired records")
    return len(frame)


def run_figures(store: Store, run_id: int) -> list[Any]:
    """One plotly figure per candidate: its latency against production's over the run."""
    run = _run(store, run_id)
    production = str(run.production.get("name", "production"))
    return [
        band_figure(pairs, production=production, candidate=name)
        for name, pairs in _by_candidate(store.shadow_pairs(run_id)).items()
    ]


def _band(values: np.ndarray, window: int) -> dict[str, list[float]]:
    """p10/p50/p90 of ``values`` on a moving window (a quarter window apart)."""
    starts = np.arange(0, max(1, values.size - window + 1), max(1, window // 4))
    out: dict[str, list[float]] = {"x": [], "p10": [], "p50": [], "p90": []}
    for s in starts:
        chunk = values[s : s + window]
        chunk = chunk[np.isfinite(chunk)]
        if chunk.size:
            out["x"].append(float(s + window / 2))
            for key, q in (("p10", 10), ("p50", 50), ("p90", 90)):
                out[key].append(float(np.percentile(chunk, q)))
    return out


def bands(pairs: list[ShadowPairRecord], *, points: int = 60) -> dict[str, Any]:
    """Production's and the candidate's latency over ``pairs`` as p10/p50/p90 bands on a
    moving window of about ``len(pairs) / points`` paired requests (at least 20)."""
    window = max(20, len(pairs) // points)
    prod, cand = _latencies(pairs)
    return {
        "pairs": len(pairs),
        "window": window,
        "production": _band(prod, window),
        "candidate": _band(cand, window),
    }


def band_figure(pairs: list[ShadowPairRecord], *, production: str, candidate: str) -> Any:
    """Production vs candidate latency (p10-p90 band and median) over paired requests."""
    import plotly.graph_objects as go

    doc = bands(pairs, points=30)
    fig = go.Figure()
    for label, band, color in (
        (production, doc["production"], "31,119,180"),
        (candidate, doc["candidate"], "214,39,40"),
    ):
        x = band["x"]
        fig.add_trace(
            go.Scatter(x=x, y=band["p90"], line={"width": 0}, showlegend=False, hoverinfo="skip")
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=band["p10"],
                fill="tonexty",
                fillcolor=f"rgba({color},0.2)",
                line={"width": 0},
                name=f"{label} p10-p90",
            )
        )
        fig.add_trace(
            go.Scatter(x=x, y=band["p50"], line={"color": f"rgb({color})"}, name=f"{label} p50")
        )
    fig.update_layout(
        title=f"Shadow: {candidate} vs {production}, each timed on its own replica's clock",
        xaxis_title="paired request",
        yaxis_title="latency (ms)",
        height=420,
    )
    return fig


def latency_bands(store: Store, run_id: int, candidate: str) -> dict[str, Any]:
    """:func:`bands` of one candidate of a stored run (what the dashboard draws)."""
    run = _run(store, run_id)
    pairs = store.shadow_pairs(run_id, candidate=candidate)
    if not pairs:
        known = sorted({c.get("name", "") for c in run.candidates})
        if candidate in known:  # it said "unknown candidate 'c' (did you mean 'c'?)"
            raise DataError(f"candidate {candidate!r} has no paired requests in run {run_id}")
        raise UnknownNameError("candidate", candidate, known, advice=f"no pairs in run {run_id}")
    return bands(pairs)
