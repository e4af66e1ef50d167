"""``edgewise predictor evaluate``: train on N models per device, score the rest.

Per seed one random permutation of the table's models is drawn; the first
``train_size`` are training models on every device and the rest are test models on
every device, so no device's test model is seen in training on any device. All devices
are fitted jointly (sharing), then each device is scored on its test rows.

>>> from edgewise.data import LatencyTable
>>> report = evaluate(LatencyTable.from_path("help.csv.gz"), space="nasbench201",
...                   train_size=900, seeds=3)                    # doctest: +SKIP
>>> report.summary["median_acc10"]                                # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from edgewise.data import LatencyTable
from edgewise.errors import ConfigError, DataError

Progress = Callable[[int, int, str], None]

#: Per-device metric names, in report order.
METRICS = ("acc5", "acc10", "rmse_ms", "mape", "spearman", "kendall", "coverage90", "width90_rel")


def regression_metrics(
    y_ms: np.ndarray, pred_ms: np.ndarray, interval: np.ndarray | None = None
) -> dict[str, float]:
    """acc@5/10%, RMSE (ms), MAPE (%), Spearman, Kendall, and interval coverage/width.

    ``acc@p`` is the fraction with ``|pred - true| / true <= p``; ``width90_rel`` is the
    median of ``(hi - lo) / pred`` (the typical relative width; a mean would be ruled by
    a few near-zero predictions).

    >>> m = regression_metrics(np.array([1.0, 2.0]), np.array([1.05, 2.5]))
    >>> m["acc10"], m["acc5"]
    (0.5, 0.5)
    """
    from scipy.stats import kendalltau, spearmanr

    y = np.asarray(y_ms, dtype=np.float64)
    p = np.asarray(pred_ms, dtype=np.float64)
    rel = np.abs(p - y) / y
    # rank correlations are undefined for fewer than 3 points or a constant side
    ranked = y.size > 2 and bool(np.ptp(y) > 0) and bool(np.ptp(p) > 0)
    out = {
        "acc5": float(np.mean(rel <= 0.05 + 1e-12)),
        "acc10": float(np.mean(rel <= 0.10 + 1e-12)),
        "rmse_ms": float(np.sqrt(np.mean((p - y) ** 2))),
        "mape": float(100 * np.mean(rel)),
        "spearman": float(spearmanr(y, p)[0]) if ranked else float("nan"),
        "kendall": float(kendalltau(y, p)[0]) if ranked else float("nan"),
        "coverage90": float("nan"),
        "width90_rel": float("nan"),
    }
    if interval is not None:
        lo, hi = interval[:, 0], interval[:, 1]
        out["coverage90"] = float(np.mean((lo <= y) & (y <= hi)))
        out["width90_rel"] = float(np.median((hi - lo) / p))
    return out


@dataclass(frozen=True)
class DeviceMetrics:
    """One device's scores, averaged over seeds (``*_std`` fields give the spread)."""

    device: str
    n_train: int
    n_test: int
    acc5: float
    acc10: float
    rmse_ms: float
    mape: float
    spearman: float
    kendall: float
    coverage90: float
    width90_rel: float
    acc10_std: float
    n_disconnected_test: int
    ensemble_weights: dict[str, float]


@dataclass(frozen=True)
class EvaluationReport:
    """The result of :func:`evaluate`."""

    space: str
    train_size: int
    seeds: int
    devices: list[DeviceMetrics]
    summary: dict[str, float]
    settings: dict[str, Any]
    elapsed_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "space": self.space,
            "train_size": self.train_size,
            "seeds": self.seeds,
            "devices": [asdict(d) for d in self.devices],
            "summary": self.summary,
            "settings": self.settings,
            "elapsed_s": self.elapsed_s,
        }


def pick_space(table: LatencyTable, space: str | None) -> LatencyTable:
    """One space of the table: ``space``, or the only one present."""
    spaces = [*table.spaces, *(["onnx"] if (table.frame["space"] == "").any() else [])]
    if space is None:
        if len(spaces) != 1:
            raise ConfigError(
                f"the table has several spaces ({', '.join(spaces)}): pick one with --space"
            )
        space = spaces[0]
    return table.select(space=space)


def evaluate(
    table: LatencyTable,
    *,
    train_size: int,
    seeds: int = 3,
    devices: Iterable[str] | None = None,
    space: str | None = None,
    params: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    first_seed: int = 0,
) -> EvaluationReport:
    """Run the evaluation protocol (module docstring) and average over ``seeds`` seeds,
    ``first_seed`` to ``first_seed + seeds - 1`` (so one long run can be split in parts)."""
    from edgewise.predict._estimator import LatencyPredictor

    start = time.perf_counter()
    sub = pick_space(table, space)
    if devices is not None:
        sub = sub.select(devices=devices)
    frame = sub.frame
    if frame.empty:
        raise DataError("no rows to evaluate")
    models = frame["model"].unique()
    if not 2 <= train_size < len(models):
        raise ConfigError(
            f"--train-size must be between 2 and {len(models) - 1} (the table has "
            f"{len(models)} models), got {train_size}"
        )
    if seeds < 1 or first_seed < 0:
        raise ConfigError(f"--seeds must be at least 1, got {seeds}")
    dev_names = sorted(frame["device"].unique().tolist())
    per: dict[str, list[dict[str, float]]] = {d: [] for d in dev_names}
    counts: dict[str, tuple[int, int, int]] = {}
    weights: dict[str, list[np.ndarray]] = {d: [] for d in dev_names}
    names: list[str] = []
    for seed in range(first_seed, first_seed + seeds):
        if progress:
            progress(seed - first_seed, seeds, f"seed {seed}: fitting {len(dev_names)} devices")
        rng = np.random.default_rng(seed)
        train_models = set(rng.permutation(models)[:train_size].tolist())
        is_train = frame["model"].isin(train_models).to_numpy()
        tr, te = frame[is_train], frame[~is_train]
        est = LatencyPredictor(random_state=seed, **dict(params or {}))
        est.fit(tr[["model", "device"]], tr["latency_ms"].to_numpy())
        x_te = te[["model", "device"]]
        pred, interval = est.predict_with_interval(x_te, alpha=0.1)
        from edgewise.predict._featurize import shared_featurizer

        connected = shared_featurizer().transform(te["model"].tolist()).connected
        y = te["latency_ms"].to_numpy()
        dev = te["device"].to_numpy()
        names = [*est.pipelines, *(["shared"] if est.shared_ is not None else [])]
        for d in dev_names:
            m = dev == d
            per[d].append(regression_metrics(y[m], pred[m], interval[m]))
            counts[d] = (int((tr["device"] == d).sum()), int(m.sum()), int((m & ~connected).sum()))
            dm = est.device_models_[d]
            w = np.zeros(len(names))
            used = [*dm.pipelines, *(["shared"] if len(dm.weights) > len(dm.pipelines) else [])]
            for wi, p in zip(dm.weights, used, strict=True):
                w[names.index(p if isinstance(p, str) else p.name)] = wi
            weights[d].append(w)
    if progress:
        progress(seeds, seeds, "done")
    rows = []
    for d in dev_names:
        mean = {k: _nanmean([r[k] for r in per[d]]) for k in METRICS}
        rows.append(
            DeviceMetrics(
                device=d,
                n_train=counts[d][0],
                n_test=counts[d][1],
                **mean,
                acc10_std=float(np.std([r["acc10"] for r in per[d]])),
                n_disconnected_test=counts[d][2],
                ensemble_weights={
                    n: round(float(v), 3)
                    for n, v in zip(names, np.mean(weights[d], axis=0), strict=True)
                },
            )
        )
    acc10 = np.array([r.acc10 for r in rows])
    summary = {
        "median_acc10": float(np.median(acc10)),
        "mean_acc10": float(np.mean(acc10)),
        "mean_spearman": _nanmean([r.spearman for r in rows]),
        "mean_coverage90": _nanmean([r.coverage90 for r in rows]),
        "min_coverage90": float(np.nanmin([r.coverage90 for r in rows])),
        "max_coverage90": float(np.nanmax([r.coverage90 for r in rows])),
    }
    return EvaluationReport(
        space=str(frame["space"].iloc[0] or "onnx"),
        train_size=train_size,
        seeds=seeds,
        devices=rows,
        summary=summary,
        settings={
            "params": dict(params or {}),
            "split": "one model permutation per seed, shared by all devices",
        },
        elapsed_s=round(time.perf_counter() - start, 1),
    )


def _nanmean(values: Sequence[float]) -> float:
    """The mean of the finite values; NaN when there are none (a rank correlation of a
    one-model test set), without NumPy's "Mean of empty slice" warning on stderr."""
    xs = np.asarray(values, dtype=float)
    xs = xs[np.isfinite(xs)]
    return float(xs.mean()) if xs.size else math.nan
