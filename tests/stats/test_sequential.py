"""Anytime-valid quantile confidence sequences, paired quantile tests and rate tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.special import logsumexp

from edgewise.errors import ConfigError, DataError, InputError
from edgewise.stats import (
    bernoulli_log_evalue,
    order_statistic_bounds,
    paired_quantile_log_evalue,
    paired_ratio_bounds,
    proportion_cs,
    proportion_log_evalues,
    quantile_cs,
    quantile_cs_ranks,
)

levels = st.sampled_from([0.1, 0.5, 0.9, 0.99])
alphas = st.sampled_from([0.01, 0.05, 0.2])
latency = st.one_of(
    st.floats(0.0, 100.0, allow_nan=False), st.just(math.inf), st.sampled_from([1.0, 2.0])
)


# -- the Bernoulli e-process ---------------------------------------------------


@pytest.mark.parametrize("alternative", ["greater", "less"])
@pytest.mark.parametrize("p0", [0.01, 0.5, 0.99])
@pytest.mark.parametrize("n", [1, 37, 400])
def test_evalue_has_mean_one_under_the_null(alternative, p0, n):
    # A mixture of likelihood ratios: E[e_n] = 1 exactly at p = p0, <= 1 inside the null.
    s = np.arange(n + 1)
    log_e = bernoulli_log_evalue(s, n, p0, alternative=alternative)
    mean = np.exp(logsumexp(sps.binom.logpmf(s, n, p0) + log_e))
    assert mean == pytest.approx(1.0, rel=1e-9)
    inside = p0 * 0.8 if alternative == "greater" else 1 - (1 - p0) * 0.8
    assert np.exp(logsumexp(sps.binom.logpmf(s, n, inside) + log_e)) < 1.0


@given(n=st.integers(1, 3000), p0=st.floats(0.001, 0.999), data=st.data())
def test_evalue_is_monotone_in_successes(n, p0, data):
    s = data.draw(st.integers(0, n - 1))
    up = bernoulli_log_evalue([s, s + 1], n, p0, alternative="greater")
    down = bernoulli_log_evalue([s, s + 1], n, p0, alternative="less")
    assert up[0] <= up[1]
    assert down[0] >= down[1]


def test_ville_bound_holds_over_a_long_stream():
    # P(e ever reaches 1/alpha) <= alpha, checked at every single step.
    rng = np.random.default_rng(7)
    alpha, n = 0.1, 2000
    hits = np.cumsum(rng.random((200, n)) < 0.3, axis=1)
    log_e = bernoulli_log_evalue(hits, np.arange(1, n + 1), 0.3)
    crossed = (log_e >= math.log(1 / alpha)).any(axis=1).mean()
    assert crossed <= alpha
    # ...while a true rate of 0.33 is detected in most streams.
    hits = np.cumsum(rng.random((200, n)) < 0.33, axis=1)
    log_e = bernoulli_log_evalue(hits, np.arange(1, n + 1), 0.3)
    assert (log_e >= math.log(1 / alpha)).any(axis=1).mean() > 0.5


# -- quantile confidence sequences ---------------------------------------------


def _crossings(xs: np.ndarray, truth: float, ranks: np.ndarray) -> np.ndarray:
    """Per stream: did [x_(lo), x_(hi)] ever miss ``truth`` at any n?"""
    below = np.cumsum(xs < truth, axis=1)  # x_(hi) < truth  <=>  below >= hi
    at_most = np.cumsum(xs <= truth, axis=1)  # x_(lo) > truth <=>  at_most < lo
    lo, hi = ranks[:, 0], ranks[:, 1]
    return ((below >= hi) | (at_most < lo)).any(axis=1)


@pytest.mark.parametrize("q", [0.5, 0.9])
def test_cs_covers_at_every_look_where_a_fixed_n_ci_does_not(q):
    rng = np.random.default_rng(11)
    alpha, n = 0.1, 800
    xs = rng.exponential(size=(600, n))
    truth = -math.log(1 - q)
    sizes = range(1, n + 1)
    cs_ranks = np.array([quantile_cs_ranks(k, q, alpha=alpha) for k in sizes])
    ci_ranks = np.array([order_statistic_bounds(k, q, 1 - alpha) for k in sizes])
    cs_miss = _crossings(xs, truth, cs_ranks).mean()
    ci_miss = _crossings(xs, truth, ci_ranks).mean()
    assert cs_miss <= alpha
    assert ci_miss > 2 * alpha  # peeking at a fixed-sample interval breaks it


@given(
    n=st.integers(0, 5000),
    q=levels,
    a1=alphas,
    a2=alphas,
    sides=st.sampled_from(["both", "lower", "upper"]),
)
def test_cs_ranks_widen_as_alpha_shrinks(n, q, a1, a2, sides):
    small, big = sorted((a1, a2))
    lo_s, hi_s = quantile_cs_ranks(n, q, alpha=small, sides=sides)
    lo_b, hi_b = quantile_cs_ranks(n, q, alpha=big, sides=sides)
    assert 0 <= lo_s <= lo_b and hi_b <= hi_s <= n + 1
    assert lo_b < hi_b
    if sides == "lower":
        assert hi_s == n + 1
    if sides == "upper":
        assert lo_s == 0


@settings(max_examples=60)
@given(values=st.lists(latency, min_size=1, max_size=300), q=levels, data=st.data())
def test_censoring_counts_as_infinitely_slow(values, q, data):
    lo, hi = quantile_cs(values, q, alpha=0.05)
    assert lo <= hi
    for bound in (lo, hi):
        assert bound in values or math.isinf(bound)
    i = data.draw(st.integers(0, len(values) - 1))
    slower = [*values[:i], math.inf, *values[i + 1 :]]
    lo2, hi2 = quantile_cs(slower, q, alpha=0.05)
    assert lo2 >= lo and hi2 >= hi


def test_cs_shrinks_towards_the_quantile():
    rng = np.random.default_rng(3)
    xs = rng.lognormal(size=50_000)
    lo, hi = quantile_cs(xs, 0.5, alpha=0.05)
    assert lo < 1.0 < hi
    assert hi / lo < 1.06


# -- the paired quantile test --------------------------------------------------


def _brute_force(p, c, *, ratio, lo, hi, alternative):
    b = c / ratio
    keys = np.concatenate([[lo, hi], p, b, np.nextafter(p, np.inf), np.nextafter(b, np.inf)])
    xs = np.unique(keys)
    best = math.inf
    for x in xs[(xs >= lo) & (xs <= hi)]:
        if alternative == "greater":
            d = (b <= x).astype(int) - (p < x).astype(int)
            s, f = np.sum(d == -1), np.sum(d == 1)
        else:
            d = (b < x).astype(int) - (p <= x).astype(int)
            s, f = np.sum(d == 1), np.sum(d == -1)
        best = min(best, float(bernoulli_log_evalue(s, s + f, 0.5)))
    return best


@settings(max_examples=80)
@given(
    pairs=st.lists(st.tuples(latency, latency), min_size=1, max_size=40),
    ratio=st.sampled_from([0.5, 1.0, 1.1, 2.0]),
    ends=st.tuples(latency, latency),
    alternative=st.sampled_from(["greater", "less"]),
)
def test_paired_evalue_is_the_minimum_over_the_whole_interval(pairs, ratio, ends, alternative):
    p, c = (np.array(x, dtype=float) for x in zip(*pairs, strict=True))
    lo, hi = sorted(ends)
    got = paired_quantile_log_evalue(p, c, ratio=ratio, lo_ms=lo, hi_ms=hi, alternative=alternative)
    want = _brute_force(p, c, ratio=ratio, lo=lo, hi=hi, alternative=alternative)
    assert got == pytest.approx(want, abs=1e-9)


@settings(max_examples=60)
@given(
    pairs=st.lists(st.tuples(latency, latency), min_size=1, max_size=60),
    r1=st.floats(0.3, 3.0),
    r2=st.floats(0.3, 3.0),
    data=st.data(),
)
def test_paired_evalue_monotone_in_ratio_and_censoring(pairs, r1, r2, data):
    p, c = (np.array(x, dtype=float) for x in zip(*pairs, strict=True))
    lo, hi = np.quantile(p[np.isfinite(p)], [0.3, 0.7]) if np.isfinite(p).any() else (1.0, 2.0)
    small, big = sorted((r1, r2))

    def e(cand, ratio, alt):
        return paired_quantile_log_evalue(p, cand, ratio=ratio, lo_ms=lo, hi_ms=hi, alternative=alt)

    assert e(c, small, "greater") >= e(c, big, "greater")
    assert e(c, small, "less") <= e(c, big, "less")
    i = data.draw(st.integers(0, len(c) - 1))
    timed_out = c.copy()
    timed_out[i] = math.inf
    assert e(timed_out, small, "greater") >= e(c, small, "greater")
    assert e(timed_out, small, "less") <= e(c, small, "less")


def _correlated(rng, n, streams, *, scale):
    z = rng.standard_normal((streams, n))
    noise = lambda: math.sqrt(0.15) * rng.standard_normal((streams, n))  # noqa: E731
    p = np.exp(0.5 * (math.sqrt(0.85) * z + noise()))
    c = scale * np.exp(0.5 * (math.sqrt(0.85) * z + noise()))
    return p, c


def _ever_rejects(p, c, *, q, ratio, alpha_loc, alpha_test, alternative, looks):
    thr = math.log(1 / alpha_test)
    for n in looks:
        lo, hi = quantile_cs(p[:n], q, alpha=alpha_loc)
        e = paired_quantile_log_evalue(
            p[:n], c[:n], ratio=ratio, lo_ms=lo, hi_ms=hi, alternative=alternative
        )
        if e >= thr:
            return True
    return False


@pytest.mark.parametrize("q", [0.5, 0.9])
def test_paired_test_keeps_alpha_at_the_boundary_and_has_power(q):
    # Boundary null: the candidate's quantile is exactly 1.1x production's.
    rng = np.random.default_rng(5)
    alpha_loc, alpha_test, looks = 0.05, 0.1, range(200, 1601, 200)
    p, c = _correlated(rng, 1600, 100, scale=1.1)
    kw = dict(q=q, ratio=1.1, alpha_loc=alpha_loc, alpha_test=alpha_test, looks=looks)
    fails = [_ever_rejects(p[i], c[i], alternative="greater", **kw) for i in range(len(p))]
    passes = [_ever_rejects(p[i], c[i], alternative="less", **kw) for i in range(len(p))]
    assert np.mean(fails) <= alpha_loc + alpha_test
    assert np.mean(passes) <= alpha_loc + alpha_test
    p, c = _correlated(rng, 1600, 20, scale=1.5)
    power = [_ever_rejects(p[i], c[i], alternative="greater", **kw) for i in range(len(p))]
    assert np.mean(power) >= 0.9


def test_ratio_bounds_bracket_the_true_ratio_and_match_the_tests():
    rng = np.random.default_rng(9)
    p, c = _correlated(rng, 20_000, 1, scale=1.3)
    p, c = p[0], c[0]
    lo, hi = quantile_cs(p, 0.5, alpha=0.01)
    r_lo, r_hi = paired_ratio_bounds(p, c, lo_ms=lo, hi_ms=hi, alpha_lower=0.02, alpha_upper=0.02)
    assert 1.2 < r_lo < 1.3 < r_hi < 1.4
    kw = dict(lo_ms=lo, hi_ms=hi)
    assert paired_quantile_log_evalue(p, c, ratio=r_lo * 0.99, alternative="greater", **kw) >= (
        math.log(50)
    )
    assert paired_quantile_log_evalue(p, c, ratio=r_lo * 1.01, alternative="greater", **kw) < (
        math.log(50)
    )


# -- rates ---------------------------------------------------------------------


@given(n=st.integers(1, 20_000), data=st.data())
def test_proportion_cs_contains_the_estimate(n, data):
    k = data.draw(st.integers(0, n))
    lo, hi = proportion_cs(k, n, alpha_lower=0.025, alpha_upper=0.025)
    assert 0.0 <= lo <= k / n <= hi <= 1.0


def test_rate_tests_decide_both_ways():
    assert proportion_log_evalues(0, 3000, 0.01)[1] >= math.log(20)  # clearly below 1%
    assert proportion_log_evalues(90, 3000, 0.01)[0] >= math.log(20)  # clearly above 1%
    up, down = proportion_log_evalues(3, 300, 0.01)
    assert up < math.log(20) and down < math.log(20)  # not yet sure


# -- bad parameters ------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: quantile_cs_ranks(10, 0.5, alpha=0.0),
        lambda: quantile_cs_ranks(10, 0.5, alpha=1.0),
        lambda: quantile_cs_ranks(10, 0.5, alpha=float("nan")),
        lambda: quantile_cs_ranks(10, 1.0, alpha=0.05),
        lambda: quantile_cs_ranks(10, 0.5, alpha=0.05, sides="left"),
        lambda: quantile_cs_ranks(-1, 0.5, alpha=0.05),
        lambda: quantile_cs([1.0, float("nan")], 0.5, alpha=0.05),
        lambda: bernoulli_log_evalue(1, 2, 0.0),
        lambda: bernoulli_log_evalue(1, 2, 0.5, alternative="two-sided"),
        lambda: paired_quantile_log_evalue(
            [1.0], [1.0], ratio=0.0, lo_ms=0, hi_ms=1, alternative="greater"
        ),
        lambda: paired_quantile_log_evalue(
            [1.0], [1.0, 2.0], ratio=1.1, lo_ms=0, hi_ms=1, alternative="greater"
        ),
        lambda: paired_quantile_log_evalue(
            [1.0], [1.0], ratio=1.1, lo_ms=0, hi_ms=1, alternative="worse"
        ),
        lambda: proportion_cs(5, 3, alpha_lower=0.05, alpha_upper=0.05),
        lambda: proportion_cs(1, 3, alpha_lower=0.0, alpha_upper=0.05),
        # found by a hunt: numbers (or a raw TypeError/ValueError) came back
        lambda: proportion_log_evalues(5, 3, 0.5),
        lambda: proportion_log_evalues(-1, 3, 0.5),
        lambda: proportion_log_evalues("1", 3, 0.5),
        lambda: proportion_cs("1", 3, alpha_lower=0.05, alpha_upper=0.05),
        lambda: proportion_cs(1.5, 3, alpha_lower=0.05, alpha_upper=0.05),
        lambda: bernoulli_log_evalue(5, 3, 0.5),
        lambda: bernoulli_log_evalue([1, 4], [3, 3], 0.5),
        lambda: bernoulli_log_evalue("a", 3, 0.5),
        lambda: quantile_cs_ranks(2.5, 0.5, alpha=0.05),
        lambda: quantile_cs_ranks("10", 0.5, alpha=0.05),
        lambda: order_statistic_bounds(-1, 0.5),
        lambda: order_statistic_bounds(2.5, 0.5),
        lambda: order_statistic_bounds(True, 0.5),
    ],
)
def test_bad_parameters_raise_config_error(call):
    with pytest.raises(ConfigError) as info:
        call()
    assert isinstance(info.value, InputError)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: proportion_log_evalues(5, 3, 0.5), "need 0 <= successes <= trials, got 5 of 3"),
        (lambda: proportion_log_evalues(-1, 3, 0.5), "need 0 <= successes <= trials, got -1 of 3"),
        (lambda: bernoulli_log_evalue([1, 4], [3, 3], 0.5), "got 4 of 3"),
        (lambda: proportion_cs(1.5, 3, alpha_lower=0.05, alpha_upper=0.05), "got 1.5 of 3"),
        (lambda: quantile_cs_ranks(2.5, 0.5, alpha=0.05), r"n \(the sample size\) .* got 2\.5"),
        (lambda: order_statistic_bounds(-1, 0.5), r"integer >= 0, got -1"),
    ],
)
def test_bad_counts_name_the_values(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_zero_samples_have_no_bounds_in_both_rank_functions():
    """n = 0 is a sample size: no finite end on either side (l = 0, u = n + 1 = 1)."""
    assert order_statistic_bounds(0, 0.5) == (0, 1)
    assert quantile_cs_ranks(0, 0.5, alpha=0.05) == (0, 1)


@pytest.mark.parametrize(
    "call",
    [
        lambda: quantile_cs([1.0, -2.0], 0.5, alpha=0.05),
        lambda: quantile_cs([1.0, -math.inf], 0.5, alpha=0.05),
        lambda: paired_quantile_log_evalue(
            [1.0, -1.0], [1.0, 1.0], ratio=1.1, lo_ms=0, hi_ms=1, alternative="greater"
        ),
        lambda: paired_ratio_bounds(
            [1.0, 1.0], [1.0, -1.0], lo_ms=0, hi_ms=1, alpha_lower=0.05, alpha_upper=0.05
        ),
    ],
)
def test_negative_latencies_are_a_data_error(call):
    with pytest.raises(DataError, match="cannot be negative"):
        call()


def test_latencies_that_are_not_numbers_are_a_data_error():
    with pytest.raises(DataError, match="values must be numbers .*'x'"):
        quantile_cs(["x"], 0.5, alpha=0.05)
