"""Rank chips for a model under a latency SLO, a power budget and a cost cap.

>>> from edgewise.store import Store
>>> rec = recommend("resnet50", slo_ms=5.0, store=Store())  # doctest: +SKIP
>>> rec.best.chip, rec.best.fit  # doctest: +SKIP
('NVIDIA L4', 'yes')
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgewise.errors import ConfigError, UnknownNameError
from edgewise.recommend._catalog import Catalog, column_key
from edgewise.recommend._model import CatalogModel, Estimate, column_features
from edgewise.recommend._model_features import ModelFeatures, model_features
from edgewise.recommend._names import canonical_scenario
from edgewise.store import Store

#: Fit labels, best first: the whole interval under the SLO, the point under it, only the
#: interval's low end under it, nothing under it.
FITS = ("yes", "likely", "unlikely", "no")
OBJECTIVES = ("latency", "power", "cost", "energy")
PERCENTILES = (50, 90, 99)
_DEFAULT_PERCENTILE = {"SingleStream": 90, "MultiStream": 99, "Server": 99, "Interactive": 99}


@dataclass(frozen=True)
class ChipOption:
    """One chip's figure for the query, and why it ranks where it does."""

    chip: str
    kind: str
    latency_ms: float
    lower_ms: float
    upper_ms: float
    measured: bool
    n_results: int
    fit: str
    power_w: float | None
    power_source: str
    price_usd: float | None
    energy_mj: float | None
    energy_source: str
    why: str

    @property
    def source(self) -> str:
        return "measured" if self.measured else "predicted"


@dataclass(frozen=True)
class Recommendation:
    """The ranked chips for one query (``best`` is None when nothing fits)."""

    query: str
    benchmark: str
    scenario: str
    percentile: int
    metric: str
    slo_ms: float
    confidence: float
    objective: str
    ranked: tuple[ChipOption, ...]
    nearest_misses: tuple[ChipOption, ...]
    excluded: tuple[dict[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    model: dict[str, Any] = field(default_factory=dict)

    @property
    def best(self) -> ChipOption | None:
        return self.ranked[0] if self.ranked else None

    @property
    def fits(self) -> bool:
        return bool(self.ranked)

    def summary(self) -> str:
        """One line: the best chip, or why nothing fits."""
        if self.best is not None:
            b = self.best
            return (
                f"best: {b.chip} ({b.source} {b.latency_ms:.3g} ms at p{self.percentile}, "
                f"fit {b.fit}) for {self.benchmark} {self.scenario} under {self.slo_ms:g} ms"
            )
        misses = ", ".join(f"{m.chip} {m.latency_ms:.3g} ms" for m in self.nearest_misses)
        return (
            f"no chip fits {self.benchmark} {self.scenario} p{self.percentile} <= "
            f"{self.slo_ms:g} ms" + (f"; nearest: {misses}" if misses else "")
        )

    def to_dict(self) -> dict[str, Any]:
        def opt(o: ChipOption) -> dict[str, Any]:
            return {**asdict(o), "source": o.source}

        return {
            "query": self.query,
            "benchmark": self.benchmark,
            "scenario": self.scenario,
            "percentile": self.percentile,
            "metric": self.metric,
            "slo_ms": self.slo_ms,
            "confidence": self.confidence,
            "objective": self.objective,
            "fits": self.fits,
            "best": None if self.best is None else opt(self.best),
            "ranked": [opt(o) for o in self.ranked],
            "nearest_misses": [opt(o) for o in self.nearest_misses],
            "excluded": list(self.excluded),
            "notes": list(self.notes),
            "model": self.model,
            "summary": self.summary(),
        }


_MODEL_CACHE: dict[tuple[int, int, tuple[str, ...]], CatalogModel] = {}


def _fit_model(catalog: Catalog, extra: dict[str, list[float]]) -> CatalogModel:
    key = (id(catalog), len(catalog.results), tuple(sorted(extra)))
    if key not in _MODEL_CACHE:
        _MODEL_CACHE.clear()
        _MODEL_CACHE[key] = CatalogModel.fit(catalog, extra_columns=extra)
    return _MODEL_CACHE[key]


def recommend(
    query: str | Path,
    *,
    slo_ms: float,
    store: Store | None = None,
    catalog: Catalog | None = None,
    percentile: int | None = None,
    scenario: str | None = None,
    max_power_w: float | None = None,
    max_cost: float | None = None,
    chips: Sequence[str] | None = None,
    objective: str = "latency",
    confidence: float = 0.9,
    top: int | None = None,
    files: bool = True,
    shapes: Mapping[str, Any] | None = None,
) -> Recommendation:
    """Rank the catalog's chips for ``query`` (an MLPerf benchmark name or an ONNX file).

    ``files=False`` reads ``query`` as a benchmark name only, never as a path (the HTTP
    API: a caller must not make the server open its files, or learn which exist).
    ``shapes`` binds an ONNX model's dynamic dims (``--shape``) for its MAC count.

    Chips that meet the SLO with ``confidence`` come first, then the uncertain ones; each
    within its tier by ``objective``. Measured figures are the median of the catalog's
    results; the others are predicted by low-rank completion, with intervals.
    """
    if not (isinstance(slo_ms, int | float) and math.isfinite(slo_ms) and slo_ms > 0):
        raise ConfigError(f"--slo-ms must be a number > 0, got {slo_ms!r}")
    if objective not in OBJECTIVES:
        raise UnknownNameError("objective", objective, OBJECTIVES)
    if percentile is not None and percentile not in PERCENTILES:
        raise ConfigError(f"--percentile must be one of 50, 90, 99, got {percentile}")
    if not 0.5 <= confidence < 1.0:
        raise ConfigError(f"confidence must be in [0.5, 1), got {confidence}")
    for label, value in (("--max-power-w", max_power_w), ("--max-cost", max_cost)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ConfigError(f"{label} must be > 0, got {value}")
    if catalog is None:
        catalog = Catalog.from_store(store if store is not None else Store())
    catalog.require_nonempty()

    notes: list[str] = []
    feats: ModelFeatures | None = None
    path = Path(str(query))
    if files and (path.suffix.lower() == ".onnx" or path.is_file()):
        feats = model_features(path, shapes=shapes)
        benchmark = feats.benchmark
    else:
        benchmark = catalog.resolve_benchmark(str(query))
    scen, pct, metric = _pick_column(catalog, benchmark, scenario, percentile, feats, notes)
    column = column_key(benchmark, scen, metric)
    extra: dict[str, list[float]] = {}
    if feats is not None:
        vec = column_features(benchmark, scen, metric, macs=feats.macs)
        if vec is None:
            raise ConfigError(
                f"{path.name} has no MAC-counted ops (Conv/Gemm/MatMul); "
                "cannot place it among the chips"
            )
        extra[column] = vec
        notes.append(
            f"{path.name}: {feats.macs / 1e6:.1f} M MACs, "
            f"{feats.param_bytes / 1e6:.2f} MB params ({feats.source})"
        )
    model = _fit_model(catalog, extra)
    candidates = model.candidates(column)
    if chips:
        wanted = [catalog.resolve_chip(c) for c in chips]
        missing = [c for c in wanted if c not in candidates]
        if missing:
            notes.append("no figure for " + ", ".join(missing) + f" on {benchmark} {scen}")
        candidates = [c for c in candidates if c in wanted]
    if not candidates:
        raise ConfigError(f"no chip in the catalog has or can predict {benchmark} {scen}")
    estimates = model.estimate(candidates, column, confidence=confidence)
    options, excluded = [], []
    for est in estimates:
        opt = _option(catalog, model, est, benchmark, slo_ms, confidence)
        reason = _constraint_violation(opt, max_power_w, max_cost)
        if reason:
            excluded.append({"chip": opt.chip, "reason": reason})
        else:
            options.append(opt)
    ranked = sorted((o for o in options if o.fit != "no"), key=lambda o: _key(o, objective))
    misses = sorted((o for o in options if o.fit == "no"), key=lambda o: o.lower_ms)[:3]
    if excluded:
        notes.append(
            f"{len(excluded)} chips excluded by the power/cost limits "
            "(unknown power or price counts as not meeting a limit)"
        )
    return Recommendation(
        query=str(query),
        benchmark=benchmark,
        scenario=scen,
        percentile=pct,
        metric=metric,
        slo_ms=float(slo_ms),
        confidence=confidence,
        objective=objective,
        ranked=tuple(ranked[:top] if top else ranked),
        nearest_misses=tuple(misses),
        excluded=tuple(excluded),
        notes=tuple(notes),
        model={
            "rank": model.completer.rank,
            "chips": len(model.completer.row_index_),
            "columns": len(model.completer.col_index_),
        },
    )


def _pick_column(
    catalog: Catalog,
    benchmark: str,
    scenario: str | None,
    percentile: int | None,
    feats: ModelFeatures | None,
    notes: list[str],
) -> tuple[str, int, str]:
    cells = [c for c in catalog.latency_cells() if c.benchmark == benchmark]
    scenarios = sorted({c.scenario for c in cells})
    if scenario is not None:
        scen = canonical_scenario(scenario)
        if feats is None and scen not in scenarios:
            raise ConfigError(f"{benchmark} has no {scen} results; it has: " + ", ".join(scenarios))
    elif "SingleStream" in scenarios or not scenarios:
        scen = "SingleStream"
    else:
        scen = scenarios[0]
    metrics = {c.metric for c in cells if c.scenario == scen}
    if feats is not None and not metrics:
        metrics = {"latency_p50_ms", "latency_p90_ms", "latency_p99_ms"}
    pct = percentile if percentile is not None else _DEFAULT_PERCENTILE.get(scen, 50)
    want = f"latency_p{pct}_ms"
    if want in metrics:
        return scen, pct, want
    if pct == 50 and "latency_ms" in metrics:
        notes.append(f"{benchmark} has one typical latency per chip; used it as p50")
        return scen, 50, "latency_ms"
    have = sorted(int(m[9:-3]) for m in metrics if m.startswith("latency_p"))
    if percentile is None and have:
        notes.append(f"{benchmark} {scen} reports only p{have[0]}; ranked on it")
        return scen, have[0], f"latency_p{have[0]}_ms"
    if percentile is None and "latency_ms" in metrics:
        notes.append(f"{benchmark} has one typical latency per chip; used it as p50")
        return scen, 50, "latency_ms"
    offered = ", ".join(str(p) for p in have) or ("50" if "latency_ms" in metrics else "none")
    raise ConfigError(f"{benchmark} {scen} has no p{pct} latency; available percentiles: {offered}")


def _option(
    catalog: Catalog,
    model: CatalogModel,
    est: Estimate,
    benchmark: str,
    slo: float,
    confidence: float,
) -> ChipOption:
    chip = catalog.chips.get(est.chip)
    kind = chip.kind if chip else "unknown"
    specs = chip.specs if chip else {}
    power, power_src = catalog.chip_power_w(est.chip)
    energy_uj = catalog.tiny_energy_uj(est.chip, benchmark)
    energy_mj: float | None = None
    energy_src = ""
    if energy_uj is not None:
        energy_mj, energy_src = energy_uj / 1000.0, "measured (MLPerf Tiny)"
        if power is None and est.measured:
            power, power_src = energy_uj / est.latency_ms / 1000.0, "energy / latency (MLPerf Tiny)"
    elif power is not None:
        energy_mj, energy_src = power * est.latency_ms, "TDP x latency (upper bound)"
    price = specs.get("price_usd", {}).get("value") if specs else None
    if est.upper_ms <= slo:
        fit = "yes"
    elif est.latency_ms <= slo:
        fit = "likely"
    elif est.lower_ms <= slo:
        fit = "unlikely"
    else:
        fit = "no"
    why = _why(model, est, slo, fit, confidence)
    return ChipOption(
        chip=est.chip,
        kind=kind,
        latency_ms=est.latency_ms,
        lower_ms=est.lower_ms,
        upper_ms=est.upper_ms,
        measured=est.measured,
        n_results=est.n_results,
        fit=fit,
        power_w=power,
        power_source=power_src,
        price_usd=None if price is None else float(price),
        energy_mj=energy_mj,
        energy_source=energy_src,
        why=why,
    )


def _why(model: CatalogModel, est: Estimate, slo: float, fit: str, confidence: float) -> str:
    margin = (slo - est.latency_ms) / slo
    pos = f"{abs(margin):.0%} {'under' if margin >= 0 else 'over'} the SLO"
    if est.measured:
        spread = f" (range {est.lower_ms:.3g}-{est.upper_ms:.3g})" if est.n_results > 1 else ""
        head = (
            f"measured: median of {est.n_results} result{'s' * (est.n_results > 1)} "
            f"{est.latency_ms:.3g} ms{spread}, {pos}"
        )
        tail = {
            "yes": "",
            "likely": "; some results exceed the SLO",
            "unlikely": "; only the fastest result fits",
            "no": "",
        }[fit]
        return head + tail
    n_col = model.column_observations(est.column)
    n_row = model.row_observations(est.chip)
    on_chip = f"{n_row} figure{'s' if n_row != 1 else ''} on this chip"
    seen = (
        f"from {on_chip} and {n_col} chip{'s' if n_col != 1 else ''} on this benchmark"
        if n_col
        else f"from the model's features (no chip ran it) and {on_chip}"
    )
    head = (
        f"predicted {est.latency_ms:.3g} ms, {confidence:.0%} interval "
        f"{est.lower_ms:.3g}-{est.upper_ms:.3g}, {seen}"
    )
    tail = {
        "yes": "; the whole interval is under the SLO",
        "likely": "; the interval straddles the SLO",
        "unlikely": "; only the interval's low end is under the SLO",
        "no": "; the whole interval is over the SLO",
    }[fit]
    return head + tail


def _constraint_violation(o: ChipOption, max_power: float | None, max_cost: float | None) -> str:
    if max_power is not None:
        if o.power_w is None:
            return "power unknown"
        if o.power_w > max_power:
            return f"power {o.power_w:.3g} W > {max_power:g} W"
    if max_cost is not None:
        if o.price_usd is None:
            return "price unknown"
        if o.price_usd > max_cost:
            return f"price ${o.price_usd:,.0f} > ${max_cost:,.0f}"
    return ""


def _key(o: ChipOption, objective: str) -> tuple[int, float, float]:
    tier = FITS.index(o.fit)
    value = {
        "latency": o.latency_ms,
        "power": o.power_w,
        "cost": o.price_usd,
        "energy": o.energy_mj,
    }[objective]
    return (tier, math.inf if value is None else value, o.latency_ms)
