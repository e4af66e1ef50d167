"""Low-rank matrix completion of log latency, with feature priors and calibrated intervals.

Rows are chips, columns are (benchmark, scenario, metric). In log space a chip's latency
on a model is close to additive plus a few interactions, so we fit

    log t[i, j] = mu + a_i + b_j + u_i . v_j

by alternating ridge regressions. Columns (models) with features (log MACs, log params,
int8) get a prior mean for ``(b_j, v_j)`` regressed from the features, so a model that
no chip has run yet is placed from its features alone; rows (chips) with specs (log peak
INT8 ops) likewise. Intervals are split-conformal: out-of-fold log residuals, binned by
how much the cell's row and column were observed, give the half-width at a confidence.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> t = np.exp(rng.normal(size=(8, 1)) + rng.normal(size=(1, 9)))
>>> rows, cols = np.nonzero(np.ones_like(t))
>>> m = LowRankCompleter(rank=1).fit(rows, cols, t[rows, cols])
>>> bool(abs(m.predict([0], [0])[0] / t[0, 0] - 1) < 0.2)
True
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from edgewise.errors import ConfigError, DataError, NotFittedError
from edgewise.stats import quantile

#: Support bins: a cell's support is min(#observations in its row, in its column).
_BIN_EDGES = (1, 3, 6, 11)
_MIN_PER_BIN = 20


def support_bin(support: np.ndarray) -> np.ndarray:
    """Bin index 0 (no support: prior only) .. 4 (11 or more observations)."""
    return np.searchsorted(np.asarray(_BIN_EDGES), np.asarray(support), side="right")


class LowRankCompleter:
    """Predicts missing (row, column) latencies; the scikit-learn estimator contract.

    Parameters
    ----------
    rank : number of interaction factors per row and column.
    reg : ridge penalty on the factors; ``bias_reg`` on the row and column offsets.
    confidence : default two-sided coverage of :meth:`predict_interval`.
    calibration_folds : folds of the out-of-fold residuals behind the intervals (0: none).
    """

    def __init__(
        self,
        *,
        rank: int = 2,
        reg: float = 3.0,
        bias_reg: float = 0.3,
        n_iter: int = 40,
        confidence: float = 0.9,
        calibration_folds: int = 5,
        random_state: int = 0,
    ) -> None:
        self.rank = rank
        self.reg = reg
        self.bias_reg = bias_reg
        self.n_iter = n_iter
        self.confidence = confidence
        self.calibration_folds = calibration_folds
        self.random_state = random_state

    # -- fitting -------------------------------------------------------------------
    def fit(
        self,
        rows: Sequence[Hashable] | np.ndarray,
        cols: Sequence[Hashable] | np.ndarray,
        values: Sequence[float] | np.ndarray,
        *,
        groups: Sequence[Hashable] | np.ndarray | None = None,
        col_features: Mapping[Any, Sequence[float]] | None = None,
        row_features: Mapping[Any, Sequence[float]] | None = None,
        col_families: Mapping[Any, Hashable] | None = None,
    ) -> LowRankCompleter:
        """Fit on observed cells (values in ms, > 0); returns ``self``.

        ``col_families`` groups columns (e.g. all MobileNet-v2 variants): a cell's support
        then counts only the row's observations in the cell's family, so a chip that never
        ran anything like the model gets the wide, prior-only interval.
        """
        if self.rank < 0 or self.reg <= 0 or self.bias_reg <= 0:
            raise ConfigError("rank must be >= 0 and the penalties > 0")
        if not 0.0 < self.confidence < 1.0:
            raise ConfigError(f"confidence must be in (0, 1), got {self.confidence}")
        rows_l, cols_l = list(rows), list(cols)
        vals = np.asarray(values, dtype=np.float64)
        if not (len(rows_l) == len(cols_l) == vals.size):
            raise DataError("rows, cols and values must have the same length")
        if vals.size == 0:
            raise DataError("no observed cells to fit")
        if not np.all(np.isfinite(vals)) or np.any(vals <= 0):
            raise DataError("latencies must be finite and > 0")
        col_features = dict(col_features or {})
        row_features = dict(row_features or {})
        self.row_index_ = _index(rows_l, row_features)
        self.col_index_ = _index(cols_l, col_features)
        r = np.array([self.row_index_[x] for x in rows_l], dtype=np.int64)
        c = np.array([self.col_index_[x] for x in cols_l], dtype=np.int64)
        y = np.log(vals)
        self.row_feat_ = _feature_matrix(self.row_index_, row_features)
        self.col_feat_ = _feature_matrix(self.col_index_, col_features)
        families = dict(col_families or {})
        fam_codes: dict[Hashable, int] = {}
        self.col_family_ = np.array(
            [fam_codes.setdefault(families.get(col, 0), len(fam_codes)) for col in self.col_index_],
            dtype=np.int64,
        )
        self.n_families_ = max(1, len(fam_codes))
        state = self._als(r, c, y, len(self.row_index_), len(self.col_index_))
        self.mu_, self.row_params_, self.col_params_ = state
        self.row_count_ = np.bincount(r, minlength=len(self.row_index_))
        self.col_count_ = np.bincount(c, minlength=len(self.col_index_))
        self._fit_r, self._fit_c = r, c
        self.residuals_by_bin_ = self._calibrate(r, c, y, groups)
        return self

    def _als(
        self, r: np.ndarray, c: np.ndarray, y: np.ndarray, n_rows: int, n_cols: int
    ) -> tuple[float, np.ndarray, np.ndarray]:
        k = self.rank
        rng = np.random.default_rng(self.random_state)
        mu = float(y.mean())
        P = np.zeros((n_rows, k + 1))
        Q = np.zeros((n_cols, k + 1))
        P[:, 1:] = rng.normal(scale=0.1, size=(n_rows, k))
        Q[:, 1:] = rng.normal(scale=0.1, size=(n_cols, k))
        lam = np.full(k + 1, self.reg)
        lam[0] = self.bias_reg
        for _ in range(self.n_iter):
            P0 = _prior_means(P, self.row_feat_, r)
            Q0 = _prior_means(Q, self.col_feat_, c)
            # rows: target y - mu - b_j, design [1, v_j]
            P = _ridge_update(r, n_rows, y - mu - Q[c, 0], _design(Q[c]), lam, P0)
            Q = _ridge_update(c, n_cols, y - mu - P[r, 0], _design(P[r]), lam, Q0)
            mu = float(np.mean(y - _raw(P, Q, r, c)))
        # cold rows/columns sit at their prior means
        P0 = _prior_means(P, self.row_feat_, r)
        Q0 = _prior_means(Q, self.col_feat_, c)
        P = np.where(np.bincount(r, minlength=n_rows)[:, None] > 0, P, P0)
        Q = np.where(np.bincount(c, minlength=n_cols)[:, None] > 0, Q, Q0)
        return mu, P, Q

    def _calibrate(
        self,
        r: np.ndarray,
        c: np.ndarray,
        y: np.ndarray,
        groups: Sequence[Hashable] | np.ndarray | None,
    ) -> list[np.ndarray]:
        """Out-of-fold |log residuals| per support bin (cells, then whole feature columns)."""
        bins: list[list[float]] = [[] for _ in range(len(_BIN_EDGES) + 1)]
        folds = self.calibration_folds
        if folds >= 2 and y.size >= 2 * folds:
            rng = np.random.default_rng(self.random_state + 1)
            if groups is None:
                g_codes = np.arange(y.size)
            else:
                _, g_codes = np.unique(np.asarray([str(g) for g in groups]), return_inverse=True)
            fold_of_group = rng.integers(0, folds, size=int(g_codes.max()) + 1)
            fold = fold_of_group[g_codes]
            for f in range(folds):
                self._oof(r, c, y, fold != f, fold == f, bins)
            feat_cols = np.flatnonzero(~np.isnan(self.col_feat_[:, 0]))
            observed = feat_cols[np.isin(feat_cols, c)]
            if observed.size >= folds:
                col_fold = rng.integers(0, folds, size=observed.size)
                for f in range(folds):
                    hide = np.isin(c, observed[col_fold == f])
                    self._oof(r, c, y, ~hide, hide, bins)
        return [np.abs(np.asarray(b)) for b in bins]

    def _oof(
        self,
        r: np.ndarray,
        c: np.ndarray,
        y: np.ndarray,
        train: np.ndarray,
        test: np.ndarray,
        bins: list[list[float]],
    ) -> None:
        if not test.any() or not train.any():
            return
        n_rows, n_cols = self.row_feat_.shape[0], self.col_feat_.shape[0]
        mu, P, Q = self._als(r[train], c[train], y[train], n_rows, n_cols)
        pred = mu + _raw(P, Q, r[test], c[test])
        rc = np.bincount(r[train], minlength=n_rows)[r[test]]
        cc = np.bincount(c[train], minlength=n_cols)[c[test]]
        has_prior = ~np.isnan(self.col_feat_[c[test], 0])
        # a cell is predictable only where its row was seen and its column seen or featured
        ok = (rc > 0) & ((cc > 0) | has_prior)
        b = support_bin(self._support(r[train], c[train], r[test], c[test]))
        for bi, e in zip(b[ok], (y[test] - pred)[ok], strict=True):
            bins[int(bi)].append(float(e))

    # -- prediction ----------------------------------------------------------------
    def _check(self) -> None:
        if not hasattr(self, "row_params_"):
            raise NotFittedError("LowRankCompleter is not fitted yet; call fit() first")

    def _lookup(
        self, rows: Sequence[Hashable] | np.ndarray, cols: Sequence[Hashable] | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        self._check()
        try:
            r = np.array([self.row_index_[x] for x in rows], dtype=np.int64)
        except KeyError as exc:
            raise ConfigError(f"row {exc.args[0]!r} was not seen in fit") from exc
        try:
            c = np.array([self.col_index_[x] for x in cols], dtype=np.int64)
        except KeyError as exc:
            raise ConfigError(f"column {exc.args[0]!r} was not seen in fit") from exc
        return r, c

    def predict(
        self, rows: Sequence[Hashable] | np.ndarray, cols: Sequence[Hashable] | np.ndarray
    ) -> np.ndarray:
        """Predicted latencies (ms)."""
        r, c = self._lookup(rows, cols)
        return np.exp(self.mu_ + _raw(self.row_params_, self.col_params_, r, c))

    def _support(
        self, r_fit: np.ndarray, c_fit: np.ndarray, r: np.ndarray, c: np.ndarray
    ) -> np.ndarray:
        """min(row's observations in the column's family, the column's observations)."""
        n_rows, n_cols, k = self.row_feat_.shape[0], self.col_feat_.shape[0], self.n_families_
        fam_count = np.bincount(r_fit * k + self.col_family_[c_fit], minlength=n_rows * k)
        col_count = np.bincount(c_fit, minlength=n_cols)
        return np.asarray(np.minimum(fam_count[r * k + self.col_family_[c]], col_count[c]))

    def support(
        self, rows: Sequence[Hashable] | np.ndarray, cols: Sequence[Hashable] | np.ndarray
    ) -> np.ndarray:
        """min(the row's observations in the column's family, the column's) for each cell."""
        r, c = self._lookup(rows, cols)
        return self._support(self._fit_r, self._fit_c, r, c)

    def halfwidths(self, support: np.ndarray, *, confidence: float | None = None) -> np.ndarray:
        """Log-space half-widths for cells with the given support."""
        self._check()
        conf = self.confidence if confidence is None else confidence
        per_bin = _bin_halfwidths(self.residuals_by_bin_, conf)
        return np.asarray(np.asarray(per_bin)[support_bin(support)])

    def predict_interval(
        self,
        rows: Sequence[Hashable] | np.ndarray,
        cols: Sequence[Hashable] | np.ndarray,
        *,
        confidence: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(lower_ms, upper_ms)`` at ``confidence`` (default: the fitted one)."""
        pred = self.predict(rows, cols)
        h = self.halfwidths(self.support(rows, cols), confidence=confidence)
        return pred * np.exp(-h), pred * np.exp(h)


def _bin_halfwidths(residuals: list[np.ndarray], confidence: float) -> list[float]:
    """Per-bin conformal half-widths; thin bins borrow from less-supported (wider) ones."""
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must be in (0, 1), got {confidence}")
    pooled = (
        np.concatenate([b for b in residuals if b.size])
        if any(b.size for b in residuals)
        else np.array([])
    )
    if pooled.size == 0:
        return [float("inf")] * len(residuals)

    # conformal rank: ceil((n + 1) * confidence) / n
    def q(x: np.ndarray) -> float:
        level = min(1.0 - 1e-9, np.ceil((x.size + 1) * confidence) / x.size)
        return quantile(x, level) if level < 1.0 else float(x.max())

    out: list[float] = []
    for i, b in enumerate(residuals):
        if b.size >= _MIN_PER_BIN:
            out.append(q(b))
        elif i > 0 and out:
            out.append(out[-1])
        else:
            out.append(q(pooled))
    # bin 0 (no support) may lack residuals: never narrower than the widest bin
    if residuals[0].size < _MIN_PER_BIN:
        out[0] = max(out)
    # more support never widens the interval
    for i in range(1, len(out)):
        out[i] = min(out[i], out[i - 1])
    return out


def _index(items: list[Hashable], extra: Mapping[Hashable, Any]) -> dict[Hashable, int]:
    index: dict[Hashable, int] = {}
    for x in [*items, *extra]:
        if x not in index:
            index[x] = len(index)
    return index


def _feature_matrix(
    index: Mapping[Hashable, int], feats: Mapping[Hashable, Sequence[float]]
) -> np.ndarray:
    """Rows of [1, features...] for featured items; NaN rows for the others."""
    dims = {len(v) for v in feats.values()}
    if len(dims) > 1:
        raise DataError("all feature vectors must have the same length")
    d = dims.pop() if dims else 0
    out = np.full((len(index), d + 1), np.nan)
    for key, vec in feats.items():
        arr = np.asarray(vec, dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            raise DataError(f"features of {key!r} must be finite")
        out[index[key]] = np.concatenate([[1.0], arr])
    return out


def _prior_means(params: np.ndarray, feats: np.ndarray, seen_idx: np.ndarray) -> np.ndarray:
    """Ridge-regress observed params on features; prior mean 0 for unfeatured items."""
    prior = np.zeros_like(params)
    if feats.shape[1] <= 1:
        return prior
    has = ~np.isnan(feats[:, 0])
    seen = np.zeros(len(params), dtype=bool)
    seen[seen_idx] = True
    fit_on = has & seen
    if fit_on.sum() < feats.shape[1] + 2:
        return prior
    X = feats[fit_on]
    A = X.T @ X + 1e-2 * np.eye(X.shape[1])
    W = np.linalg.solve(A, X.T @ params[fit_on])
    prior[has] = feats[has] @ W
    return prior


def _design(other: np.ndarray) -> np.ndarray:
    X = other.copy()
    X[:, 0] = 1.0
    return X


def _raw(P: np.ndarray, Q: np.ndarray, r: np.ndarray, c: np.ndarray) -> np.ndarray:
    return np.asarray(P[r, 0] + Q[c, 0] + np.einsum("ij,ij->i", P[r, 1:], Q[c, 1:]))


def _ridge_update(
    idx: np.ndarray, n: int, target: np.ndarray, X: np.ndarray, lam: np.ndarray, prior: np.ndarray
) -> np.ndarray:
    """Solve, for every group g, (X_g'X_g + diag(lam)) p = X_g't_g + diag(lam) prior_g."""
    d = X.shape[1]
    A = np.empty((n, d, d))
    for i in range(d):
        for j in range(i, d):
            A[:, i, j] = A[:, j, i] = np.bincount(idx, weights=X[:, i] * X[:, j], minlength=n)
    A += np.diag(lam)[None]
    b = np.stack(
        [np.bincount(idx, weights=X[:, i] * target, minlength=n) for i in range(d)], axis=1
    )
    b += prior * lam[None]
    return np.linalg.solve(A, b[..., None])[..., 0]
