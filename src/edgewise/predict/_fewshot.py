"""``edgewise predictor fewshot``: adapt to an unseen device from K measured models.

Protocol (HELP, NeurIPS'21, with ``--query 900-1899``): the query set is the target's
models whose ``arch_idx`` falls in the range, trimmed to the 10th-90th percentile of the
target's latency. The predictor trains on every other device, on models outside the
query index range (so query graphs are unseen on every device, and the training set
never depends on a target latency), then adapts to the target from
K target measurements, and is scored on the query set minus the shots. It consumes K
target measurements in total: the device embedding is fitted from the shots themselves,
with no separate reference architectures.

Which K models are measured (``shot_selection``):
- ``"design"`` (default): :meth:`LatencyPredictor.design_shots`, a greedy I-optimal
  design on the factors learned from the training devices, chosen among the target's
  models outside the ``--query`` index range. It never reads a target latency (the
  candidates are picked by index, not by the trimmed query set); HELP likewise picks
  its reference architectures in advance.
- ``"random"``: K models drawn at random from the target's non-query rows.

>>> r = fewshot(table, target_device="raspi4", shots=10, query=(900, 1899))  # doctest: +SKIP
>>> r.spearman_mean                                                           # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from edgewise.data import LatencyTable
from edgewise.errors import ConfigError, DataError, UnknownNameError
from edgewise.predict._evaluate import Progress, pick_space, regression_metrics

#: The protocol's base predictor: shared factors only, rank 16 (at K = 20 the designed
#: shots identify a 17-parameter device embedding better than a rank-8 one: 0.948 vs 0.945
#: mean Spearman on the HELP devices, seed 0), two folds for the few-shot interval scores.
FEWSHOT_PARAMS: dict[str, Any] = {"n_factors": 16, "cv_folds": 2}
#: How the K measured models are chosen (module docstring).
SHOT_SELECTIONS = ("design", "random")


@dataclass(frozen=True)
class FewShotReport:
    """Few-shot scores on the query set, mean and spread over seeds."""

    target_device: str
    shots: int
    seeds: int
    spearman_mean: float
    spearman_std: float
    acc10_mean: float
    coverage90_mean: float
    width90_rel_mean: float
    kendall_mean: float
    n_query: int
    measurements_used: int
    shot_selection: str
    train_devices: list[str]
    n_train_models: int
    per_seed: list[dict[str, Any]]
    elapsed_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_range(text: str) -> tuple[int, int]:
    """``"900-1899"`` -> ``(900, 1899)`` (inclusive)."""
    lo, sep, hi = text.partition("-")
    try:
        a, b = int(lo), int(hi) if sep else int(lo)
    except ValueError:
        raise ConfigError(f"bad --query {text!r}: expected START-END, e.g. 900-1899") from None
    if a > b or a < 0:
        raise ConfigError(f"bad --query {text!r}: START must be <= END and >= 0")
    return a, b


def fewshot(
    table: LatencyTable,
    *,
    target_device: str,
    shots: int,
    seeds: int = 3,
    query: tuple[int, int] | None = None,
    trim: tuple[float, float] | None = (10.0, 90.0),
    space: str | None = None,
    max_train_models: int | None = 3000,
    params: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    shot_selection: str = "design",
) -> FewShotReport:
    """Run the few-shot protocol (module docstring) for ``seeds`` seeds (training
    subsample and, with ``shot_selection="random"``, the shot draw)."""
    return fewshot_many(
        table,
        target_device=target_device,
        shots=[shots],
        seeds=seeds,
        query=query,
        trim=trim,
        space=space,
        max_train_models=max_train_models,
        params=params,
        progress=progress,
        shot_selection=shot_selection,
    )[0]


def fewshot_many(
    table: LatencyTable,
    *,
    target_device: str,
    shots: Sequence[int],
    seeds: int = 3,
    query: tuple[int, int] | None = None,
    trim: tuple[float, float] | None = (10.0, 90.0),
    space: str | None = None,
    max_train_models: int | None = 3000,
    params: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    shot_selection: str = "design",
) -> list[FewShotReport]:
    """:func:`fewshot` for several shot counts, training once per seed."""
    import copy

    from edgewise.predict._estimator import LatencyPredictor

    start = time.perf_counter()
    sub = pick_space(table, space)
    frame = sub.frame
    devices = sorted(frame["device"].unique().tolist())
    if target_device not in devices:
        raise UnknownNameError("device", target_device, devices)
    if len(devices) < 3:
        raise DataError("few-shot needs the target plus at least two training devices")
    if not shots or min(shots) < 1 or seeds < 1:
        raise ConfigError("--shots and --seeds must be at least 1")
    if shot_selection not in SHOT_SELECTIONS:
        raise ConfigError(
            f"shot_selection must be one of {', '.join(SHOT_SELECTIONS)}, got {shot_selection!r}"
        )
    tgt = frame[frame["device"] == target_device]
    if query is not None:
        idx = tgt["arch_idx"].to_numpy(dtype=float)
        if np.all(np.isnan(idx)):
            raise DataError("--query needs an arch_idx column in the table")
        in_query = (idx >= query[0]) & (idx <= query[1])
    else:
        in_query = np.ones(len(tgt), dtype=bool)
    # Design candidates: outside the query index range, chosen without target latencies.
    candidates = tgt["model"][~in_query].tolist() if query is not None else tgt["model"].tolist()
    q = tgt[in_query]
    if trim is not None and len(q):
        lo, hi = np.percentile(q["latency_ms"], trim)
        q = q[(q["latency_ms"] >= lo) & (q["latency_ms"] <= hi)]
    query_models = set(q["model"])
    pool = tgt[~tgt["model"].isin(query_models)] if query is not None else tgt
    if len(q) < 3:
        raise DataError(f"the query set has {len(q)} rows; it needs at least 3")
    if len(pool) < max(shots):
        raise DataError(
            f"only {len(pool)} target rows outside the query set for {max(shots)} shots"
        )
    train_devices = [d for d in devices if d != target_device]
    # Training models: outside the query *index range* on every device, so that neither
    # the training set nor the design depends on a target latency (the trim does).
    held_out = set(tgt["model"][in_query]) if query is not None else query_models
    others = frame[(frame["device"] != target_device) & ~frame["model"].isin(held_out)]
    per_seed: dict[int, list[dict[str, Any]]] = {k: [] for k in shots}
    n_train_models = 0
    for seed in range(seeds):
        if progress:
            progress(seed, seeds, f"seed {seed}: training on {len(train_devices)} devices")
        rng = np.random.default_rng(seed)
        train = others
        models = train["model"].unique()
        if max_train_models is not None and len(models) > max_train_models:
            keep = set(rng.permutation(models)[:max_train_models].tolist())
            train = train[train["model"].isin(keep)]
        n_train_models = int(train["model"].nunique())
        base = LatencyPredictor(
            pipelines=(), share=True, random_state=seed, **{**FEWSHOT_PARAMS, **dict(params or {})}
        )
        base.fit(train[["model", "device"]], train["latency_ms"].to_numpy())
        design = base.design_shots(candidates, max(shots)) if shot_selection == "design" else []
        by_model = tgt.drop_duplicates("model").set_index("model")
        for k in shots:
            est = copy.copy(base)
            est.device_models_ = dict(base.device_models_)
            if shot_selection == "design":
                pick = by_model.loc[design[:k]].reset_index()  # measure the designed models
            else:
                pick = pool.iloc[rng.choice(len(pool), size=k, replace=False)]
            est.adapt(
                pick["model"].tolist(),
                pick["latency_ms"].to_numpy(),
                device=target_device,
                designed=shot_selection == "design",
            )
            score = q[~q["model"].isin(set(pick["model"]))]
            x = score[["model", "device"]]
            pred, interval = est.predict_with_interval(x, alpha=0.1)
            m = regression_metrics(score["latency_ms"].to_numpy(), pred, interval)
            per_seed[k].append({"seed": seed, **m, "shot_models": pick["model"].tolist()})
    if progress:
        progress(seeds, seeds, "done")
    reports = []
    for k in shots:
        rows = per_seed[k]
        sp = np.array([r["spearman"] for r in rows])
        reports.append(
            FewShotReport(
                target_device=target_device,
                shots=k,
                seeds=seeds,
                spearman_mean=float(np.mean(sp)),
                spearman_std=float(np.std(sp)),
                acc10_mean=float(np.mean([r["acc10"] for r in rows])),
                coverage90_mean=float(np.mean([r["coverage90"] for r in rows])),
                width90_rel_mean=float(np.mean([r["width90_rel"] for r in rows])),
                kendall_mean=float(np.mean([r["kendall"] for r in rows])),
                n_query=int(len(q)),
                measurements_used=k,
                shot_selection=shot_selection,
                train_devices=train_devices,
                n_train_models=n_train_models,
                per_seed=rows,
                elapsed_s=round(time.perf_counter() - start, 1),
            )
        )
    return reports
