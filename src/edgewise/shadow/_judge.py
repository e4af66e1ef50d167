"""The anytime-valid shadow judge: paired records in, a Verdict per candidate out.

The method and its proof are in docs/judge.md. In short, for each quantile the
judge keeps an anytime confidence sequence for production's quantile and runs
two paired sign tests over it (candidate worse than ``1 + tolerance`` times
production, or not); the output disagreement rate gets two sequential tests of
its own. Any number of looks keeps each error below its share of ``alpha``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from edgewise.errors import ConfigError, DataError, UnknownNameError
from edgewise.shadow._verdict import (
    AgreementCheck,
    AlphaPlan,
    Decision,
    QuantileCheck,
    Verdict,
)
from edgewise.stats._quantiles import _rank
from edgewise.stats._sequential import (
    paired_quantile_log_evalue,
    paired_ratio_bounds,
    proportion_cs,
    proportion_log_evalues,
    quantile_cs_ranks,
)


def _quantile_name(q: float) -> str:
    digits = f"{q * 100:.10g}".replace(".", "")
    return f"p{digits}"


@dataclass
class _Stream:
    """The paired records of one candidate (after warm-up) and its last verdict."""

    production: np.ndarray
    candidate: np.ndarray
    disagree: np.ndarray
    seen: int = 0
    used: int = 0
    censored: int = 0
    verdict: Verdict | None = None
    history: list[Verdict] = field(default_factory=list)

    def grow(self, needed: int, limit: int) -> None:
        if needed <= self.production.size:
            return
        size = min(limit, max(needed, 2 * self.production.size, 1024))
        for name in ("production", "candidate", "disagree"):
            old = getattr(self, name)
            new = np.empty(size, dtype=old.dtype)
            new[: self.used] = old[: self.used]
            setattr(self, name, new)


class Judge:
    """Judges one or more shadow candidates against production, request by request.

    Feed it paired records; it looks every ``look_every`` paired requests (after
    ``warmup``) and its verdict may be read at any time.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> judge = Judge(["fast"], warmup=0, look_every=500, max_disagreement=None)
    >>> prod = rng.lognormal(size=3000)
    >>> v = judge.add_many("fast", production_ms=prod, candidate_ms=2 * prod)
    >>> v.verdict, v.rule
    (<Decision.FAIL: 'FAIL'>, 'fail:p50')

    Parameters
    ----------
    candidates
        Names of the candidates; each is judged against production on its own
        paired records, with ``alpha`` split evenly between them (Bonferroni).
    quantiles
        Quantile levels in (0, 1) to compare, e.g. ``(0.5, 0.99)``.
    tolerance
        Relative slack: a candidate fails when a quantile exceeds
        ``(1 + tolerance)`` times production's.
    alpha
        Family-wise bound on false FAIL, and separately on false PASS.
    max_disagreement
        Largest acceptable rate of outputs that disagree, in (0, 1); None skips it.
    warmup
        Paired requests per candidate ignored at the start.
    look_every
        Paired requests between looks.
    max_requests
        Paired requests (after warm-up) after which an undecided run is
        INCONCLUSIVE for good.
    ratio_bounds
        Whether each look also inverts the paired tests into bounds on the
        quantile ratio (for the report; a few ms per quantile per look).
    reference
        What the ``production_ms`` latencies are, for the reasons: ``"production"``,
        or ``"baseline"`` when they come from a mirrored twin of production.
    """

    def __init__(
        self,
        candidates: Sequence[str] = ("candidate",),
        *,
        quantiles: Sequence[float] = (0.5, 0.99),
        tolerance: float = 0.10,
        alpha: float = 0.05,
        max_disagreement: float | None = 0.01,
        warmup: int = 100,
        look_every: int = 500,
        max_requests: int = 60_000,
        ratio_bounds: bool = True,
        reference: str = "production",
    ) -> None:
        names = [candidates] if isinstance(candidates, str) else list(candidates)
        if not names or len(set(names)) != len(names):
            raise ConfigError(f"need one or more distinct candidate names, got {names!r}")
        qs = tuple(float(q) for q in quantiles)
        if not qs or len(set(qs)) != len(qs) or not all(0.0 < q < 1.0 for q in qs):
            raise ConfigError(f"quantiles must be distinct levels in (0, 1), got {quantiles!r}")
        if not (math.isfinite(tolerance) and tolerance >= 0.0):
            raise ConfigError(f"tolerance must be a finite number >= 0, got {tolerance!r}")
        if not 0.0 < alpha < 1.0:
            raise ConfigError(f"alpha must be in (0, 1), got {alpha!r}")
        if max_disagreement is not None and not 0.0 < max_disagreement < 1.0:
            raise ConfigError(
                f"max_disagreement must be in (0, 1) or None, got {max_disagreement!r}"
            )
        for name, value, low in (
            ("warmup", warmup, 0),
            ("look_every", look_every, 1),
            ("max_requests", max_requests, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")
        self.candidates = tuple(names)
        self.quantiles = tuple(sorted(qs))
        self.tolerance = float(tolerance)
        self.alpha = float(alpha)
        self.max_disagreement = max_disagreement
        self.warmup = warmup
        self.look_every = look_every
        self.max_requests = max_requests
        self.ratio_bounds = ratio_bounds
        self.reference = reference
        self.plan = AlphaPlan.from_settings(
            alpha=self.alpha,
            candidates=len(names),
            quantiles=len(qs),
            agreement=max_disagreement is not None,
        )
        self._streams = {n: _new_stream() for n in names}

    # -- ingest -----------------------------------------------------------------

    def add(
        self,
        candidate: str,
        *,
        production_ms: float | None,
        candidate_ms: float | None,
        agree: bool = True,
    ) -> Verdict:
        """Add one paired request; ``candidate_ms=None`` is a timeout or error.

        O(1) except at a look. Returns the current verdict.
        """
        stream = self._stream(candidate)
        if stream.verdict is not None and stream.verdict.final:
            stream.seen += 1
            return self._current(candidate, stream)
        p = _one_latency(production_ms, "production_ms")
        c = _one_latency(candidate_ms, "candidate_ms")
        stream.seen += 1
        if stream.seen <= self.warmup:
            return self._pending(candidate, stream)
        stream.grow(stream.used + 1, self.max_requests)
        i = stream.used
        stream.production[i], stream.candidate[i], stream.disagree[i] = p, c, not agree
        stream.used += 1
        stream.censored += c == math.inf
        if stream.used % self.look_every == 0 or stream.used >= self.max_requests:
            return self._look(candidate, stream)
        return self._current(candidate, stream)

    def add_many(
        self,
        candidate: str,
        *,
        production_ms: Iterable[float | None] | np.ndarray,
        candidate_ms: Iterable[float | None] | np.ndarray,
        agree: Iterable[bool] | np.ndarray | None = None,
    ) -> Verdict:
        """Add a batch of paired requests in arrival order (``None``/``inf`` = timeout).

        Looks happen at the same request counts as if they were added one by one.
        """
        stream = self._stream(candidate)
        p = _latencies(production_ms, "production_ms")
        c = _latencies(candidate_ms, "candidate_ms")
        if p.size != c.size:
            raise DataError(f"need paired records, got {p.size} production and {c.size} candidate")
        if agree is None:
            dis = np.zeros(p.size, dtype=bool)
        else:
            dis = ~np.asarray(list(agree) if not isinstance(agree, np.ndarray) else agree, bool)
            if dis.size != p.size:
                raise DataError(f"agree has {dis.size} values for {p.size} records")
        start = 0
        while start < p.size:
            if stream.verdict is not None and stream.verdict.final:
                stream.seen += p.size - start
                break
            if stream.seen < self.warmup:
                skip = min(self.warmup - stream.seen, p.size - start)
                stream.seen += skip
                start += skip
                continue
            to_look = self.look_every - stream.used % self.look_every
            take = min(to_look, self.max_requests - stream.used, p.size - start)
            stream.grow(stream.used + take, self.max_requests)
            sl = slice(stream.used, stream.used + take)
            stream.production[sl] = p[start : start + take]
            stream.candidate[sl] = c[start : start + take]
            stream.disagree[sl] = dis[start : start + take]
            stream.censored += int(np.count_nonzero(np.isposinf(c[start : start + take])))
            stream.used += take
            stream.seen += take
            start += take
            if stream.used % self.look_every == 0 or stream.used >= self.max_requests:
                self._look(candidate, stream)
        return self._current(candidate, stream)

    # -- reading ----------------------------------------------------------------

    def verdict(self, candidate: str) -> Verdict:
        """The verdict as of the last look (PENDING before the first)."""
        return self._current(candidate, self._stream(candidate))

    def verdicts(self) -> dict[str, Verdict]:
        """Every candidate's current verdict."""
        return {name: self.verdict(name) for name in self.candidates}

    def look(self, candidate: str) -> Verdict:
        """Look now, between the regular looks (valid: any number of looks is fine)."""
        stream = self._stream(candidate)
        if stream.verdict is not None and stream.verdict.final:
            return self._current(candidate, stream)
        if stream.used == 0:
            return self._pending(candidate, stream)
        return self._look(candidate, stream)

    def history(self, candidate: str) -> tuple[Verdict, ...]:
        """Every verdict this candidate has had, one per look."""
        return tuple(self._stream(candidate).history)

    # -- internals --------------------------------------------------------------

    def _current(self, candidate: str, stream: _Stream) -> Verdict:
        """The last look's verdict, with the live count of requests seen."""
        v = stream.verdict
        if v is None:
            return self._pending(candidate, stream)
        return v if v.requests_seen == stream.seen else replace(v, requests_seen=stream.seen)

    def _stream(self, candidate: str) -> _Stream:
        try:
            return self._streams[candidate]
        except KeyError:
            raise UnknownNameError("candidate", candidate, self.candidates) from None

    def _pending(self, candidate: str, stream: _Stream) -> Verdict:
        if stream.seen < self.warmup:
            reason = f"warm-up: {stream.seen:,} of {self.warmup:,} requests"
        else:
            reason = (
                f"waiting for the first look at {self.look_every:,} paired requests "
                f"(have {stream.used:,})"
            )
        return Verdict.pending(
            candidate,
            requests_seen=stream.seen,
            warmup=self.warmup,
            reason=reason,
            requests_used=stream.used,
            censored=stream.censored,
            tolerance=self.tolerance,
            alpha=self.alpha,
        )

    def _look(self, candidate: str, stream: _Stream) -> Verdict:
        n = stream.used
        p, c = stream.production[:n], stream.candidate[:n]
        checks = tuple(self._quantile_check(p, c, q) for q in self.quantiles)
        agreement = self._agreement_check(stream.disagree[:n])
        verdict = _decide(
            candidate,
            checks=checks,
            agreement=agreement,
            used=n,
            seen=stream.seen,
            judge=self,
            censored=stream.censored,
        )
        stream.verdict = verdict
        stream.history.append(verdict)
        return verdict

    def _quantile_check(self, p: np.ndarray, c: np.ndarray, q: float) -> QuantileCheck:
        n = p.size
        plan = self.plan
        r_lo, r_hi = quantile_cs_ranks(n, q, alpha=plan.localisation)
        point = _rank(n, q)
        ranks = sorted({k - 1 for k in (r_lo, r_hi, point) if 1 <= k <= n})
        ps, cs = np.partition(p, ranks), np.partition(c, ranks)

        def at(xs: np.ndarray, k: int) -> float:
            return -math.inf if k < 1 else math.inf if k > n else float(xs[k - 1])

        lo, hi = at(ps, r_lo), at(ps, r_hi)
        theta = 1.0 + self.tolerance
        fail_e = paired_quantile_log_evalue(
            p, c, ratio=theta, lo_ms=lo, hi_ms=hi, alternative="greater"
        )
        pass_e = paired_quantile_log_evalue(
            p, c, ratio=theta, lo_ms=lo, hi_ms=hi, alternative="less"
        )
        ratio_lo = ratio_hi = math.nan
        if self.ratio_bounds:
            ratio_lo, ratio_hi = paired_ratio_bounds(
                p,
                c,
                lo_ms=lo,
                hi_ms=hi,
                alpha_lower=plan.fail_quantile,
                alpha_upper=plan.pass_quantile,
            )
        prod_ms, cand_ms = at(ps, point), at(cs, point)
        return QuantileCheck(
            name=_quantile_name(q),
            level=q,
            production_ms=prod_ms,
            candidate_ms=cand_ms,
            production_lo_ms=lo,
            production_hi_ms=hi,
            candidate_lo_ms=at(cs, r_lo),
            candidate_hi_ms=at(cs, r_hi),
            ratio=cand_ms / prod_ms if prod_ms > 0 else math.nan,
            ratio_lo=ratio_lo,
            ratio_hi=ratio_hi,
            fail_log_e=fail_e,
            fail_threshold_log_e=math.log(1.0 / plan.fail_quantile),
            pass_log_e=pass_e,
            pass_threshold_log_e=math.log(1.0 / plan.pass_quantile),
        )

    def _agreement_check(self, disagree: np.ndarray) -> AgreementCheck | None:
        if self.max_disagreement is None:
            return None
        n, d, plan = disagree.size, int(np.count_nonzero(disagree)), self.plan
        up, down = proportion_log_evalues(d, n, self.max_disagreement)
        lo, hi = proportion_cs(
            d, n, alpha_lower=plan.fail_agreement, alpha_upper=plan.pass_agreement
        )
        return AgreementCheck(
            disagreements=d,
            requests=n,
            rate=d / n,
            rate_lo=lo,
            rate_hi=hi,
            max_rate=self.max_disagreement,
            fail_log_e=up,
            fail_threshold_log_e=math.log(1.0 / plan.fail_agreement),
            pass_log_e=down,
            pass_threshold_log_e=math.log(1.0 / plan.pass_agreement),
        )


def _new_stream() -> _Stream:
    return _Stream(
        production=np.empty(0, np.float64),
        candidate=np.empty(0, np.float64),
        disagree=np.empty(0, bool),
    )


def _one_latency(value: float | None, name: str) -> float:
    if value is None:
        return math.inf
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a number of milliseconds or None, got {value!r}") from None
    if math.isnan(x) or x < 0.0:
        raise DataError(f"{name} must be >= 0 ms (None or inf for a timeout), got {value!r}")
    return x


def _latencies(values: Iterable[float | None] | np.ndarray, name: str) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        arr = values.astype(np.float64, copy=False).ravel()
    else:
        arr = np.array([math.inf if v is None else v for v in values], dtype=np.float64)
    if np.isnan(arr).any() or (arr < 0.0).any():
        raise DataError(f"{name} must be >= 0 ms (None or inf for a timeout), not NaN or negative")
    return arr


def _fmt_ratio(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.3f}"


def _decide(
    candidate: str,
    *,
    checks: tuple[QuantileCheck, ...],
    agreement: AgreementCheck | None,
    used: int,
    seen: int,
    judge: Judge,
    censored: int,
) -> Verdict:
    limit = 1.0 + judge.tolerance
    failing = [ch for ch in checks if ch.fails]
    agree_fails = agreement is not None and agreement.fails
    all_pass = all(ch.passes for ch in checks) and (agreement is None or agreement.passes)
    parts = []
    for ch in checks:
        span = (
            f"in [{_fmt_ratio(ch.ratio_lo)}, {_fmt_ratio(ch.ratio_hi)}]"
            if not math.isnan(ch.ratio_lo)
            else f"(log e fail {ch.fail_log_e:.1f}/{ch.fail_threshold_log_e:.1f}, "
            f"pass {ch.pass_log_e:.1f}/{ch.pass_threshold_log_e:.1f})"
        )
        parts.append(
            f"{ch.name} {ch.candidate_ms:.4g} vs {judge.reference} {ch.production_ms:.4g} ms, "
            f"ratio {_fmt_ratio(ch.ratio)} {span}"
        )
    if agreement is not None:
        parts.append(
            f"disagreement {agreement.rate:.2%} in [{agreement.rate_lo:.2%}, "
            f"{agreement.rate_hi:.2%}] vs max {agreement.max_rate:.2%}"
        )
    numbers = "; ".join(parts)
    if failing or agree_fails:
        decision, final = Decision.FAIL, True
        what = [f"{ch.name} is over {limit:.2f}x {judge.reference}" for ch in failing]
        if agree_fails:
            what.append("outputs disagree more often than allowed")
        rule = f"fail:{failing[0].name}" if failing else "fail:agreement"
        reason = f"FAIL after {used:,} requests: {', and '.join(what)} ({numbers})"
    elif all_pass:
        decision, final, rule = Decision.PASS, True, "pass"
        reason = (
            f"PASS after {used:,} requests: every quantile is within {limit:.2f}x "
            f"{judge.reference}{' and outputs agree' if agreement is not None else ''} ({numbers})"
        )
    elif used >= judge.max_requests:
        decision, final, rule = Decision.INCONCLUSIVE, True, "limit"
        reason = (
            f"INCONCLUSIVE for good: limit of {judge.max_requests:,} requests reached ({numbers})"
        )
    else:
        decision, final, rule = Decision.INCONCLUSIVE, False, "undecided"
        reason = f"not yet sure after {used:,} requests ({numbers})"
    return Verdict(
        candidate=candidate,
        verdict=decision,
        rule=rule,
        reason=reason,
        final=final,
        requests_used=used,
        requests_seen=seen,
        warmup=judge.warmup,
        censored=censored,
        tolerance=judge.tolerance,
        alpha=judge.alpha,
        quantiles=checks,
        agreement=agreement,
    )
