"""``LatencyPredictor``: a scikit-learn estimator from (model, device) to latency in ms.

``X`` is a DataFrame with ``model`` (or ``space`` + ``arch``) and ``device`` columns, or
a sequence of ``(model, device)`` pairs; a model is ``nasbench201:<arch>``,
``fbnet:<blocks>``, ``ofa_mbv3:<json>`` or an ONNX path.

>>> import pandas as pd
>>> from edgewise.predict import LatencyPredictor
>>> p = LatencyPredictor(n_estimators=50).fit(train_x, train_ms)      # doctest: +SKIP
>>> p.predict([("nasbench201:" + arch, "pixel3")])                    # doctest: +SKIP
>>> p.predict_interval([("nasbench201:" + arch, "pixel3")], alpha=0.1)  # doctest: +SKIP

Per device it fits an ensemble of candidate models (:mod:`._pipelines`) plus a shared
low-rank model over all devices (:mod:`._shared`); the ensemble weights and the
conformal interval scores come from cross-fitting with folds by model, so a model is
never scored by a fit that saw it, on any device.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from edgewise._checks import check_int, is_int, is_number
from edgewise.errors import ConfigError, DataError, NotFittedError, UnknownNameError
from edgewise.predict._featurize import FeatureBatch, SignatureVocab, shared_featurizer
from edgewise.predict._pipelines import (
    ADDITIVE,
    MAX_ADDITIVE_SIGNATURES,
    PIPELINES,
    GbmParams,
    GbmPipeline,
    choose_weights,
    make_pipeline,
)
from edgewise.predict._shared import SharedFactors
from edgewise.stats import conformal_quantile

#: A device whose disconnected graphs run at least this much faster than its connected
#: ones is taken to prune dead code (e.g. HW-NAS-Bench's ~0 ms rows on pixel3, raspi4).
PRUNE_RATIO = 0.2
#: Shot counts at which few-shot intervals are calibrated.
FEWSHOT_CALIBRATION = (5, 10, 20, 50)
#: LightGBM refuses trees of more leaves than this (and of fewer than 2).
MAX_NUM_LEAVES = 131072


@dataclass
class DeviceModel:
    """Everything the predictor learned about one device."""

    name: str
    pipelines: list[Any]
    weights: np.ndarray
    scores: np.ndarray
    n_train: int
    disconnected: str = "unseen"  # "unseen", "computed" or "pruned"
    pruned_log_ms: float = 0.0
    pruned_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    shared_override: tuple[float, list[float]] | None = None  # (mu, v) of an adapted device
    pruned_model: Any = None  # a small GBM for disconnected graphs on a pruning device


def as_rows(x: Any) -> tuple[list[str], list[str]]:
    """``(models, devices)`` from a DataFrame or a sequence of ``(model, device)`` pairs."""
    if hasattr(x, "columns"):
        cols = set(x.columns)
        if "device" not in cols:
            raise DataError("X needs a 'device' column")
        if "model" in cols:
            models = [str(m) for m in x["model"]]
        elif {"space", "arch"} <= cols:
            models = [f"{s}:{a}" for s, a in zip(x["space"], x["arch"], strict=True)]
        else:
            raise DataError("X needs a 'model' column or 'space' and 'arch' columns")
        return models, [str(d) for d in x["device"]]
    rows = list(x)
    if any(not isinstance(r, Sequence) or isinstance(r, str) or len(r) != 2 for r in rows):
        raise DataError("X must be a DataFrame or a sequence of (model, device) pairs")
    return [str(r[0]) for r in rows], [str(r[1]) for r in rows]


class LatencyPredictor(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Predicts latency (ms) of a model graph on a device, with conformal intervals.

    Parameters are hyperparameters only; learned state lives in attributes ending in
    ``_``. ``predict`` before ``fit`` raises :class:`edgewise.errors.NotFittedError`.
    ``positions`` gives the per-device models the position features
    (:data:`edgewise.graph._position.POSITION_NAMES`); the shared factors, and so
    few-shot adaptation, never see them.
    """

    def __init__(
        self,
        *,
        pipelines: tuple[str, ...] = PIPELINES,
        share: bool = True,
        positions: bool = True,
        n_factors: int = 8,
        cv_folds: int = 5,
        n_estimators: int = 400,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        random_state: int = 0,
    ) -> None:
        self.pipelines = pipelines
        self.share = share
        self.positions = positions
        self.n_factors = n_factors
        self.cv_folds = cv_folds
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.random_state = random_state

    # -- helpers --------------------------------------------------------------------
    def _gbm_params(self) -> GbmParams:
        return GbmParams(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            seed=self.random_state,
        )

    def _check_params(self) -> None:
        """Type and range of every hyperparameter, at fit time (sklearn's convention):
        LightGBM, NumPy and the fold arithmetic failed on them with their own errors."""
        if not isinstance(self.pipelines, tuple | list) or not all(
            isinstance(p, str) for p in self.pipelines
        ):
            raise ConfigError(
                f"pipelines must be a tuple of names from {PIPELINES}, got {self.pipelines!r}"
            )
        unknown = [p for p in self.pipelines if p not in PIPELINES]
        if unknown or not (self.pipelines or self.share):
            raise ConfigError(
                f"pipelines must be a non-empty subset of {PIPELINES}, got {list(self.pipelines)}"
            )
        for name in ("share", "positions"):
            value = getattr(self, name)
            if not isinstance(value, bool | np.bool_):
                raise ConfigError(f"{name} must be True or False, got {value!r}")
        check_int("cv_folds", self.cv_folds, 2)
        check_int("n_estimators", self.n_estimators, 1)
        check_int("n_factors", self.n_factors, 1)
        check_int("num_leaves", self.num_leaves, 2, MAX_NUM_LEAVES)  # LightGBM's own range
        check_int("random_state", self.random_state, 0)
        rate = self.learning_rate
        if not (is_number(rate) and math.isfinite(rate) and rate > 0):
            raise ConfigError(f"learning_rate must be a positive finite number, got {rate!r}")

    def _check_fitted(self) -> None:
        if not hasattr(self, "device_models_"):
            raise NotFittedError("this LatencyPredictor is not fitted yet; call fit() first")

    def _features(
        self, models: list[str], batch: FeatureBatch | None = None
    ) -> tuple[FeatureBatch, np.ndarray, Any]:
        fb = batch or shared_featurizer().transform(models)
        return fb, fb.features[:, self.feature_mask_], self.vocab_.transform(fb.signatures)

    def _sig(self, s: Any, pipeline: Any) -> Any:
        """The signature columns ``pipeline`` reads (its ``prefixes``; all if it has none
        or the vocabulary has no others, as in files of format 1.2 and before)."""
        prefixes = getattr(pipeline, "prefixes", ())
        cols = self.vocab_.columns(prefixes) if prefixes else None
        return s if cols is None else s[:, cols]

    def _own(self, fb: FeatureBatch, f: np.ndarray) -> np.ndarray:
        """What the per-device models see: the features plus the position features
        (the shared factors, and so few-shot, see the features alone)."""
        mask = getattr(self, "position_mask_", None)  # None: a format 1.0 or 1.1 file
        if mask is None or not mask.any():
            return f
        return np.hstack([f, fb.positions[:, mask]])

    # -- fit ------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> LatencyPredictor:  # noqa: N803 (sklearn naming)
        """Fit on measured latencies ``y`` (ms) of the (model, device) rows of ``X``."""
        self._check_params()
        models, devices = as_rows(X)
        y_ms = np.asarray(y, dtype=np.float64).ravel()
        if len(models) != y_ms.size:
            raise DataError(f"X has {len(models)} rows but y has {y_ms.size}")
        if y_ms.size == 0:
            raise DataError("no training rows")
        if not np.all(np.isfinite(y_ms)) or np.any(y_ms <= 0):
            raise DataError("latencies must be finite and positive (ms)")
        fb = shared_featurizer().transform(models)
        std = fb.features.std(axis=0)
        self.feature_mask_ = std > 0 if np.any(std > 0) else np.ones_like(std, dtype=bool)
        self.position_mask_ = fb.positions.std(axis=0) > 0
        if not self.positions:
            self.position_mask_[:] = False
        self.vocab_ = SignatureVocab.fit(fb.signatures)
        _, f, s = self._features(models, fb)
        fo = self._own(fb, f)
        y_log = np.log(y_ms)
        dev_arr = np.asarray(devices)
        self.devices_ = sorted(set(devices))
        params = self._gbm_params()

        # Disconnected graphs (output independent of input): computed or pruned per device.
        modes: dict[str, str] = {}
        main = np.ones(len(models), dtype=bool)
        for d in self.devices_:
            rows = dev_arr == d
            dis = rows & ~fb.connected
            con = rows & fb.connected
            if not dis.any():
                modes[d] = "unseen"
            elif con.any() and (
                np.median(y_log[dis]) - np.median(y_log[con]) < math.log(PRUNE_RATIO)
            ):
                modes[d] = "pruned"
                main &= ~dis
            else:
                modes[d] = "computed"

        # Folds by model: a model is held out on every device at once.
        keys = list(dict.fromkeys(models))
        rng = np.random.default_rng(self.random_state)
        fold_of_key = {k: i % self.cv_folds for i, k in enumerate(rng.permutation(keys))}
        fold = np.array([fold_of_key[m] for m in models])
        key_index = {k: i for i, k in enumerate(keys)}
        model_idx = np.array([key_index[m] for m in models])
        first_row: dict[str, int] = {}
        for i, m in enumerate(models):
            first_row.setdefault(m, i)
        f_models = f[[first_row[k] for k in keys]]
        dev_index = {d: i for i, d in enumerate(self.devices_)}
        dev_idx = np.array([dev_index[d] for d in devices])

        use_shared = self.share and len(self.devices_) >= 2
        shared_oof = np.full(len(models), np.nan)
        calib: dict[int, list[np.ndarray]] = {k: [] for k in FEWSHOT_CALIBRATION}
        calib_design: dict[int, list[np.ndarray]] = {k: [] for k in FEWSHOT_CALIBRATION}
        if use_shared:
            for k in range(self.cv_folds):
                tr = main & (fold != k)
                te = fold == k
                # one model left to train on: no factors to learn (a fit would raise)
                if np.unique(model_idx[tr]).size < 2 or not te.any():
                    continue
                sf = SharedFactors(n_factors=self.n_factors, params=params).fit(
                    f_models, model_idx[tr], dev_idx[tr], y_log[tr], self.devices_
                )
                u = np.zeros((len(models), sf.rank))
                u[te] = sf.factors(f[te])
                for d in self.devices_:
                    rows = te & (dev_arr == d)
                    if rows.any():
                        shared_oof[rows] = sf.predict(u[rows], d)
                    _simulate_fewshot(
                        sf, u, np.flatnonzero(rows & main), y_log, rng, calib, calib_design
                    )
            self.shared_: SharedFactors | None = SharedFactors(
                n_factors=self.n_factors, params=params
            ).fit(f_models, model_idx[main], dev_idx[main], y_log[main], self.devices_)
        else:
            self.shared_ = None

        self.device_models_: dict[str, DeviceModel] = {}
        min_rows = 2 * self.cv_folds
        s_of = {n: self._sig(s, make_pipeline(n, params)) for n in self.pipelines}
        self.skipped_pipelines_: dict[str, list[str]] = {}
        for d in self.devices_:
            rows = np.flatnonzero((dev_arr == d) & main)
            own = list(self.pipelines) if rows.size >= min_rows else []
            wide = [
                n
                for n in own
                if n in ADDITIVE and _n_columns_used(s_of[n][rows]) > MAX_ADDITIVE_SIGNATURES
            ]
            if wide:
                self.skipped_pipelines_[d] = wide
                own = [n for n in own if n not in wide]
            if not own and not use_shared:
                if rows.size < min_rows:
                    why = f"it has {rows.size} usable rows, and needs at least {min_rows}"
                elif wide:
                    why = f"its models hold too many kernel signatures for {', '.join(wide)}"
                else:
                    why = "no pipelines were given"
                raise DataError(
                    f"nothing can predict device {d!r} without sharing (one device, or "
                    f"share=False): {why}"
                )
            cols = []
            for name in own:
                oof = np.full(rows.size, np.nan)
                sp = s_of[name]
                for k in range(self.cv_folds):
                    tr, te = rows[fold[rows] != k], rows[fold[rows] == k]
                    if tr.size == 0 or te.size == 0:
                        continue
                    p = make_pipeline(name, params).fit(fo[tr], sp[tr], y_log[tr])
                    oof[fold[rows] == k] = p.predict(fo[te], sp[te])
                cols.append(oof)
            if use_shared:
                cols.append(shared_oof[rows])
            oof_mat = np.column_stack(cols)
            ok = np.all(np.isfinite(oof_mat), axis=1)
            weights = (
                choose_weights(oof_mat[ok], y_log[rows][ok])
                if ok.any()
                else np.full(oof_mat.shape[1], 1.0 / oof_mat.shape[1])
            )
            scores = np.abs(oof_mat[ok] @ weights - y_log[rows][ok])
            fitted = [
                make_pipeline(n, params).fit(fo[rows], s_of[n][rows], y_log[rows]) for n in own
            ]
            dm = DeviceModel(
                name=d,
                pipelines=fitted,
                weights=weights,
                scores=scores,
                n_train=int(rows.size),
                disconnected=modes[d],
            )
            if modes[d] == "pruned":
                dis = np.flatnonzero((dev_arr == d) & ~fb.connected)
                dm.pruned_log_ms = float(np.median(y_log[dis]))
                dm.pruned_model, dm.pruned_scores = _fit_pruned(
                    f[dis], y_log[dis], fold[dis], self.cv_folds, params
                )
            self.device_models_[d] = dm

        self.fewshot_scores_ = {k: np.concatenate(v) for k, v in calib.items() if v}
        self.fewshot_design_scores_ = {k: np.concatenate(v) for k, v in calib_design.items() if v}
        self.n_features_in_ = int(f.shape[1])
        return self

    # -- predict --------------------------------------------------------------------
    def _log_predict(
        self,
        X: Any,
        *,
        batch: FeatureBatch | None = None,  # noqa: N803
    ) -> tuple[np.ndarray, list[str], np.ndarray]:
        self._check_fitted()
        models, devices = as_rows(X)
        for d in dict.fromkeys(devices):
            if d not in self.device_models_:
                raise UnknownNameError("device", d, self.device_models_)
        out = np.zeros(len(models))
        if not models:
            return out, devices, np.ones(0, dtype=bool)
        fb, f, s = self._features(models, batch)
        fo = self._own(fb, f)
        dev_arr = np.asarray(devices)
        wanted = [self.device_models_[d] for d in dict.fromkeys(devices)]
        # A member with weight 0 (the 0.1 weight grid gives many) adds exactly 0: its
        # boosters are not run, and the shared factors only when some device uses them.
        u = (
            self.shared_.factors(f)
            if self.shared_ is not None
            and any(dm.weights[len(dm.pipelines) :].any() for dm in wanted)
            else None
        )
        s_of: dict[str, Any] = {}  # signature columns per pipeline kind, sliced once
        for d in dict.fromkeys(devices):
            dm = self.device_models_[d]
            rows = dev_arr == d
            n = int(rows.sum())
            cols = []
            for p, w in zip(dm.pipelines, dm.weights, strict=False):
                if not w:
                    cols.append(np.zeros(n))
                    continue
                if p.name not in s_of:
                    s_of[p.name] = self._sig(s, p)
                cols.append(p.predict(fo[rows], s_of[p.name][rows]))
            if len(dm.weights) > len(dm.pipelines) and u is None:
                cols.append(np.zeros(n))
            elif dm.shared_override is not None and u is not None:
                mu, v = dm.shared_override
                cols.append(mu + u[rows] @ np.asarray(v))
            elif u is not None and len(dm.weights) > len(dm.pipelines):
                cols.append(self.shared_.predict(u[rows], d))  # type: ignore[union-attr]
            out[rows] = np.column_stack(cols) @ dm.weights
            if dm.disconnected == "pruned":
                dis = rows & ~fb.connected
                if dis.any():
                    out[dis] = (
                        dm.pruned_model.predict(f[dis], None)
                        if dm.pruned_model is not None
                        else dm.pruned_log_ms
                    )
        return out, devices, fb.connected

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        """Predicted latency in ms for each (model, device) row."""
        return cast("np.ndarray", np.exp(self._log_predict(X)[0]))

    def interval_half_width(
        self, device: str, *, alpha: float = 0.1, disconnected: bool = False
    ) -> float:
        """The conformal half-width (in log ms) of ``device``'s intervals."""
        self._check_fitted()
        _check_alpha(alpha)
        if device not in self.device_models_:
            raise UnknownNameError("device", device, self.device_models_)
        dm = self.device_models_[device]
        scores = dm.pruned_scores if disconnected and dm.disconnected == "pruned" else dm.scores
        q = conformal_quantile(scores, alpha=alpha) if scores.size else math.inf
        if math.isinf(q) and scores.size:
            q = float(np.max(scores)) * 1.5  # too few scores for a finite conformal bound
        return q

    def predict_interval(self, X: Any, alpha: float = 0.1) -> np.ndarray:  # noqa: N803
        """``(n, 2)`` conformal intervals ``[lo, hi]`` in ms at miscoverage ``alpha``."""
        return self.predict_with_interval(X, alpha=alpha)[1]

    def predict_with_interval(
        self,
        X: Any,
        *,
        alpha: float = 0.1,  # noqa: N803
    ) -> tuple[np.ndarray, np.ndarray]:
        """Point predictions and ``(n, 2)`` intervals (ms) in one pass."""
        self._check_fitted()
        _check_alpha(alpha)
        log_pred, devices, connected = self._log_predict(X)
        half = np.zeros(len(devices))
        widths: dict[tuple[str, bool], float] = {}
        for i, d in enumerate(devices):
            key = (d, not bool(connected[i]))
            if key not in widths:
                widths[key] = self.interval_half_width(d, alpha=alpha, disconnected=key[1])
            half[i] = widths[key]
        return np.exp(log_pred), np.column_stack([np.exp(log_pred - half), np.exp(log_pred + half)])

    # -- few-shot -------------------------------------------------------------------
    def design_shots(self, models: Sequence[str], k: int) -> list[str]:
        """The ``k`` of ``models`` to measure on a new device before :meth:`adapt`, in order.

        A greedy I-optimal design on the shared factors (``SharedFactors.design``): it
        reads only the graphs and what was learned from the training devices, never a
        latency of the new device, so the same candidates always give the same shots,
        and the first ``j`` of a ``k``-design are the ``j``-design. Graphs whose output
        does not depend on their input are skipped (adapt does not use them).

        >>> shots = p.design_shots(candidate_models, 20)              # doctest: +SKIP
        >>> p.adapt(shots, measure(shots), device="my-board")         # doctest: +SKIP
        """
        self._check_fitted()
        if self.shared_ is None:
            raise ConfigError(
                "few-shot adaptation needs a predictor trained with sharing on at least two devices"
            )
        if not is_int(k):
            raise ConfigError(f"k must be an integer number of shots, got {k!r}")
        names = list(dict.fromkeys(str(m) for m in models))
        fb, f, _ = self._features(names)
        live = np.flatnonzero(fb.connected)
        if not 1 <= k <= live.size:
            raise DataError(
                f"cannot choose {k} shots from {live.size} candidate models whose output "
                "depends on their input"
            )
        picked = self.shared_.design(self.shared_.factors(f[live]), k)
        return [names[live[i]] for i in picked]

    def adapt(
        self,
        X: Any,  # noqa: N803
        y: Any,
        *,
        device: str,
        designed: bool = False,
        replace: bool = False,
    ) -> LatencyPredictor:
        """Add ``device`` from a few measured models (few-shot); returns ``self``.

        Pass ``designed=True`` when the models are a prefix of :meth:`design_shots`: the
        intervals then use scores calibrated on designed shots (designed shots are
        high-leverage, so their leave-one-out scale differs from random ones'). A device
        the predictor was trained on is refused unless ``replace=True`` (its trained
        model would be swapped for the few-shot one); a few-shot device may be adapted
        again."""
        self._check_fitted()
        if not isinstance(device, str) or not device.strip():
            raise ConfigError(f"device must be a non-blank name, got {device!r}")
        trained = self.device_models_.get(device)
        if trained is not None and trained.shared_override is None and not replace:
            raise ConfigError(
                f"device {device!r} was trained on {trained.n_train} rows; adapting would "
                "replace that model with a few-shot one (pass replace=True to do so)"
            )
        if self.shared_ is None:
            raise ConfigError(
                "few-shot adaptation needs a predictor trained with sharing on at least two devices"
            )
        if isinstance(X, list | tuple) and all(isinstance(m, str) for m in X):
            models, devs = [str(m) for m in X], [device] * len(X)
        else:
            models, devs = as_rows(X)
        y_ms = np.asarray(y, dtype=np.float64).ravel()
        if len(models) != y_ms.size or y_ms.size == 0:
            raise DataError("adapt needs as many latencies as models (at least one)")
        if not np.all(np.isfinite(y_ms)) or np.any(y_ms <= 0):
            raise DataError("latencies must be finite and positive (ms)")
        if any(d != device for d in devs):
            raise DataError(f"every adaptation row must be on device {device!r}")
        fb, f, _ = self._features(models)
        u = self.shared_.factors(f)
        y_log = np.log(y_ms)
        con = fb.connected
        if not con.any():
            raise DataError(
                "adapting needs at least one measured model whose output depends on its input"
            )
        mu, v = self.shared_.adapt(u[con], y_log[con])
        scale = self.shared_.loo_scale(u[con], y_log[con])
        table = getattr(self, "fewshot_design_scores_", {}) if designed else {}
        table = table or self.fewshot_scores_  # files from format 1.0 have random-shot scores only
        known = [k for k in table if k <= int(con.sum())]
        k = max(known) if known else min(table, default=0)
        scores = table.get(k, np.zeros(0)) * scale
        dm = DeviceModel(
            name=device,
            pipelines=[],
            weights=np.ones(1),
            scores=scores,
            n_train=int(y_ms.size),
            shared_override=(mu, [float(x) for x in v]),
        )
        dis = ~con
        if dis.any():  # the same rule as fit(): does the device prune dead graphs?
            ratio = np.median(y_log[dis]) - np.median(y_log[con])
            dm.disconnected = "pruned" if ratio < math.log(PRUNE_RATIO) else "computed"
            if dm.disconnected == "pruned":
                dm.pruned_log_ms = float(np.median(y_log[dis]))
                dm.pruned_scores = np.abs(y_log[dis] - dm.pruned_log_ms)
        self.device_models_[device] = dm
        if device not in self.devices_:
            self.devices_ = sorted([*self.devices_, device])
        return self

    # -- persistence ----------------------------------------------------------------
    def save(self, path: Any) -> Any:
        """Write a versioned, pickle-free predictor file (see :func:`load_predictor`)."""
        from edgewise.predict._persist import save_predictor

        return save_predictor(self, path)

    @property
    def devices(self) -> list[str]:
        self._check_fitted()
        return list(self.devices_)


#: Disconnected training rows a pruning device needs before it gets its own small model.
MIN_PRUNED_ROWS = 12


def _fit_pruned(
    f: np.ndarray, y_log: np.ndarray, fold: np.ndarray, folds: int, params: GbmParams
) -> tuple[Any, np.ndarray]:
    """A small GBM for the disconnected graphs of a pruning device, and its out-of-fold
    |log error| (the median alone when there are too few rows)."""
    from dataclasses import replace

    if y_log.size < MIN_PRUNED_ROWS:
        return None, np.abs(y_log - np.median(y_log))
    small = replace(params, n_estimators=min(params.n_estimators, 100), min_data_in_leaf=3)
    oof = np.full(y_log.size, np.nan)
    for k in range(folds):
        tr, te = fold != k, fold == k
        if tr.sum() >= 3 and te.any():
            oof[te] = GbmPipeline("gbm_l1", small).fit(f[tr], None, y_log[tr]).predict(f[te], None)
    ok = np.isfinite(oof)
    return (GbmPipeline("gbm_l1", small).fit(f, None, y_log), np.abs(oof[ok] - y_log[ok]))


def _simulate_fewshot(
    sf: SharedFactors,
    u: np.ndarray,
    rows: np.ndarray,
    y_log: np.ndarray,
    rng: np.random.Generator,
    out: dict[int, list[np.ndarray]],
    out_design: dict[int, list[np.ndarray]],
) -> None:
    """Adapt ``sf`` to one device from k of its held-out models; collect |log error| on
    the others divided by the device's leave-one-out scale on its k shots (normalised
    few-shot interval calibration, with models unseen by ``sf``). ``out`` gets random
    shots (two draws), ``out_design`` the prefixes of one design (:meth:`design_shots`)."""
    ks = [k for k in FEWSHOT_CALIBRATION if rows.size >= k + 5]
    if ks:
        order = rows[sf.design(u[rows], max(ks), n_reference=300)]
        for k in ks:
            pick = order[:k]
            rest = np.setdiff1d(rows, pick)
            rest = rng.choice(rest, size=min(rest.size, 120), replace=False)
            mu, v = sf.adapt(u[pick], y_log[pick])
            scale = sf.loo_scale(u[pick], y_log[pick])
            out_design[k].append(np.abs(mu + u[rest] @ v - y_log[rest]) / scale)
    for k in FEWSHOT_CALIBRATION:
        if rows.size < k + 5:
            continue
        for _ in range(2):
            pick = rng.choice(rows, size=k, replace=False)
            rest = np.setdiff1d(rows, pick)
            rest = rng.choice(rest, size=min(rest.size, 60), replace=False)
            mu, v = sf.adapt(u[pick], y_log[pick])
            scale = sf.loo_scale(u[pick], y_log[pick])
            out[k].append(np.abs(mu + u[rest] @ v - y_log[rest]) / scale)


def _check_alpha(alpha: object) -> None:
    """A miscoverage level in (0, 1), checked before any prediction work."""
    if not (is_number(alpha) and 0.0 < alpha < 1.0):  # type: ignore[operator]
        raise ConfigError(f"alpha must be in (0, 1), got {alpha!r}")


def iter_devices(predictor: LatencyPredictor, names: Iterable[str] | None) -> list[str]:
    """The requested devices (all when ``names`` is None), checked against the predictor."""
    all_names = predictor.devices
    if names is None:
        return all_names
    out = list(names)
    for d in out:
        if d not in all_names:
            raise UnknownNameError("device", d, all_names)
    return out


def _n_columns_used(s: Any) -> int:
    """How many signature columns are non-zero in some row of ``s`` (sparse or dense)."""
    if hasattr(s, "getnnz"):
        return int(np.count_nonzero(s.getnnz(axis=0)))
    return int(np.count_nonzero(np.any(np.asarray(s) != 0, axis=0)))
