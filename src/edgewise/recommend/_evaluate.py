"""Held-out evaluation of missing-cell prediction on the MLPerf edge results.

Every (chip, benchmark, scenario) group of the edge matrix is hidden once per seed
(k-fold over groups: each fold hides ~1/k of them, all their percentiles together) and
predicted from the rest. We score the headline metric of each hidden group: the p90 of
SingleStream, the p99 of MultiStream and the median of MLPerf Tiny.

>>> result = evaluate_heldout(catalog, seeds=(0,), folds=5)  # doctest: +SKIP
>>> result.summary["median_ape"]  # doctest: +SKIP
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgewise.recommend._catalog import Catalog, LatencyCell
from edgewise.recommend._model import CatalogModel, predictable
from edgewise.stats import quantile

_HEADLINE = {"SingleStream": "latency_p90_ms", "MultiStream": "latency_p99_ms"}


def headline_metric(cell: LatencyCell, available: set[str]) -> str:
    """MLPerf's reported metric for the cell's scenario (median where that is all there is)."""
    want = _HEADLINE.get(cell.scenario, "latency_p50_ms")
    if want in available:
        return want
    return "latency_p50_ms" if "latency_p50_ms" in available else "latency_ms"


def edge_catalog(catalog: Catalog) -> Catalog:
    """The MLPerf edge (inference ``edge`` category and Tiny) part of ``catalog``."""
    keep = [
        r
        for r in catalog.results
        if r.origin in ("mlperf", "mlperf_tiny")
        and ("edge" in r.category or r.category == "tiny" or r.origin == "mlperf_tiny")
    ]
    chips = {r.chip for r in keep}
    return Catalog.from_records([c for c in catalog.chips.values() if c.name in chips], keep)


@dataclass(frozen=True)
class HeldoutPrediction:
    seed: int
    fold: int
    chip: str
    benchmark: str
    scenario: str
    metric: str
    true_ms: float
    pred_ms: float
    lower_ms: float
    upper_ms: float
    support: int


@dataclass(frozen=True)
class HeldoutEvaluation:
    """Per-cell predictions and the summary metrics over them."""

    predictions: tuple[HeldoutPrediction, ...]
    unpredictable: int
    summary: dict[str, Any]
    per_benchmark: list[dict[str, Any]] = field(default_factory=list)
    feasibility: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "feasibility": self.feasibility,
            "per_benchmark": self.per_benchmark,
            "unpredictable": self.unpredictable,
        }


def evaluate_heldout(
    catalog: Catalog,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    folds: int = 5,
    confidence: float = 0.9,
    min_chips_for_rank: int = 5,
    **params: Any,
) -> HeldoutEvaluation:
    """k-fold over (chip, benchmark, scenario) groups of the edge matrix, for each seed."""
    edge = edge_catalog(catalog)
    cells = [c for c in edge.latency_cells() if predictable(c)]
    by_group: dict[tuple[str, str, str], list[LatencyCell]] = defaultdict(list)
    for c in cells:
        by_group[(c.chip, c.benchmark, c.scenario)].append(c)
    groups = sorted(by_group)
    preds: list[HeldoutPrediction] = []
    unpredictable = 0
    for seed in seeds:
        rng = np.random.default_rng(seed)
        fold_of = rng.permutation(len(groups)) % folds
        for f in range(folds):
            hidden = {groups[i] for i in np.flatnonzero(fold_of == f)}
            train = [c for c in cells if (c.chip, c.benchmark, c.scenario) not in hidden]
            model = CatalogModel.fit(edge, cells=train, random_state=seed, **params)
            comp = model.completer
            for g in sorted(hidden):
                gcells = by_group[g]
                metric = headline_metric(gcells[0], {c.metric for c in gcells})
                cell = next(c for c in gcells if c.metric == metric)
                known_col = cell.column in comp.col_index_
                if g[0] not in comp.row_index_ or not known_col:
                    unpredictable += 1
                    continue
                sup = int(comp.support([g[0]], [cell.column])[0])
                col_seen = comp.col_count_[comp.col_index_[cell.column]] > 0
                has_prior = not np.isnan(comp.col_feat_[comp.col_index_[cell.column], 0])
                row_seen = comp.row_count_[comp.row_index_[g[0]]] > 0
                if not row_seen or not (col_seen or has_prior):
                    unpredictable += 1
                    continue
                p = float(comp.predict([g[0]], [cell.column])[0])
                lo, hi = comp.predict_interval([g[0]], [cell.column], confidence=confidence)
                preds.append(
                    HeldoutPrediction(
                        seed,
                        f,
                        g[0],
                        g[1],
                        g[2],
                        metric,
                        cell.value_ms,
                        p,
                        float(lo[0]),
                        float(hi[0]),
                        sup,
                    )
                )
    return HeldoutEvaluation(
        predictions=tuple(preds),
        unpredictable=unpredictable,
        summary=_summary(preds, unpredictable, len(groups) * len(seeds)),
        per_benchmark=_per_benchmark(preds, min_chips_for_rank),
        feasibility=_feasibility(preds),
    )


def _summary(preds: list[HeldoutPrediction], unpredictable: int, total: int) -> dict[str, Any]:
    if not preds:
        return {"heldout": total, "predicted": 0, "unpredictable": unpredictable}
    t = np.array([p.true_ms for p in preds])
    y = np.array([p.pred_ms for p in preds])
    lo = np.array([p.lower_ms for p in preds])
    hi = np.array([p.upper_ms for p in preds])
    ape = np.abs(y - t) / t
    return {
        "heldout": total,
        "predicted": len(preds),
        "unpredictable": unpredictable,
        "median_ape": quantile(ape, 0.5),
        "mape_pct": float(100 * ape.mean()),
        "acc_at_10pct": float(np.mean(ape <= 0.10)),
        "acc_at_25pct": float(np.mean(ape <= 0.25)),
        "rmse_ms": float(np.sqrt(np.mean((y - t) ** 2))),
        "interval_coverage": float(np.mean((t >= lo) & (t <= hi))),
        "interval_median_width_ratio": (
            quantile(hi / lo, 0.5) if np.all(np.isfinite(hi / lo)) else None
        ),
    }


def _per_benchmark(preds: list[HeldoutPrediction], min_chips: int) -> list[dict[str, Any]]:
    """Spearman/Kendall of the chip ranking per (benchmark, scenario), per seed, pooled folds."""
    from scipy.stats import kendalltau, spearmanr

    cols: dict[tuple[int, str, str], list[HeldoutPrediction]] = defaultdict(list)
    for p in preds:
        cols[(p.seed, p.benchmark, p.scenario)].append(p)
    rows: dict[tuple[str, str], list[tuple[float, float, int]]] = defaultdict(list)
    for (_, bench, scen), ps in cols.items():
        if len(ps) < min_chips:
            continue
        t = np.array([p.true_ms for p in ps])
        y = np.array([p.pred_ms for p in ps])
        if np.all(t == t[0]):
            continue
        rows[(bench, scen)].append(
            (float(spearmanr(t, y).statistic), float(kendalltau(t, y).statistic), len(ps))
        )
    out = []
    for (bench, scen), vals in sorted(rows.items()):
        out.append(
            {
                "benchmark": bench,
                "scenario": scen,
                "chips": vals[0][2],
                "spearman": float(np.mean([v[0] for v in vals])),
                "kendall": float(np.mean([v[1] for v in vals])),
            }
        )
    return out


def _feasibility(preds: list[HeldoutPrediction]) -> dict[str, Any]:
    """Held-out SLO queries: per (seed, fold, column) with >= 3 hidden chips, SLO at the
    25th/50th/75th percentile of their true latencies; is the recommended chip feasible?"""
    cols: dict[tuple[int, int, str, str], list[HeldoutPrediction]] = defaultdict(list)
    for p in preds:
        cols[(p.seed, p.fold, p.benchmark, p.scenario)].append(p)
    top1_fast: list[bool] = []
    top1_tight: list[bool] = []
    confident: list[bool] = []
    answered = queries = 0
    for ps in cols.values():
        if len(ps) < 3:
            continue
        t = np.array([p.true_ms for p in ps])
        for q in (0.25, 0.5, 0.75):
            slo = quantile(t, q)
            queries += 1
            sure = [p for p in ps if p.upper_ms <= slo]
            likely = [p for p in ps if p.pred_ms <= slo]
            confident.extend(p.true_ms <= slo for p in sure)
            pool = sure or likely
            if not pool:
                continue
            answered += 1
            top1_fast.append(min(pool, key=lambda p: p.pred_ms).true_ms <= slo)
            top1_tight.append(max(pool, key=lambda p: p.pred_ms).true_ms <= slo)
    return {
        "queries": queries,
        "answered": answered,
        "top1_fastest_feasible_rate": float(np.mean(top1_fast)) if top1_fast else None,
        "top1_tightest_feasible_rate": float(np.mean(top1_tight)) if top1_tight else None,
        "confident_fit_precision": float(np.mean(confident)) if confident else None,
        "confident_fit_count": len(confident),
    }
