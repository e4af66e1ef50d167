"""Per-device candidate models; each predicts log latency (ms) from graph features.

- ``gbm``: LightGBM on log latency (squared loss).
- ``gbm_l1``: the same with absolute loss, robust to outlying measurements.
- ``kernel``: a kernel-additive cost model, latency = sum of per-kernel-signature costs
  (non-negative ridge, the nn-Meter idea learned from end-to-end latencies), times a
  LightGBM correction (absolute loss) for what is not additive.
- ``kernel_used``: kernel-additive again, but each signature is costed twice: where the
  graph output uses the kernel's result and where it does not (a runtime that prunes
  dead code pays nothing for those; one that does not pays in full). Fitted on
  relative error with robust reweighting, no correction.

Each pipeline reads the signature columns of its ``prefixes`` (see
:func:`edgewise.graph.kernel_signatures`).

All state is JSON numbers plus LightGBM model text: no pickle.

>>> params = GbmParams(n_estimators=20)
>>> GbmPipeline("gbm", params).name
'gbm'
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, cast

import numpy as np

from edgewise.errors import ModelError

PIPELINES = ("gbm", "gbm_l1", "kernel", "kernel_used")
#: The members that cost each kernel signature (an exact NNLS over the signature columns).
ADDITIVE = ("kernel", "kernel_used")
#: A device whose training models hold more distinct signatures than this gets no
#: additive members: the exact solver's dense system grows with the square, and such a
#: table is one whose signatures barely repeat (OFA-MobileNetV3's change with the input
#: resolution: ~4,800 over 100 models), where costing each one apart cannot generalise.
MAX_ADDITIVE_SIGNATURES = 1500


@dataclass(frozen=True)
class GbmParams:
    """LightGBM settings shared by every booster of a predictor."""

    n_estimators: int = 400
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_data_in_leaf: int = 5
    subsample: float = 0.8
    colsample: float = 0.8
    seed: int = 0

    def lgb_params(self, objective: str) -> dict[str, Any]:
        return {
            "objective": objective,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "min_data_in_bin": 1,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1,
            "feature_fraction": self.colsample,
            "num_threads": 1,
            "verbose": -1,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "max_bin": 63,
        }


def train_booster(params: GbmParams, objective: str, x: np.ndarray, y: np.ndarray) -> Any:
    """A LightGBM booster on ``(x, y)`` (one thread, deterministic)."""
    import lightgbm as lgb

    data = lgb.Dataset(x, label=y, params={"verbose": -1, "min_data_in_bin": 1}, free_raw_data=True)
    return lgb.train(params.lgb_params(objective), data, num_boost_round=params.n_estimators)


def booster_from_text(text: str, source: str = "") -> Any:
    """A saved booster, parsed on first use: a predictor file holds a few per device, and
    one prediction needs only its device's (parsing all took ~1 s of a 5 s `predict`).
    ``source`` (``p.zip:boosters/d0_p0.txt``) names it in the error of a corrupt one."""
    return _LazyBooster(text, source)


#: LightGBM's C++ side writes this to file descriptor 2 before raising the same text.
_FATAL = b"[LightGBM] [Fatal]"
_STDERR_LOCK = threading.Lock()


@contextmanager
def _without_native_fatal() -> Iterator[None]:
    """Runs the body with fd 2 captured, then writes back all but LightGBM's fatal lines
    (a corrupt file is reported once, as an edgewise error, not also as a raw log line)."""
    with _STDERR_LOCK, tempfile.TemporaryFile() as tmp:
        try:
            saved = os.dup(2)
        except OSError:  # pragma: no cover - no stderr at all
            yield
            return
        try:
            sys.stderr.flush()
            os.dup2(tmp.fileno(), 2)
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            kept = [ln for ln in tmp.read().splitlines(True) if not ln.startswith(_FATAL)]
            if kept:
                os.write(2, b"".join(kept))


class _LazyBooster:
    """``lightgbm.Booster``'s ``predict`` and ``model_to_string``, parsed when first used.

    A booster that does not parse, or reads another number of features than it is given,
    is a corrupt file: :class:`ModelError` (exit 2), found at the first prediction.
    """

    def __init__(self, text: str, source: str = "") -> None:
        self._text = text
        self._source = source or "a saved LightGBM booster"
        self._booster: Any = None

    def predict(self, x: Any, **kwargs: Any) -> Any:
        if self._booster is None:
            import lightgbm as lgb

            try:
                with _without_native_fatal():
                    self._booster = lgb.Booster(model_str=self._text)
            except lgb.basic.LightGBMError as exc:
                raise self._corrupt(str(exc)) from exc
        wanted = self._booster.num_feature()
        if np.ndim(x) == 2 and np.shape(x)[1] != wanted:  # LightGBM would print a fatal line
            raise self._corrupt(f"it reads {wanted} features, the predictor gives {np.shape(x)[1]}")
        return self._booster.predict(x, **kwargs)

    def _corrupt(self, why: str) -> ModelError:
        first = why.strip().splitlines()[0] if why.strip() else "unreadable"
        return ModelError(
            f"{self._source} is corrupt: {first}; retrain it with `edgewise predictor train`"
        )

    def model_to_string(self) -> str:
        return self._text


class GbmPipeline:
    """LightGBM on log latency with ``objective`` ``regression`` (gbm) or ``l1`` (gbm_l1)."""

    prefixes: tuple[str, ...] = ()

    def __init__(self, name: str, params: GbmParams) -> None:
        self.name = name
        self.params = params
        self.booster: Any = None

    @property
    def objective(self) -> str:
        return "l1" if self.name == "gbm_l1" else "regression"

    def fit(self, f: np.ndarray, s: Any, y_log: np.ndarray) -> GbmPipeline:
        self.booster = train_booster(self.params, self.objective, f, y_log)
        return self

    def predict(self, f: np.ndarray, s: Any) -> np.ndarray:
        return np.asarray(self.booster.predict(f, num_threads=1), dtype=np.float64)

    def state(self) -> dict[str, Any]:
        return {"name": self.name, "booster": self.booster.model_to_string()}

    @classmethod
    def from_state(cls, state: dict[str, Any], params: GbmParams) -> GbmPipeline:
        p = cls(state["name"], params)
        p.booster = booster_from_text(state["booster"], state.get("booster_source", ""))
        return p


def nonnegative_ridge(
    a: np.ndarray, y: np.ndarray, *, alpha: float, weight: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """``min mean(w (a c + b - y)^2) + alpha |c|^2`` over ``c >= 0`` (free intercept
    ``b``; ``w`` = ``weight``, 1 by default), solved exactly by active-set NNLS on the
    augmented system.

    The penalty is per sample, so the shrinkage does not depend on the number of rows: a
    cross-fitted fold model and the final fit are biased alike, and their conformal
    scores are exchangeable.
    An iterative solver (scikit-learn's positive Ridge uses L-BFGS-B) stops at a tolerance
    around 1e-4 relative error, which on a deterministic simulator whose latency *is*
    additive (HW-NAS-Bench's eyeriss, fpga) leaves a fit-dependent error of the same size.
    """
    from scipy.optimize import nnls

    used = np.flatnonzero(np.any(a != 0, axis=0))
    if used.size < a.shape[1]:  # a column of zeros costs 0 at the optimum: solve without it
        coef = np.zeros(a.shape[1])
        sub_coef, intercept = nonnegative_ridge(a[:, used], y, alpha=alpha, weight=weight)
        coef[used] = sub_coef
        return coef, intercept
    n, p = a.shape
    root = np.ones(n) if weight is None else np.sqrt(weight)
    lhs = np.vstack(
        [
            np.column_stack([a, np.ones(n), -np.ones(n)]) * root[:, None],
            np.column_stack([math.sqrt(alpha * n) * np.eye(p), np.zeros((p, 2))]),
        ]
    )
    sol, _ = nnls(lhs, np.concatenate([y * root, np.zeros(p)]), maxiter=50 * (p + 2))
    return np.asarray(sol[:p], dtype=np.float64), float(sol[p] - sol[p + 1])


class _AdditiveCost:
    """Latency in ms = ``s @ coef + intercept`` over kernel-signature counts ``s``
    (non-negative costs), floored at 5% of the fastest training latency; the part the
    kernel-additive members share."""

    def __init__(self, ridge: float) -> None:
        self.ridge = ridge
        self.coef: np.ndarray = np.zeros(0)
        self.intercept = 0.0
        self.floor_ms = 0.0

    def _log_cost(self, s: Any) -> np.ndarray:
        base = np.asarray(s @ self.coef).ravel() + self.intercept
        return np.log(np.maximum(base, self.floor_ms))

    def _cost_state(self) -> dict[str, Any]:
        return {
            "ridge": self.ridge,
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "floor_ms": self.floor_ms,
        }

    def _load_cost(self, state: dict[str, Any]) -> None:
        self.coef = np.asarray(state["coef"], dtype=np.float64)
        self.intercept = float(state["intercept"])
        self.floor_ms = float(state["floor_ms"])


def _dense(s: Any) -> np.ndarray:
    return s.toarray() if hasattr(s, "toarray") else np.asarray(s)


class KernelPipeline(_AdditiveCost):
    """Kernel-additive latency (non-negative ridge on signature counts) times a GBM factor."""

    name = "kernel"
    prefixes = ("a:", "l:")

    def __init__(self, params: GbmParams, *, ridge: float = 1e-6) -> None:
        super().__init__(ridge)
        self.params = params
        self.booster: Any = None

    def fit(self, f: np.ndarray, s: Any, y_log: np.ndarray) -> KernelPipeline:
        y = np.exp(y_log)
        scale = float(np.mean(y))
        self.coef, self.intercept = nonnegative_ridge(_dense(s), y / scale, alpha=self.ridge)
        self.coef *= scale
        self.intercept *= scale
        self.floor_ms = 0.05 * float(np.min(y))
        base = self._log_cost(s)
        x = np.column_stack([f, base])
        self.booster = train_booster(self.params, "l1", x, y_log - base)
        return self

    def predict(self, f: np.ndarray, s: Any) -> np.ndarray:
        base = self._log_cost(s)
        corr = self.booster.predict(np.column_stack([f, base]), num_threads=1)
        return base + np.asarray(corr, dtype=np.float64)

    def state(self) -> dict[str, Any]:
        return {
            "name": self.name,
            **self._cost_state(),
            "booster": self.booster.model_to_string(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], params: GbmParams) -> KernelPipeline:
        p = cls(params, ridge=float(state["ridge"]))
        p._load_cost(state)
        p.booster = booster_from_text(state["booster"], state.get("booster_source", ""))
        return p


class UsedKernelPipeline(_AdditiveCost):
    """Latency in ms = sum of per-kernel-signature costs, each signature costed apart
    where the graph output uses the kernel (``o:``) and where it does not (``d:``).

    Non-negative least squares on relative error (rows weighted by ``1/y^2``), then
    ``rounds`` of Huber reweighting so outlying measurements pull less; no correction
    booster (on the pruning phones one made it worse).
    """

    name = "kernel_used"
    prefixes = ("o:", "d:")

    def __init__(
        self, params: GbmParams | None = None, *, ridge: float = 1e-6, rounds: int = 3
    ) -> None:
        super().__init__(ridge)
        self.rounds = rounds

    def fit(self, f: np.ndarray, s: Any, y_log: np.ndarray) -> UsedKernelPipeline:
        y = np.exp(y_log)
        dense = _dense(s)
        base = 1.0 / y**2  # relative error
        robust = np.ones_like(y)
        for _ in range(self.rounds + 1):
            self.coef, self.intercept = nonnegative_ridge(
                dense, y, alpha=self.ridge, weight=base * robust
            )
            rel = (dense @ self.coef + self.intercept) / y - 1.0
            scale = max(1.4826 * float(np.median(np.abs(rel))), 1e-6)
            u = np.abs(rel) / (1.345 * scale)
            robust = np.minimum(1.0, 1.0 / np.maximum(u, 1e-12))
        self.floor_ms = 0.05 * float(np.min(y))
        return self

    def predict(self, f: np.ndarray, s: Any) -> np.ndarray:
        return self._log_cost(s)

    def state(self) -> dict[str, Any]:
        return {"name": self.name, "rounds": self.rounds, **self._cost_state()}

    @classmethod
    def from_state(cls, state: dict[str, Any], params: GbmParams) -> UsedKernelPipeline:
        p = cls(params, ridge=float(state["ridge"]), rounds=int(state["rounds"]))
        p._load_cost(state)
        return p


Pipeline = GbmPipeline | KernelPipeline | UsedKernelPipeline
_ADDITIVE: dict[str, type[KernelPipeline] | type[UsedKernelPipeline]] = {
    "kernel": KernelPipeline,
    "kernel_used": UsedKernelPipeline,
}


def make_pipeline(name: str, params: GbmParams) -> Pipeline:
    kind = _ADDITIVE.get(name)
    return kind(params) if kind is not None else GbmPipeline(name, params)


def pipeline_from_state(state: dict[str, Any], params: GbmParams) -> Pipeline:
    kind = _ADDITIVE.get(state["name"])
    if kind is not None:
        return kind.from_state(state, params)
    return GbmPipeline.from_state(state, params)


def simplex_grid(k: int, step: float = 0.1) -> np.ndarray:
    """All weight vectors of length ``k`` on the simplex with the given step."""
    n = round(1 / step)
    out: list[list[float]] = []

    def rec(prefix: list[int], left: int, slots: int) -> None:
        if slots == 1:
            out.append([*prefix, left])
            return
        for v in range(left + 1):
            rec([*prefix, v], left - v, slots - 1)

    rec([], n, k)
    return np.asarray(out, dtype=np.float64) / n


def choose_weights(oof: np.ndarray, y_log: np.ndarray) -> np.ndarray:
    """Convex weights of the columns of ``oof`` (log predictions) that maximise out-of-fold
    accuracy within 10%, ties broken by the mean absolute log error."""
    k = oof.shape[1]
    if k == 1:
        return np.ones(1)
    grid = simplex_grid(k, 0.1 if k <= 4 else 0.2)
    pred = oof @ grid.T  # (n, G)
    err = pred - y_log[:, None]
    acc = np.mean(np.abs(np.expm1(err)) <= 0.10, axis=0)
    mae = np.mean(np.abs(err), axis=0)
    best = np.lexsort((mae, -acc))[0]
    return cast("np.ndarray", grid[best])


def params_dict(params: GbmParams) -> dict[str, Any]:
    return asdict(params)
