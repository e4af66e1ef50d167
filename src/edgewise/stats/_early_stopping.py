"""The MLPerf LoadGen early-stopping percentile estimate.

LoadGen (``loadgen/early_stopping.cc`` and ``results.cc``) asks: with ``n``
queries, how many of the slowest may be discarded while still claiming, with
confidence ``c``, that the true ``p`` quantile is at most the reported value?
It finds the largest ``t`` such that the minimum number ``h`` of passing
queries needed for ``t`` over-latency queries satisfies ``h + t <= n``, and
reports the sorted latency at 0-based index ``n - t``.

``h(t)`` is the least ``h`` with ``P(Binomial(h + t, 1 - p) <= t) <= 1 - c``;
``h(t) + t <= n`` is equivalent to ``P(Binomial(n, 1 - p) <= t) <= 1 - c``,
which lets us compute ``t`` in one vectorised step.
"""

from __future__ import annotations

import numpy as np

from edgewise.stats._quantiles import ArrayLike, _as_sorted_latencies, _check_unit

#: LoadGen's defaults: 99% confidence, zero tolerance.
EARLY_STOPPING_CONFIDENCE = 0.99


def _max_overlatency(n: int, percentile: float, confidence: float) -> int:
    """Largest ``t`` LoadGen accepts for ``n`` queries; 0 when too few queries."""
    k = np.arange(n + 1)
    from scipy.special import bdtr  # binomial CDF; imported on use (scipy is slow to load)

    cdf = bdtr(k, n, 1.0 - percentile)
    return int(np.count_nonzero(cdf <= 1.0 - confidence)) - 1


def min_queries_for_early_stopping(
    percentile: float, *, confidence: float = EARLY_STOPPING_CONFIDENCE
) -> int:
    """Fewest queries for which an early-stopping estimate exists (LoadGen's ``h_min + 1``).

    >>> min_queries_for_early_stopping(0.90)
    64
    """
    _check(percentile, confidence)
    n = 1
    while _max_overlatency(n, percentile, confidence) < 1:
        n = n * 2
    lo, hi = n // 2, n
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if _max_overlatency(mid, percentile, confidence) >= 1:
            hi = mid
        else:
            lo = mid
    return hi


def early_stopping_estimate(
    values: ArrayLike,
    percentile: float,
    *,
    confidence: float = EARLY_STOPPING_CONFIDENCE,
) -> float | None:
    """LoadGen's early-stopping estimate of the ``percentile`` latency, or None.

    None means there are too few samples (see :func:`min_queries_for_early_stopping`).
    The estimate is conservative: an upper confidence bound for the true quantile.
    """
    _check(percentile, confidence)
    xs = _as_sorted_latencies(values)
    n = int(xs.size)
    t = _max_overlatency(n, percentile, confidence)
    if t < 1:
        return None
    return float(xs[n - t])


def _check(percentile: float, confidence: float) -> None:
    _check_unit(percentile, "percentile")
    _check_unit(confidence, "confidence")
