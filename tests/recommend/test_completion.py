"""The completion model on synthetic low-rank data, where the truth is known."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewise.errors import DataError, NotFittedError
from edgewise.recommend import LowRankCompleter


def _low_rank(seed: int, *, n_rows: int = 30, n_cols: int = 80, noise: float = 0.05):
    rng = np.random.default_rng(seed)
    u, v = rng.normal(size=(n_rows, 2)) * 0.5, rng.normal(size=(n_cols, 2)) * 0.5
    log_t = 1 + rng.normal(size=(n_rows, 1)) + 1.5 * rng.normal(size=(1, n_cols)) + u @ v.T
    return log_t + rng.normal(scale=noise, size=log_t.shape), rng


def test_recovers_hidden_cells_and_covers_them() -> None:
    log_t, rng = _low_rank(1)
    seen = rng.random(log_t.shape) < 0.5
    r, c = np.nonzero(seen)
    rt, ct = np.nonzero(~seen)
    model = LowRankCompleter(rank=2, reg=0.3, confidence=0.9).fit(r, c, np.exp(log_t[r, c]))
    true = np.exp(log_t[rt, ct])
    ape = np.abs(model.predict(rt, ct) - true) / true
    lo, hi = model.predict_interval(rt, ct)
    coverage = np.mean((true >= lo) & (true <= hi))
    # noise is 5% in log space: a good completion is within ~2x of it, a rank-0 fit is not
    assert np.median(ape) < 0.10
    rank0 = LowRankCompleter(rank=0, calibration_folds=0).fit(r, c, np.exp(log_t[r, c]))
    assert np.median(np.abs(rank0.predict(rt, ct) - true) / true) > np.median(ape)
    assert 0.8 <= coverage <= 0.99
    assert np.all(lo < hi)


def test_cold_column_is_placed_from_features() -> None:
    rng = np.random.default_rng(3)
    n_rows, n_cols = 20, 40
    feature = rng.uniform(0, 4, size=n_cols)  # e.g. log MACs
    slope = rng.uniform(0.5, 1.5, size=n_rows)  # each chip scales differently
    log_t = rng.normal(size=(n_rows, 1)) + slope[:, None] * feature[None, :]
    r, c = np.nonzero(np.ones((n_rows, n_cols - 1)))  # the last column is never observed
    feats = {j: [float(feature[j])] for j in range(n_cols)}
    model = LowRankCompleter(rank=1).fit(r, c, np.exp(log_t[r, c]), col_features=feats)
    rows = np.arange(n_rows)
    pred = model.predict(rows, [n_cols - 1] * n_rows)
    true = np.exp(log_t[:, -1])
    assert np.median(np.abs(pred - true) / true) < 0.25
    assert np.all(model.support(rows, [n_cols - 1] * n_rows) == 0)
    # no support: the widest interval
    assert model.halfwidths(np.array([0]))[0] >= model.halfwidths(np.array([20]))[0]


def test_contract_and_bad_input() -> None:
    model = LowRankCompleter()
    with pytest.raises(NotFittedError):
        model.predict([0], [0])
    with pytest.raises(DataError, match="> 0"):
        model.fit([0, 1], [0, 1], [1.0, -2.0])
    with pytest.raises(DataError, match="same length"):
        model.fit([0, 1], [0], [1.0, 2.0])
    assert model.fit([0, 1], [0, 1], [1.0, 2.0]) is model


@settings(max_examples=15, deadline=None)
@given(scale=st.floats(1e-3, 1e3), seed=st.integers(0, 10_000))
def test_predictions_scale_with_the_data(scale: float, seed: int) -> None:
    """Changing units (ms -> s) scales every prediction by the same factor."""
    log_t, rng = _low_rank(seed, n_rows=8, n_cols=12)
    seen = rng.random(log_t.shape) < 0.6
    r, c = np.nonzero(seen)
    a = LowRankCompleter(rank=1, calibration_folds=0).fit(r, c, np.exp(log_t[r, c]))
    b = LowRankCompleter(rank=1, calibration_folds=0).fit(r, c, scale * np.exp(log_t[r, c]))
    rt, ct = np.nonzero(~seen)
    if rt.size:
        np.testing.assert_allclose(b.predict(rt, ct), scale * a.predict(rt, ct), rtol=1e-6)
