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
from edgewise.store import ShadowPairRecord, ShadowRunRecord, Store

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


def _last_verdicts(store: Store, run_id: int) -> dict[str, dict[str, Any]]:
    """Each candidate's latest stored verdict (verdicts are stored when they change)."""
    last: dict[str, dict[str, Any]] = {}
    for v in store.shadow_verdicts(run_id):
        last[v.candidate] = {
            "verdict": v.verdict,
            "rule": v.rule,
            "final": v.final,
            "requests_used": v.requests_used,
            "reason": v.reason,
        }
    return last


def list_runs(store: Store, *, limit: int = 20) -> list[dict[str, Any]]:
    """The newest ``limit`` runs: who ran, how many pairs, each candidate's last verdict."""
    out = []
    for run in store.list_shadow_runs(limit=limit):
        assert run.id is not None
        last = _last_verdicts(store, run.id)
        out.append(
            {
                **_head(run),
                "pairs": store.count_shadow_pairs(run.id),
                "verdicts": {
                    name: last.get(name, {}).get("verdict", "PENDING")
                    for name in _head(run)["candidates"]
                },
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
    prod = np.array([p.production_ms for p in pairs], dtype=float)
    cand = np.array([np.inf if p.censored else p.candidate_ms for p in pairs], dtype=float)
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
    pairs = store.shadow_pairs(run_id)
    by_name: dict[str, list[ShadowPairRecord]] = {}
    for p in pairs:
        by_name.setdefault(p.candidate, []).append(p)
    history: dict[str, list[dict[str, Any]]] = {}
    for v in store.shadow_verdicts(run_id):
        history.setdefault(v.candidate, []).append(
            {
                "time": v.created_at.isoformat() if v.created_at else None,
                "verdict": v.verdict,
                "rule": v.rule,
                "final": v.final,
                "requests_used": v.requests_used,
                "reason": v.reason,
            }
        )
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
    events = [e.to_dict() for e in store.list_deployments() if e.run_id == run_id]
    return {
        **_head(run),
        "settings": run.settings,
        "candidates": candidates,
        "events": events[::-1],  # oldest first, as the run went
    }


def export_pairs(store: Store, run_id: int, path: str | Path) -> int:
    """Write a run's paired records to ``path`` (``.csv`` or ``.parquet``); returns the count."""
    import pandas as pd

    _run(store, run_id)
    out = Path(path)
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise DataError(f"--pairs writes .csv or .parquet, not {out.suffix or 'no suffix'!r}")
    from edgewise._paths import check_writable

    check_writable(out, what="the paired records")
    pairs = store.shadow_pairs(run_id)
    frame = pd.DataFrame(
        [{c: getattr(p, c) for c in PAIR_COLUMNS} for p in pairs], columns=list(PAIR_COLUMNS)
    )
    if out.suffix.lower() == ".csv":
        frame.to_csv(out, index=False)
    else:
        frame.to_parquet(out, index=False)
    return len(frame)


def run_figures(store: Store, run_id: int) -> list[Any]:
    """One plotly figure per candidate: its latency against production's over the run."""
    from edgewise.shadow._demo import band_figure

    run = _run(store, run_id)
    production = str(run.production.get("name", "production"))
    by_name: dict[str, list[ShadowPairRecord]] = {}
    for p in store.shadow_pairs(run_id):
        by_name.setdefault(p.candidate, []).append(p)
    return [
        band_figure(pairs, production=production, candidate=name) for name, pairs in by_name.items()
    ]


def latency_bands(store: Store, run_id: int, candidate: str, *, points: int = 60) -> dict[str, Any]:
    """Production's and ``candidate``'s latency over the run as p10/p50/p90 bands on a
    moving window of paired requests (what the dashboard and ``--html`` draw)."""
    from edgewise.shadow._demo import _bands

    run = _run(store, run_id)
    pairs = store.shadow_pairs(run_id, candidate=candidate)
    if not pairs:
        known = sorted({c.get("name", "") for c in run.candidates})
        raise UnknownNameError("candidate", candidate, known, advice=f"no pairs in run {run_id}")
    prod = np.array([p.production_ms for p in pairs])
    cand = np.array([np.inf if p.censored else p.candidate_ms for p in pairs], dtype=float)
    window = max(20, len(pairs) // points)
    out: dict[str, Any] = {"candidate": candidate, "pairs": len(pairs), "window": window}
    for name, values in (("production", prod), ("candidate", cand)):
        x, lo, mid, hi = _bands(values, window)
        out[name] = {"x": x.tolist(), "p10": lo.tolist(), "p50": mid.tolist(), "p90": hi.tolist()}
    return out
