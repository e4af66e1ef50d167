"""What the judge says about a candidate at a look: frozen, JSON-ready records."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from edgewise._json import json_safe


class Decision(StrEnum):
    """The four states of a shadow verdict.

    >>> Decision.PASS == "PASS"
    True
    """

    PENDING = "PENDING"  # warm-up, or no look yet
    PASS = "PASS"  # promote: no quantile worse than (1 + tolerance) x production
    FAIL = "FAIL"  # roll back: some quantile (or the disagreement rate) is worse
    INCONCLUSIVE = "INCONCLUSIVE"  # not yet sure; final once the request limit is reached


@dataclass(frozen=True)
class AlphaPlan:
    """How the error budget ``alpha`` is spent (see docs/judge.md).

    A false FAIL needs one FAIL rule to fire wrongly, so the FAIL rules share the
    per-candidate budget (union bound). A false PASS needs the one violated rule
    to pass wrongly, since PASS needs every rule, so each PASS rule may use the
    whole per-candidate budget (intersection-union).

    >>> plan = AlphaPlan.from_settings(alpha=0.05, candidates=1, quantiles=2, agreement=True)
    >>> round(plan.per_candidate, 3), round(plan.pass_agreement, 3)
    (0.05, 0.05)
    """

    alpha: float
    per_candidate: float
    localisation: float  # two-sided CS of production's quantile, per quantile
    fail_quantile: float  # the paired "candidate worse" test, per quantile
    pass_quantile: float  # the paired "candidate within tolerance" test, per quantile
    fail_agreement: float  # 0 when agreement is not judged
    pass_agreement: float

    @classmethod
    def from_settings(
        cls,
        *,
        alpha: float,
        candidates: int,
        quantiles: int,
        agreement: bool,
        agreement_share: float = 0.10,
        localisation_share: float = 0.20,
    ) -> AlphaPlan:
        per = alpha / candidates
        fail_agree = per * agreement_share if agreement else 0.0
        per_q = (per - fail_agree) / quantiles
        loc = per_q * localisation_share
        return cls(
            alpha=alpha,
            per_candidate=per,
            localisation=loc,
            fail_quantile=per_q - loc,
            pass_quantile=per - loc,
            fail_agreement=fail_agree,
            pass_agreement=per if agreement else 0.0,
        )


@dataclass(frozen=True)
class QuantileCheck:
    """One quantile at one look: estimates, bounds and which rule (if any) fired.

    ``production_lo_ms``/``production_hi_ms`` is production's anytime confidence
    sequence (the localisation the paired test uses); the candidate's is at the
    same level, for display. ``ratio_lo``/``ratio_hi`` bound
    ``candidate quantile / production quantile`` from the paired tests (NaN when
    the judge skips them). ``fail_log_e``/``pass_log_e`` are the tests' log
    e-values at ratio ``1 + tolerance``; a rule fires when it reaches its threshold.
    """

    name: str
    level: float
    production_ms: float
    candidate_ms: float
    production_lo_ms: float
    production_hi_ms: float
    candidate_lo_ms: float
    candidate_hi_ms: float
    ratio: float
    ratio_lo: float
    ratio_hi: float
    fail_log_e: float
    fail_threshold_log_e: float
    pass_log_e: float
    pass_threshold_log_e: float

    @property
    def fails(self) -> bool:
        return self.fail_log_e >= self.fail_threshold_log_e

    @property
    def passes(self) -> bool:
        return self.pass_log_e >= self.pass_threshold_log_e


@dataclass(frozen=True)
class AgreementCheck:
    """The output disagreement rate against ``max_rate``, judged sequentially."""

    disagreements: int
    requests: int
    rate: float
    rate_lo: float
    rate_hi: float
    max_rate: float
    fail_log_e: float
    fail_threshold_log_e: float
    pass_log_e: float
    pass_threshold_log_e: float

    @property
    def fails(self) -> bool:
        return self.fail_log_e >= self.fail_threshold_log_e

    @property
    def passes(self) -> bool:
        return self.pass_log_e >= self.pass_threshold_log_e


@dataclass(frozen=True)
class Verdict:
    """The judge's answer for one candidate, with the numbers behind it.

    ``rule`` names what fired: ``"fail:p99"``, ``"fail:agreement"``, ``"pass"``,
    ``"limit"`` (the request limit ended the run undecided), ``"warmup"``,
    ``"no-look"`` or ``"undecided"``. ``final`` is True once the verdict can no
    longer change.

    >>> v = Verdict.pending("cand", requests_seen=3, warmup=100, reason="warm-up: 3 of 100")
    >>> v.verdict, v.final
    (<Decision.PENDING: 'PENDING'>, False)
    """

    candidate: str
    verdict: Decision
    rule: str
    reason: str
    final: bool
    requests_used: int
    requests_seen: int
    warmup: int
    censored: int
    tolerance: float
    alpha: float
    quantiles: tuple[QuantileCheck, ...] = ()
    agreement: AgreementCheck | None = None

    @classmethod
    def pending(
        cls,
        candidate: str,
        *,
        requests_seen: int,
        warmup: int,
        reason: str,
        requests_used: int = 0,
        censored: int = 0,
        tolerance: float = math.nan,
        alpha: float = math.nan,
    ) -> Verdict:
        return cls(
            candidate=candidate,
            verdict=Decision.PENDING,
            rule="warmup" if requests_seen < warmup else "no-look",
            reason=reason,
            final=False,
            requests_used=requests_used,
            requests_seen=requests_seen,
            warmup=warmup,
            censored=censored,
            tolerance=tolerance,
            alpha=alpha,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (non-finite numbers become None)."""
        out: dict[str, Any] = json_safe(asdict(self))
        return out
