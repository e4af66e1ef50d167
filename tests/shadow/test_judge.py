"""The shadow judge: rules, warm-up, censoring, agreement, limits and the Verdict record."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

import edgewise.shadow as shadow
from edgewise.errors import ConfigError, DataError, UnknownNameError
from edgewise.shadow import AlphaPlan, Decision, Judge, Verdict


def _pairs(seed: int, n: int, *, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Production and candidate latencies sharing a per-request factor (log-corr 0.85)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    prod = 10 * np.exp(0.4 * (math.sqrt(0.85) * z + math.sqrt(0.15) * rng.standard_normal(n)))
    cand = (
        10 * scale * np.exp(0.4 * (math.sqrt(0.85) * z + math.sqrt(0.15) * rng.standard_normal(n)))
    )
    return prod, cand


def _judge(**kw) -> Judge:
    settings = dict(warmup=0, look_every=500, max_disagreement=None, ratio_bounds=False)
    settings.update(kw)
    return Judge(["cand"], **settings)


def test_exports_are_sorted_and_importable():
    assert shadow.__all__ == sorted(shadow.__all__)
    for name in shadow.__all__:
        assert getattr(shadow, name) is not None


def test_a_much_slower_candidate_fails_with_a_readable_record():
    prod, cand = _pairs(1, 5000, scale=1.5)
    judge = _judge(ratio_bounds=True)
    v = judge.add_many("cand", production_ms=prod, candidate_ms=cand)
    assert v.verdict is Decision.FAIL and v.final
    assert v.rule == "fail:p50"
    assert v.requests_used == 500  # decided at the first look
    p50 = v.quantiles[0]
    assert p50.name == "p50" and p50.fails
    assert 1.1 < p50.ratio_lo <= p50.ratio <= p50.ratio_hi
    assert "FAIL after 500 requests" in v.reason and "p50" in v.reason
    assert p50.production_lo_ms <= p50.production_ms <= p50.production_hi_ms
    json.dumps(v.to_dict())  # JSON-ready, inf -> None


def test_an_identical_candidate_passes_and_the_ratio_bounds_agree():
    prod, cand = _pairs(2, 30_000)
    v = _judge(ratio_bounds=True).add_many("cand", production_ms=prod, candidate_ms=cand)
    assert v.verdict is Decision.PASS and v.rule == "pass"
    assert v.requests_used < 30_000
    for check in v.quantiles:
        assert check.passes and not check.fails
        assert check.ratio_lo <= 1.0 <= check.ratio_hi <= 1.1 * 1.001


def test_timeouts_count_as_infinitely_slow_never_dropped():
    prod, cand = _pairs(3, 2000)
    timed_out = [None if i % 20 == 0 else c for i, c in enumerate(cand)]  # 5% > 1% tail
    judge = _judge(quantiles=(0.99,))
    v = judge.add_many("cand", production_ms=prod, candidate_ms=timed_out)
    assert v.verdict is Decision.FAIL and v.rule == "fail:p99"
    assert v.requests_used <= 1000 and v.censored == v.requests_used // 20
    assert math.isinf(v.quantiles[0].candidate_ms)


def test_warm_up_is_excluded():
    prod, cand = _pairs(4, 6000)
    cand[:300] *= 50  # a cold start: the first 300 candidate requests are very slow
    warm = _judge(warmup=300, quantiles=(0.99,))
    cold = _judge(warmup=0, quantiles=(0.99,))
    for judge in (warm, cold):
        judge.add_many("cand", production_ms=prod, candidate_ms=cand)
    assert warm.verdict("cand").verdict is not Decision.FAIL
    assert warm.verdict("cand").requests_seen == 6000
    assert cold.verdict("cand").verdict is Decision.FAIL


def test_pending_during_warm_up_and_before_the_first_look():
    judge = _judge(warmup=3, look_every=10)
    v = judge.add("cand", production_ms=1.0, candidate_ms=1.0)
    assert v.verdict is Decision.PENDING and v.rule == "warmup" and "warm-up: 1 of 3" in v.reason
    for _ in range(5):
        v = judge.add("cand", production_ms=1.0, candidate_ms=1.0)
    assert v.verdict is Decision.PENDING and v.rule == "no-look" and v.requests_used == 3


def test_one_by_one_and_batched_ingest_look_at_the_same_points():
    prod, cand = _pairs(5, 2600, scale=1.08)
    agree = np.arange(2600) % 97 != 0
    one, batch = _judge(max_disagreement=0.05), _judge(max_disagreement=0.05)
    for p, c, a in zip(prod, cand, agree, strict=True):
        one.add("cand", production_ms=float(p), candidate_ms=float(c), agree=bool(a))
    for start in range(0, 2600, 333):  # batches that straddle the looks
        sl = slice(start, start + 333)
        batch.add_many("cand", production_ms=prod[sl], candidate_ms=cand[sl], agree=agree[sl])
    assert one.history("cand") == batch.history("cand")
    assert [v.requests_used for v in one.history("cand")] == [500, 1000, 1500, 2000, 2500]


def test_request_limit_makes_it_inconclusive_for_good():
    prod, cand = _pairs(6, 3000, scale=1.1)  # right at the tolerance: cannot decide
    judge = _judge(max_requests=1000)
    v = judge.add_many("cand", production_ms=prod, candidate_ms=cand)
    assert v.verdict is Decision.INCONCLUSIVE and v.final and v.rule == "limit"
    assert v.requests_used == 1000 and v.requests_seen == 3000
    again = judge.add("cand", production_ms=1.0, candidate_ms=100.0)
    assert again.verdict is Decision.INCONCLUSIVE and again.requests_used == 1000
    assert again.requests_seen == judge.verdict("cand").requests_seen == 3001


def test_inconclusive_before_the_limit_is_not_final():
    prod, cand = _pairs(7, 500, scale=1.1)
    v = _judge().add_many("cand", production_ms=prod, candidate_ms=cand)
    assert v.verdict is Decision.INCONCLUSIVE and not v.final and v.rule == "undecided"


def test_output_disagreement_fails_even_with_equal_latency():
    prod, cand = _pairs(8, 3000)
    agree = np.arange(3000) % 20 != 0  # 5% disagree against a 1% limit
    v = _judge(max_disagreement=0.01).add_many(
        "cand", production_ms=prod, candidate_ms=cand, agree=agree
    )
    assert v.verdict is Decision.FAIL and v.rule == "fail:agreement"
    assert v.agreement is not None and v.agreement.rate_lo > 0.01
    assert "outputs disagree" in v.reason


def test_several_candidates_split_alpha_and_are_judged_apart():
    judge = Judge(["same", "slow"], warmup=0, max_disagreement=None, ratio_bounds=False)
    assert judge.plan.per_candidate == pytest.approx(0.025)
    prod, cand = _pairs(9, 2000)
    _, slow = _pairs(9, 2000, scale=1.6)
    judge.add_many("same", production_ms=prod, candidate_ms=cand)
    judge.add_many("slow", production_ms=prod, candidate_ms=slow)
    verdicts = judge.verdicts()
    assert verdicts["slow"].verdict is Decision.FAIL
    assert verdicts["same"].verdict is not Decision.FAIL


def test_alpha_plan_spends_at_most_alpha_per_error():
    plan = AlphaPlan.from_settings(alpha=0.05, candidates=2, quantiles=3, agreement=True)
    fail_total = 3 * (plan.localisation + plan.fail_quantile) + plan.fail_agreement
    assert fail_total == pytest.approx(plan.per_candidate) == pytest.approx(0.025)
    assert plan.localisation + plan.pass_quantile == pytest.approx(plan.per_candidate)
    assert plan.pass_agreement == pytest.approx(plan.per_candidate)


def test_verdict_is_frozen():
    v = Verdict.pending("c", requests_seen=0, warmup=1, reason="warm-up")
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.verdict = Decision.PASS  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(tolerance=-0.1),
        dict(tolerance=math.inf),
        dict(alpha=0.0),
        dict(alpha=1.5),
        dict(max_disagreement=0.0),
        dict(max_disagreement=1.0),
        dict(quantiles=()),
        dict(quantiles=(0.5, 0.5)),
        dict(quantiles=(1.0,)),
        dict(warmup=-1),
        dict(look_every=0),
        dict(max_requests=0),
        dict(max_requests=2.5),
    ],
)
def test_bad_settings_raise_config_error(kwargs):
    with pytest.raises(ConfigError):
        Judge(["cand"], **kwargs)


@pytest.mark.parametrize("names", [[], ["a", "a"]])
def test_bad_candidate_lists(names):
    with pytest.raises(ConfigError):
        Judge(names)


@pytest.mark.parametrize(
    "record",
    [
        dict(production_ms=float("nan"), candidate_ms=1.0),
        dict(production_ms=-1.0, candidate_ms=1.0),
        dict(production_ms=1.0, candidate_ms="slow"),
    ],
)
def test_bad_records_raise_data_error(record):
    with pytest.raises(DataError):
        _judge().add("cand", **record)


def test_bad_batches_and_unknown_candidates():
    judge = _judge()
    with pytest.raises(DataError):
        judge.add_many("cand", production_ms=[1.0, 2.0], candidate_ms=[1.0])
    with pytest.raises(DataError):
        judge.add_many("cand", production_ms=[1.0], candidate_ms=[np.nan])
    with pytest.raises(UnknownNameError, match="did you mean 'cand'"):
        judge.add("cnad", production_ms=1.0, candidate_ms=1.0)
