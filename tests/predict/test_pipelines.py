"""The per-device candidate models on data whose answer is known."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from edgewise.predict._pipelines import GbmParams, UsedKernelPipeline, pipeline_from_state


def _counts(rng: np.random.Generator, n: int) -> np.ndarray:
    # columns: o:conv, o:pool, d:conv, d:pool (used and dead copies of two kernels)
    return rng.integers(0, 6, size=(n, 4)).astype(float) + np.array([1, 0, 0, 0])


def test_kernel_used_recovers_per_kernel_costs_and_ignores_an_outlier() -> None:
    rng = np.random.default_rng(0)
    s = _counts(rng, 200)
    cost = np.array([2.0, 0.5, 0.0, 0.1])  # a pruning runtime: dead convs cost nothing
    y = s @ cost + 0.3
    y_meas = y.copy()
    y_meas[7] *= 4  # one wild measurement
    p = UsedKernelPipeline(GbmParams()).fit(None, sparse.csr_matrix(s), np.log(y_meas))
    np.testing.assert_allclose(p.coef, cost, atol=2e-4)  # Huber: the outlier barely pulls
    np.testing.assert_allclose(p.intercept, 0.3, atol=2e-4)
    pred = np.exp(p.predict(None, sparse.csr_matrix(s)))
    np.testing.assert_allclose(np.delete(pred, 7), np.delete(y, 7), rtol=1e-4)
    assert (p.coef >= 0).all()
    # JSON state round-trips to the same predictions
    q = pipeline_from_state(p.state(), GbmParams())
    np.testing.assert_array_equal(q.predict(None, s), p.predict(None, s))


def test_kernel_used_without_robust_rounds_is_pulled_by_the_outlier() -> None:
    # the check above can fail: plain relative least squares does not recover the costs
    rng = np.random.default_rng(0)
    s = _counts(rng, 200)
    y = s @ np.array([2.0, 0.5, 0.0, 0.1]) + 0.3
    y[7] *= 4
    p = UsedKernelPipeline(GbmParams(), rounds=0).fit(None, s, np.log(y))
    assert np.max(np.abs(p.coef - [2.0, 0.5, 0.0, 0.1])) > 2e-3
