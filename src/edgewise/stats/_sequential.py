"""Anytime-valid confidence sequences and sequential tests for quantiles and rates.

Every bound here holds *uniformly over time*: with probability at least
``1 - alpha`` it is right at every sample size at once, so it may be looked at
after every request and acted on whenever it decides (Ville's inequality).

The building block is a one-sided e-process for a Bernoulli(p0) stream: a
mixture, over a fixed geometric grid of alternatives ``r``, of the likelihood
ratios ``(r/p0)^s ((1-r)/(1-p0))^(n-s)``. Under the null it is a nonnegative
(super)martingale with mean 1, so it ever reaches ``1/alpha`` with probability
at most ``alpha``.

* Quantile confidence sequences (Howard & Ramdas, "Sequential estimation of
  quantiles with applications to A/B-testing and best-arm identification",
  Thm. 1): ``#{X_i < xi_q}`` is a Bernoulli(<= q) count, so the ranks where the
  e-process stays below ``1/alpha`` give order statistics that bracket
  ``xi_q`` at all times. The ranks depend only on ``(n, q, alpha)``.
* A paired test of ``xi_q(candidate) > ratio * xi_q(production)``: a sign test on
  the per-request indicators ``1{C_i <= ratio*x} - 1{P_i < x}``, evaluated at
  every ``x`` in a confidence sequence for production's quantile (see
  ``docs/judge.md`` for the proof).

>>> lo, hi = quantile_cs_ranks(1000, 0.5, alpha=0.05)
>>> 400 < lo < 500 < hi < 600
True
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from edgewise._checks import is_int
from edgewise.errors import ConfigError, DataError
from edgewise.stats._quantiles import _as_floats

ArrayLike = Sequence[float] | np.ndarray
Alternative = Literal["greater", "less"]
Sides = Literal["both", "lower", "upper"]

#: Effect sizes of the mixture, in standard deviations of one Bernoulli(p0) draw.
_ETA_GRID = np.geomspace(0.01, 1.0, 12)
#: Alternatives stay this fraction of the way from p0 to the end of [0, 1].
_MAX_STEP = 0.95


def _check_alpha(alpha: float, name: str = "alpha") -> None:
    if not (isinstance(alpha, float | int) and 0.0 < alpha < 1.0):
        raise ConfigError(f"{name} must be in (0, 1), got {alpha!r}")


def _check_level(p0: float, name: str) -> None:
    if not (isinstance(p0, float | int) and 0.0 < p0 < 1.0):
        raise ConfigError(f"{name} must be in (0, 1), got {p0!r}")


def _check_counts(successes: int, trials: int) -> None:
    """Integer counts with ``0 <= successes <= trials`` (as :func:`proportion_cs` needs)."""
    if not (is_int(successes) and is_int(trials)):
        raise ConfigError(f"successes and trials must be integers, got {successes!r} of {trials!r}")
    if trials < 0 or not 0 <= successes <= trials:
        raise ConfigError(f"need 0 <= successes <= trials, got {successes} of {trials}")


@functools.lru_cache(maxsize=256)
def _log_ratios(p0: float, alternative: Alternative) -> tuple[np.ndarray, np.ndarray]:
    """Per-success and per-failure log likelihood ratios of the grid alternatives."""
    sd = math.sqrt(p0 * (1.0 - p0))
    if alternative == "greater":
        r = np.minimum(p0 + _ETA_GRID * sd, p0 + _MAX_STEP * (1.0 - p0))
    else:
        r = np.maximum(p0 - _ETA_GRID * sd, p0 - _MAX_STEP * p0)
    win = np.log(r / p0)
    lose = np.log((1.0 - r) / (1.0 - p0))
    win.setflags(write=False)
    lose.setflags(write=False)
    return win, lose


def bernoulli_log_evalue(
    successes: ArrayLike | int,
    trials: ArrayLike | int,
    p0: float,
    *,
    alternative: Alternative = "greater",
) -> np.ndarray:
    """Log e-value against "success probability <= p0" ("greater") or ">= p0" ("less").

    Anytime-valid: under the null the probability that it *ever* reaches
    ``log(1/alpha)`` is at most ``alpha``. Vectorised over ``successes``/``trials``.

    >>> float(bernoulli_log_evalue(60, 100, 0.5)) > 0
    True
    >>> float(bernoulli_log_evalue(40, 100, 0.5)) < 0
    True
    """
    _check_level(p0, "p0")
    if alternative not in ("greater", "less"):
        raise ConfigError(f"alternative must be 'greater' or 'less', got {alternative!r}")
    try:
        s = np.asarray(successes, dtype=np.float64)
        n = np.asarray(trials, dtype=np.float64)
    except (TypeError, ValueError) as exc:  # "could not convert string to float: 'a'"
        raise ConfigError(f"successes and trials must be numbers ({exc})") from None
    bad = ~((s >= 0) & (s <= n))  # NaN is bad too
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        s_bad, n_bad = (a.flat[i] for a in np.broadcast_arrays(s, n))
        raise ConfigError(f"need 0 <= successes <= trials, got {s_bad:g} of {n_bad:g}")
    win, lose = _log_ratios(float(p0), alternative)
    return _mix(s[..., None] * win + (n - s)[..., None] * lose)


def _mix(terms: np.ndarray) -> np.ndarray:
    """log of the equal-weight mean of ``exp(terms)`` over the last axis."""
    top = np.max(terms, axis=-1, keepdims=True)
    total = np.log(np.sum(np.exp(terms - top), axis=-1)) + top[..., 0]
    return np.asarray(total - math.log(terms.shape[-1]))


def _split(alpha: float, sides: Sides) -> tuple[float, float]:
    """(alpha of the lower bound, alpha of the upper bound); 0 means no bound."""
    _check_alpha(alpha)
    if sides == "both":
        return alpha / 2.0, alpha / 2.0
    if sides == "lower":
        return alpha, 0.0
    if sides == "upper":
        return 0.0, alpha
    raise ConfigError(f"sides must be 'both', 'lower' or 'upper', got {sides!r}")


@functools.lru_cache(maxsize=8192)
def _rank_bounds(n: int, q: float, alpha_lo: float, alpha_hi: float) -> tuple[int, int]:
    lo, hi = 0, n + 1
    if alpha_hi > 0.0:
        # Largest s with e(s) < 1/alpha for "#{X < xi} <= q n": xi <= x_(s+1).
        thr = math.log(1.0 / alpha_hi)
        a, b = -1, n  # e(a) < thr known (a = -1 sentinel), search the last such s
        while a < b:
            mid = (a + b + 1) // 2
            if float(bernoulli_log_evalue(mid, n, q, alternative="greater")) < thr:
                a = mid
            else:
                b = mid - 1
        hi = a + 1
    if alpha_lo > 0.0:
        # Smallest s with e(s) < 1/alpha for "#{X <= xi} >= q n": xi >= x_(s).
        thr = math.log(1.0 / alpha_lo)
        a, b = 0, n + 1
        while a < b:
            mid = (a + b) // 2
            if float(bernoulli_log_evalue(mid, n, q, alternative="less")) < thr:
                b = mid
            else:
                a = mid + 1
        lo = a
    return lo, hi


def quantile_cs_ranks(n: int, q: float, *, alpha: float, sides: Sides = "both") -> tuple[int, int]:
    """1-based ranks ``(l, u)`` with ``x_(l) <= xi_q <= x_(u)`` at every ``n`` at once.

    Holds with probability ``>= 1 - alpha`` simultaneously over all sample sizes,
    for any distribution (atoms and ``+inf`` included). ``l == 0`` means no finite
    lower bound yet, ``u == n + 1`` no finite upper bound. ``sides="both"`` gives
    each side ``alpha/2``; "lower"/"upper" spend all of ``alpha`` on one side.

    >>> quantile_cs_ranks(10, 0.99, alpha=0.05)
    (8, 11)
    """
    _check_level(q, "quantile level")
    if not is_int(n) or n < 0:
        raise ConfigError(f"n (the sample size) must be an integer >= 0, got {n!r}")
    a_lo, a_hi = _split(alpha, sides)
    return _rank_bounds(int(n), float(q), a_lo, a_hi)


def _order_stat(xs: np.ndarray, rank: int) -> float:
    if rank < 1:
        return -math.inf
    if rank > xs.size:
        return math.inf
    return float(np.partition(xs, rank - 1)[rank - 1])


def _as_latencies(values: ArrayLike, name: str) -> np.ndarray:
    arr = _as_floats(values, name)
    if np.isnan(arr).any():
        raise ConfigError(f"{name} must not contain NaN (use +inf for a timeout)")
    if (arr < 0.0).any():  # -inf included
        raise DataError(f"{name} cannot be negative, got {float(arr.min()):g} ms")
    return arr


def quantile_cs(
    values: ArrayLike, q: float, *, alpha: float, sides: Sides = "both"
) -> tuple[float, float]:
    """Anytime-valid confidence bounds ``(lo, hi)`` for the ``q`` quantile.

    ``+inf`` values (timeouts) count as slower than everything, never dropped.

    >>> lo, hi = quantile_cs(np.arange(1.0, 2001.0), 0.5, alpha=0.05)
    >>> lo < 1000 < hi
    True
    """
    xs = _as_latencies(values, "values")
    lo_rank, hi_rank = quantile_cs_ranks(xs.size, q, alpha=alpha, sides=sides)
    return _order_stat(xs, lo_rank), _order_stat(xs, hi_rank)


def _min_sign_log_evalue(
    u: np.ndarray, v: np.ndarray, lo: float, hi: float, plus_extra: int = 0, minus_extra: int = 0
) -> float:
    """min over x in [lo, hi] of the sign-test log e-value for ``#{u<=x<v}`` vs ``#{v<=x<u}``.

    The counts are right-continuous step functions of x with jumps at the keys,
    so their minimum over [lo, hi] is attained at lo or at a key in (lo, hi].
    """
    u_in = (u > lo) & (u <= hi)
    v_in = (v > lo) & (v <= hi)
    active = u_in | v_in
    plus_const = plus_extra + int(np.count_nonzero((u <= lo) & (v > hi)))
    minus_const = minus_extra + int(np.count_nonzero((v <= lo) & (u > hi)))
    ua, va = u[active], v[active]
    points = np.unique(np.concatenate(([lo], ua[u_in[active]], va[v_in[active]])))
    # x = +inf is handled by the caller (a nextafter key of +inf stays +inf).
    points = points[points < math.inf]
    if points.size == 0:
        return math.inf
    su, sv, sk = np.sort(ua), np.sort(va), np.sort(np.maximum(ua, va))
    cu = np.searchsorted(su, points, side="right")
    cv = np.searchsorted(sv, points, side="right")
    ck = np.searchsorted(sk, points, side="right")
    plus = plus_const + cu - ck
    minus = minus_const + cv - ck
    log_e = bernoulli_log_evalue(plus, plus + minus, 0.5, alternative="greater")
    return float(np.min(log_e))


def paired_quantile_log_evalue(
    production_ms: ArrayLike,
    candidate_ms: ArrayLike,
    *,
    ratio: float,
    lo_ms: float,
    hi_ms: float,
    alternative: Alternative,
) -> float:
    """Paired log e-value about a quantile ratio, given production's CS ``[lo_ms, hi_ms]``.

    ``alternative="greater"`` is evidence that the candidate's quantile exceeds
    ``ratio`` times production's; "less" that it is at most ``ratio`` times.
    ``[lo_ms, hi_ms]`` must be an anytime-valid CS for production's quantile (the
    level is implicit); the test is then valid at level ``alpha_cs + alpha_test``.
    Candidate ``+inf`` (timeouts) count as infinitely slow.

    >>> import math
    >>> p = np.linspace(1.0, 2.0, 400)
    >>> paired_quantile_log_evalue(p, 2 * p, ratio=1.1, lo_ms=1.4, hi_ms=1.6,
    ...                            alternative="greater") > math.log(20)
    True
    """
    if not (isinstance(ratio, float | int) and math.isfinite(ratio) and ratio > 0.0):
        raise ConfigError(f"ratio must be a positive finite number, got {ratio!r}")
    p = _as_latencies(production_ms, "production_ms")
    c = _as_latencies(candidate_ms, "candidate_ms")
    if p.shape != c.shape:
        raise ConfigError(f"need paired samples, got {p.size} and {c.size} values")
    if alternative not in ("greater", "less"):
        raise ConfigError(f"alternative must be 'greater' or 'less', got {alternative!r}")
    if not lo_ms <= hi_ms:
        return 0.0
    b = c / ratio
    if alternative == "greater":
        # D = 1{b <= x} - 1{P < x}; bet on D = -1 (P below x, candidate above).
        found = _min_sign_log_evalue(np.nextafter(p, np.inf), b, lo_ms, hi_ms)
        at_inf = int(np.count_nonzero(np.isposinf(p)))  # at x = +inf only D = +1 occurs
    else:
        # D = 1{b < x} - 1{P <= x}; bet on D = +1 (candidate below x, P above).
        found = _min_sign_log_evalue(np.nextafter(b, np.inf), p, lo_ms, hi_ms)
        at_inf = int(np.count_nonzero(np.isposinf(b)))  # at x = +inf only D = -1 occurs
    if hi_ms == math.inf:
        found = min(found, float(bernoulli_log_evalue(0, at_inf, 0.5)))
    return found


def paired_ratio_bounds(
    production_ms: ArrayLike,
    candidate_ms: ArrayLike,
    *,
    lo_ms: float,
    hi_ms: float,
    alpha_lower: float,
    alpha_upper: float,
    rel_tol: float = 1e-3,
) -> tuple[float, float]:
    """Paired anytime bounds on ``xi_q(candidate) / xi_q(production)``.

    Inverts :func:`paired_quantile_log_evalue` over the ratio (it is monotone in
    it). The lower end is the largest ratio the "greater" test rejects at
    ``alpha_lower``; the upper end the smallest the "less" test rejects at
    ``alpha_upper``. Ends are rounded outwards to ``rel_tol``.
    """
    _check_alpha(alpha_lower, "alpha_lower")
    _check_alpha(alpha_upper, "alpha_upper")
    p = _as_latencies(production_ms, "production_ms")
    c = _as_latencies(candidate_ms, "candidate_ms")
    if p.shape != c.shape:
        raise ConfigError(f"need paired samples, got {p.size} and {c.size} values")
    if not (math.isfinite(lo_ms) and math.isfinite(hi_ms) and lo_ms <= hi_ms):
        return 0.0, math.inf  # an unbounded CS for production: neither test can reject
    lower = _ratio_edge(p, c, lo_ms, hi_ms, "greater", math.log(1.0 / alpha_lower), rel_tol)
    upper = _ratio_edge(p, c, lo_ms, hi_ms, "less", math.log(1.0 / alpha_upper), rel_tol)
    return lower, upper


def _ratio_edge(
    p: np.ndarray,
    c: np.ndarray,
    lo: float,
    hi: float,
    alternative: Alternative,
    threshold: float,
    rel_tol: float,
) -> float:
    """The edge of the ratios a test rejects, rounded outwards.

    "greater" rejects a half-line of small ratios, "less" one of large ratios.
    A doubling search brackets the edge on all pairs; the bisection then runs on
    the pairs that can still change class inside the bracket, the rest being
    constant counts.
    """
    small = alternative == "greater"

    def rejects(theta: float, pp: np.ndarray, cc: np.ndarray, extra: tuple[int, int]) -> bool:
        b = cc / theta
        u, v = (np.nextafter(pp, np.inf), b) if small else (np.nextafter(b, np.inf), pp)
        return _min_sign_log_evalue(u, v, lo, hi, *extra) >= threshold

    inside = rejects(1.0, p, c, (0, 0))
    # Step towards the edge: away from the rejected side while inside, into it otherwise.
    factor = 1.25 if small == inside else 0.8
    theta, found = 1.0, False
    for _ in range(32):  # 1.25^32 > 1000
        nxt = theta * factor
        if rejects(nxt, p, c, (0, 0)) != inside:
            found = True
            break
        theta = nxt
    if not found:
        return (math.inf if inside else 0.0) if small else (0.0 if inside else math.inf)
    t_in, t_out = (theta, nxt) if inside else (nxt, theta)
    t_min, t_max = min(t_in, t_out), max(t_in, t_out)
    keep = ((p >= lo) & (p <= hi)) | ((c >= t_min * lo) & (c <= t_max * hi))
    pe, ce = p[~keep], c[~keep] / t_min  # these pairs keep their class inside the bracket
    ue, ve = (np.nextafter(pe, np.inf), ce) if small else (np.nextafter(ce, np.inf), pe)
    extra = (
        int(np.count_nonzero((ue <= lo) & (ve > hi))),
        int(np.count_nonzero((ve <= lo) & (ue > hi))),
    )
    pk, ck = p[keep], c[keep]
    a, b = math.log(t_in), math.log(t_out)
    while abs(b - a) > rel_tol:
        mid = 0.5 * (a + b)
        if rejects(math.exp(mid), pk, ck, extra):
            a = mid
        else:
            b = mid
    return math.exp(a)


def proportion_log_evalues(successes: int, trials: int, p0: float) -> tuple[float, float]:
    """``(log e for rate > p0, log e for rate < p0)`` of a Bernoulli stream.

    >>> up, down = proportion_log_evalues(0, 2000, 0.01)
    >>> bool(down > np.log(20) > up)
    True
    """
    _check_counts(successes, trials)
    up = float(bernoulli_log_evalue(successes, trials, p0, alternative="greater"))
    down = float(bernoulli_log_evalue(successes, trials, p0, alternative="less"))
    return up, down


def proportion_cs(
    successes: int, trials: int, *, alpha_lower: float, alpha_upper: float
) -> tuple[float, float]:
    """Anytime-valid bounds on a Bernoulli rate (the hull of the non-rejected rates).

    Computed on a fine log grid and rounded outwards to its points.

    >>> lo, hi = proportion_cs(5, 1000, alpha_lower=0.025, alpha_upper=0.025)
    >>> lo < 0.005 < hi < 0.02
    True
    """
    _check_alpha(alpha_lower, "alpha_lower")
    _check_alpha(alpha_upper, "alpha_upper")
    _check_counts(successes, trials)
    grid = _rate_grid()
    up = _grid_log_evalues(successes, trials, "greater")
    down = _grid_log_evalues(successes, trials, "less")
    keep = (up < math.log(1.0 / alpha_lower)) & (down < math.log(1.0 / alpha_upper))
    if not keep.any():  # pragma: no cover - the grid is fine enough in practice
        rate = successes / max(trials, 1)
        return rate, rate
    idx = np.nonzero(keep)[0]
    lo = 0.0 if idx[0] == 0 else float(grid[idx[0] - 1])
    hi = 1.0 if idx[-1] == grid.size - 1 else float(grid[idx[-1] + 1])
    return lo, hi


def _grid_log_evalues(successes: int, trials: int, alternative: Alternative) -> np.ndarray:
    win, lose = _grid_ratios(alternative)
    return _mix(successes * win + (trials - successes) * lose)


@functools.lru_cache(maxsize=2)
def _grid_ratios(alternative: Alternative) -> tuple[np.ndarray, np.ndarray]:
    rows = [_log_ratios(float(g), alternative) for g in _rate_grid()]
    win = np.stack([r[0] for r in rows])
    lose = np.stack([r[1] for r in rows])
    win.setflags(write=False)
    lose.setflags(write=False)
    return win, lose


@functools.lru_cache(maxsize=1)
def _rate_grid() -> np.ndarray:
    grid = np.unique(
        np.concatenate((np.geomspace(1e-6, 0.5, 160), 1.0 - np.geomspace(0.5, 1e-6, 160)))
    )
    grid = grid[(grid > 0.0) & (grid < 1.0)]
    grid.setflags(write=False)
    return grid
