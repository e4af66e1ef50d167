from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewise.errors import ConfigError, DataError
from edgewise.stats import (
    DriftCheck,
    LatencySummary,
    LogHistogram,
    early_stopping_estimate,
    min_queries_for_early_stopping,
    order_statistic_bounds,
    quantile,
    quantile_ci,
)
from edgewise.stats._early_stopping import _max_overlatency

samples = st.lists(
    st.floats(min_value=1e-3, max_value=1e4, allow_nan=False), min_size=1, max_size=400
)
levels = st.sampled_from([0.5, 0.9, 0.95, 0.99, 0.999])


@given(samples, levels)
def test_quantile_is_a_sample_value_with_the_right_rank(xs: list[float], q: float) -> None:
    v = quantile(xs, q)
    assert v in xs
    below = sum(x < v for x in xs)
    at_or_below = sum(x <= v for x in xs)
    assert below < math.ceil(q * len(xs) - 1e-9) <= at_or_below


@given(samples, levels)
def test_ci_brackets_the_point_estimate(xs: list[float], q: float) -> None:
    lo, hi = quantile_ci(xs, q)
    assert lo <= quantile(xs, q) <= hi


@given(st.integers(min_value=1, max_value=3000), levels)
@settings(deadline=None)
def test_order_statistic_bounds_have_the_promised_coverage(n: int, q: float) -> None:
    from scipy import stats

    lower, upper = order_statistic_bounds(n, q, 0.95)
    assert 0 <= lower < upper <= n + 1
    # exact coverage of [x_(l), x_(u)] is P(l <= B <= u-1), B ~ Binomial(n, q)
    lo_tail = stats.binom.cdf(lower - 1, n, q) if lower >= 1 else 0.0
    hi_tail = 1 - stats.binom.cdf(upper - 1, n, q) if upper <= n else 0.0
    assert lo_tail <= 0.025 + 1e-12 and hi_tail <= 0.025 + 1e-12


def test_ci_coverage_by_simulation() -> None:
    rng = np.random.default_rng(7)
    true_p90 = float(np.exp(0.5 * 1.2815515655446004))  # lognormal(0, 0.5) p90
    hits = 0
    trials = 2000
    for _ in range(trials):
        lo, hi = quantile_ci(rng.lognormal(0, 0.5, size=200), 0.9)
        hits += lo <= true_p90 <= hi
    assert hits / trials >= 0.93  # nominal 0.95, conservative by construction


def test_small_samples_have_unbounded_ends() -> None:
    lo, hi = quantile_ci([1.0, 2.0, 3.0], 0.99)
    assert math.isinf(hi)
    assert lo >= 1.0 or math.isinf(lo)


def test_summary_fields() -> None:
    s = LatencySummary.from_values(np.arange(1, 1001, dtype=float))
    assert (s.p50_ms, s.p90_ms, s.p99_ms, s.p999_ms) == (500, 900, 990, 999)
    assert s.mean_ms == pytest.approx(500.5)
    assert set(s.ci95) == {"p50", "p90", "p99"}
    assert s.percentiles()["mean"] == s.mean_ms


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [float("inf")]])
def test_bad_values_are_rejected(bad: list[float]) -> None:
    with pytest.raises(ConfigError):
        LatencySummary.from_values(bad)


@pytest.mark.parametrize("q", [0.0, 1.0, -0.1, 2.0])
def test_bad_levels_are_rejected(q: float) -> None:
    with pytest.raises(ConfigError):
        quantile([1.0, 2.0], q)


def test_early_stopping_minimum_matches_loadgen() -> None:
    # LoadGen's SingleStream summary says "Processed at least 64 queries" for the p90.
    assert min_queries_for_early_stopping(0.90) == 64
    assert early_stopping_estimate(np.ones(63), 0.90) is None
    assert early_stopping_estimate(np.ones(64), 0.90) == 1.0


# (queries, "would discard" count) pairs printed by LoadGen 6.0 SingleStream summaries on this
# machine; LoadGen discards t - 1 of the slowest queries and reports the next one.
@pytest.mark.parametrize("n, discarded", [(9431, 874), (1296, 103)])
def test_early_stopping_discard_count_matches_loadgen(n: int, discarded: int) -> None:
    assert _max_overlatency(n, 0.90, 0.99) - 1 == discarded


@given(st.lists(st.floats(min_value=0.01, max_value=100), min_size=64, max_size=2000))
@settings(max_examples=50)
def test_early_stopping_is_conservative(xs: list[float]) -> None:
    est = early_stopping_estimate(xs, 0.90)
    assert est is not None and est >= quantile(xs, 0.90)


def test_drift_detects_a_slowdown_and_not_noise() -> None:
    rng = np.random.default_rng(1)
    steady = rng.lognormal(0, 0.1, size=900)
    assert DriftCheck.from_values(steady).drifted is False
    slowing = steady * np.linspace(1.0, 1.5, steady.size)
    check = DriftCheck.from_values(slowing)
    assert check.drifted and check.slowdown > 0.2
    assert DriftCheck.from_values(steady[:10]) is None


@given(st.lists(st.floats(min_value=1e-4, max_value=1e5), min_size=1, max_size=300))
def test_histogram_keeps_every_value(xs: list[float]) -> None:
    h = LogHistogram.from_values(xs)
    assert sum(h.counts) == len(xs)
    assert len(h.edges_ms) == len(h.counts) + 1
    assert h.edges_ms[0] <= min(xs) * 1.0001 and h.edges_ms[-1] >= max(xs) / 1.0001


def test_censored_values_count_as_slower_than_all() -> None:
    """A timeout is +inf with ``censored``: it ranks above every answer (so the median is
    the 51st of 102 values), reaches the upper quantiles, and is refused without the flag
    (NaN and -inf either way)."""
    xs = [1.0, 2.0, 3.0, 4.0] * 25 + [math.inf] * 2
    assert quantile(xs, 0.5, censored=True) == 3.0
    assert quantile(xs, 0.99, censored=True) == math.inf
    lo, hi = quantile_ci(xs, 0.99, censored=True)
    assert lo == 4.0 and hi == math.inf
    for bad in ([1.0, math.inf], [1.0, math.nan], [1.0, -math.inf]):
        with pytest.raises(ConfigError, match="finite"):
            quantile(bad, 0.5, censored=bad[1] != math.inf)


# found by a hunt: a negative latency gave a summary with a negative p50 (and a histogram
# that counted it in its lowest bin); the generic quantile() still takes any real value
@pytest.mark.parametrize(
    "summarise",
    [
        LatencySummary.from_values,
        LogHistogram.from_values,
        lambda xs: early_stopping_estimate(xs, 0.9),
        DriftCheck.from_values,
    ],
)
def test_negative_latencies_are_a_data_error(summarise) -> None:  # type: ignore[no-untyped-def]
    xs = [1.0] * 99 + [-0.5]
    with pytest.raises(DataError, match="latencies cannot be negative, got -0.5 ms"):
        summarise(xs)


def test_quantile_of_signed_values_is_still_computed() -> None:
    assert quantile([-3.0, -1.0, 2.0], 0.5) == -1.0
    assert quantile_ci([-3.0, -1.0, 2.0], 0.5) == (-math.inf, math.inf)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: quantile([1.0, 2.0], "0.5"), r"quantile level must be in \(0, 1\), got '0.5'"),
        (lambda: quantile([1.0, 2.0], None), r"quantile level must be in \(0, 1\), got None"),
        (lambda: quantile_ci([1.0, 2.0], 0.5, confidence="0.9"), "confidence must be in"),
        (lambda: early_stopping_estimate([1.0] * 99, "0.9"), "percentile must be in"),
        (lambda: order_statistic_bounds("5", 0.5), "n \\(the sample size\\) must be an integer"),
        (lambda: order_statistic_bounds(0.5, 0.5, True), "confidence must be in"),
    ],
)
def test_levels_and_sizes_of_the_wrong_type_are_config_errors(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message):
        call()


@pytest.mark.parametrize("bad", [["a", "b"], [1.0, "x"], [object()]])
def test_values_that_are_not_numbers_are_a_data_error(bad: list) -> None:
    with pytest.raises(DataError, match="values must be numbers"):
        quantile(bad, 0.5)
    with pytest.raises(DataError, match="values must be numbers"):
        LatencySummary.from_values(bad)
