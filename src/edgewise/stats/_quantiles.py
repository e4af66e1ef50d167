"""Sample quantiles and distribution-free (order-statistic) confidence intervals.

The quantile definition is the order statistic ``x_(ceil(q*n))`` (numpy's
``inverted_cdf``); it is what LoadGen reports and what the binomial interval
below is exact for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edgewise._checks import is_int, is_number
from edgewise.errors import ConfigError, DataError

ArrayLike = Sequence[float] | np.ndarray

#: The percentiles every latency summary reports, keyed by their JSON names.
PERCENTILES: dict[str, float] = {
    "p50": 0.50,
    "p90": 0.90,
    "p95": 0.95,
    "p99": 0.99,
    "p999": 0.999,
}


def _as_sorted(values: ArrayLike, *, censored: bool = False) -> np.ndarray:
    arr = _as_floats(values, "values")
    if arr.size == 0:
        raise ConfigError("no values to summarise")
    ok = np.isfinite(arr) | (censored & (arr == np.inf))
    if not np.all(ok):
        raise ConfigError("values must be finite" + (" or +inf" if censored else ""))
    return np.sort(arr)


def _as_floats(values: ArrayLike, name: str) -> np.ndarray:
    """``values`` as a flat float array; a string or an object is refused by name."""
    try:
        return np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:  # "could not convert string to float: 'a'"
        raise DataError(f"{name} must be numbers ({exc})") from None


def _as_sorted_latencies(values_ms: ArrayLike) -> np.ndarray:
    """:func:`_as_sorted` for latencies, which cannot be negative."""
    xs = _as_sorted(values_ms)
    if xs[0] < 0.0:
        raise DataError(f"latencies cannot be negative, got {float(xs[0]):g} ms")
    return xs


def _check_unit(value: float, name: str) -> None:
    """``value`` is a number (not a bool or a string) in the open interval (0, 1)."""
    if not (is_number(value) and 0.0 < value < 1.0):
        raise ConfigError(f"{name} must be in (0, 1), got {value!r}")


def _check_q(q: float) -> None:
    _check_unit(q, "quantile level")


def quantile(values: ArrayLike, q: float, *, censored: bool = False) -> float:
    """The ``q`` quantile as the order statistic ``x_(ceil(q*n))``. With ``censored``,
    ``+inf`` stands for a value known only to exceed every other (a timeout).

    >>> quantile([3.0, 1.0, 2.0, 4.0], 0.5)
    2.0
    """
    _check_q(q)
    xs = _as_sorted(values, censored=censored)
    return float(xs[_rank(xs.size, q) - 1])


def _rank(n: int, q: float) -> int:
    """1-based rank of the ``q`` quantile among ``n`` sorted values."""
    return min(n, max(1, math.ceil(q * n - 1e-9)))


def order_statistic_bounds(n: int, q: float, confidence: float = 0.95) -> tuple[int, int]:
    """1-based ranks ``(l, u)`` with ``P(x_(l) <= xi_q <= x_(u)) >= confidence``.

    Exact for any continuous distribution: the number of sample values below the
    true quantile ``xi_q`` is Binomial(n, q). ``l == 0`` means the interval has no
    finite lower end; ``u == n + 1`` means no finite upper end (too few samples).
    Each tail gets at most ``(1 - confidence) / 2``.
    """
    _check_q(q)
    _check_unit(confidence, "confidence")
    if not is_int(n) or n < 0:
        raise ConfigError(f"n (the sample size) must be an integer >= 0, got {n!r}")
    half = (1.0 - confidence) / 2.0
    k = np.arange(n + 1)
    from scipy.special import bdtr  # binomial CDF; imported on use (scipy is slow to load)

    cdf = bdtr(k, n, q)  # P(B <= k)
    # P(x_(l) > xi) = P(B <= l-1) must be <= half: largest such l.
    lower = int(np.count_nonzero(cdf <= half))
    # P(x_(u) < xi) = P(B >= u) = 1 - P(B <= u-1) must be <= half: smallest such u.
    above = np.nonzero(cdf >= 1.0 - half)[0]
    upper = int(above[0]) + 1 if above.size else n + 1
    return lower, upper


def quantile_ci(
    values: ArrayLike, q: float, *, confidence: float = 0.95, censored: bool = False
) -> tuple[float, float]:
    """Distribution-free confidence interval for the ``q`` quantile.

    Returns ``(lo, hi)``; an end is ``-inf``/``inf`` when there are too few
    samples to bound it (or, with ``censored``, when it falls on a ``+inf``).

    >>> lo, hi = quantile_ci(range(1, 101), 0.5)
    >>> lo <= 50 <= hi
    True
    """
    xs = _as_sorted(values, censored=censored)
    lower, upper = order_statistic_bounds(xs.size, q, confidence)
    lo = float(xs[lower - 1]) if lower >= 1 else -math.inf
    hi = float(xs[upper - 1]) if upper <= xs.size else math.inf
    return lo, hi


@dataclass(frozen=True)
class LatencySummary:
    """Percentiles, mean and quantile CIs of a latency sample, in milliseconds.

    >>> s = LatencySummary.from_values([1.0, 2.0, 3.0, 4.0])
    >>> s.p50_ms, s.mean_ms, s.count
    (2.0, 2.5, 4)
    """

    count: int
    mean_ms: float
    min_ms: float
    max_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    p999_ms: float
    ci95: dict[str, tuple[float, float]]

    @classmethod
    def from_values(
        cls, values_ms: ArrayLike, *, ci_for: Sequence[str] = ("p50", "p90", "p99")
    ) -> LatencySummary:
        xs = _as_sorted_latencies(values_ms)
        pct = {name: float(xs[_rank(xs.size, q) - 1]) for name, q in PERCENTILES.items()}
        ci = {name: quantile_ci(xs, PERCENTILES[name]) for name in ci_for}
        return cls(
            count=int(xs.size),
            mean_ms=float(xs.mean()),
            min_ms=float(xs[0]),
            max_ms=float(xs[-1]),
            p50_ms=pct["p50"],
            p90_ms=pct["p90"],
            p95_ms=pct["p95"],
            p99_ms=pct["p99"],
            p999_ms=pct["p999"],
            ci95=ci,
        )

    def percentiles(self) -> dict[str, float]:
        """The JSON view: ``{"p50": ..., ..., "mean": ...}``."""
        return {
            "p50": self.p50_ms,
            "p90": self.p90_ms,
            "p95": self.p95_ms,
            "p99": self.p99_ms,
            "p999": self.p999_ms,
            "mean": self.mean_ms,
        }
