"""The conformal quantile: exact rank, infinite with too few scores, valid coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewise.errors import ConfigError
from edgewise.stats import conformal_quantile


def test_rank_and_too_few_scores() -> None:
    scores = np.arange(1, 20, dtype=float)  # n = 19: rank ceil(20 * 0.9) = 18
    assert conformal_quantile(scores, alpha=0.1) == 18.0
    assert conformal_quantile(scores[:8], alpha=0.1) == math.inf
    with pytest.raises(ConfigError):
        conformal_quantile(scores, alpha=1.5)
    with pytest.raises(ConfigError):
        conformal_quantile([1.0, float("nan")], alpha=0.1)


@pytest.mark.parametrize("alpha", [None, "0.1", True])
def test_an_alpha_that_is_not_a_number_is_a_config_error(alpha: object) -> None:
    # found by a hunt: None and "0.1" raised a TypeError (the predictor's intervals too)
    with pytest.raises(ConfigError, match=r"alpha must be in \(0, 1\), got " + repr(alpha)):
        conformal_quantile([1.0, 2.0], alpha=alpha)  # type: ignore[arg-type]


def test_scores_that_are_not_numbers_are_a_data_error() -> None:
    from edgewise.errors import DataError

    with pytest.raises(DataError, match="conformal scores must be numbers"):
        conformal_quantile(["a", "b"], alpha=0.1)


@settings(max_examples=20, deadline=None)
@given(
    st.integers(min_value=20, max_value=200),
    st.sampled_from([0.05, 0.1, 0.2]),
    st.integers(min_value=0, max_value=10_000),
)
def test_marginal_coverage_is_at_least_nominal(n: int, alpha: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    trials = 400
    cal = rng.standard_exponential((trials, n))
    new = rng.standard_exponential(trials)
    hits = [new[t] <= conformal_quantile(cal[t], alpha=alpha) for t in range(trials)]
    # coverage is >= 1 - alpha in expectation; allow 4 binomial SDs for the finite trials
    assert np.mean(hits) >= 1 - alpha - 4 * math.sqrt(alpha * (1 - alpha) / trials)
