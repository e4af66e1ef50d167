"""Shadow runs, paired records, verdicts and deployment events round-trip through both stores."""

from __future__ import annotations

import pytest

from edgewise.errors import StoreError
from edgewise.store import (
    DeploymentRecord,
    ShadowPairRecord,
    ShadowRunRecord,
    ShadowVerdictRecord,
    Store,
)


def _run(store: Store) -> int:
    return store.add_shadow_run(
        ShadowRunRecord(
            name="cnn",
            device="edge-1",
            production={"name": "production", "sha256": "a" * 64, "path": "/m/a.onnx"},
            candidates=[{"name": "fast", "sha256": "b" * 64, "path": "/m/b.onnx"}],
            settings={"mirror_percent": 100.0},
        )
    )


def test_pairs_round_trip_with_censoring(any_store: Store) -> None:
    run_id = _run(any_store)
    pairs = [
        ShadowPairRecord(
            candidate="fast",
            seq=i,
            request_id=f"r{i}",
            outcome="ok" if i % 3 else "timeout",
            production_ms=1.0 + i,
            production_compute_ms=0.5,
            production_io_ms=0.1,
            candidate_ms=(2.0 + i) if i % 3 else None,
            lag_ms=0.01,
            max_abs_diff=0.0 if i % 3 else None,
            top1_agree=True if i % 3 else None,
            cosine=1.0 if i % 3 else None,
            agree=bool(i % 3),
        )
        for i in range(7)
    ]
    assert any_store.add_shadow_pairs(run_id, pairs) == 7
    assert any_store.add_shadow_pairs(run_id, []) == 0
    back = any_store.shadow_pairs(run_id, candidate="fast")
    assert [p.seq for p in back] == list(range(7))
    assert [p.censored for p in back] == [i % 3 == 0 for i in range(7)]
    assert back[1].candidate_ms == pytest.approx(3.0)
    assert back[1].top1_agree is True and back[0].top1_agree is None
    assert any_store.count_shadow_pairs(run_id) == 7
    runs = any_store.list_shadow_runs()
    assert runs[0].id == run_id and runs[0].candidates[0]["name"] == "fast"


def test_bad_batch_lands_nothing(any_store: Store) -> None:
    run_id = _run(any_store)
    good = ShadowPairRecord(candidate="fast", seq=1, outcome="ok", production_ms=1.0, agree=True)
    bad = ShadowPairRecord(candidate="fast", seq=2, outcome="ok", production_ms=None, agree=True)  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        any_store.add_shadow_pairs(run_id, [good, bad])
    assert any_store.count_shadow_pairs(run_id) == 0


def test_verdicts_and_deployments(any_store: Store) -> None:
    run_id = _run(any_store)
    any_store.add_shadow_verdict(
        run_id,
        ShadowVerdictRecord(
            candidate="fast",
            verdict="PASS",
            rule="pass",
            reason="PASS after 500 requests",
            final=True,
            requests_used=500,
            detail={"quantiles": []},
        ),
    )
    assert any_store.shadow_verdicts(run_id)[0].verdict == "PASS"
    for event, sha in (("gate", "a" * 64), ("promote", "b" * 64)):
        any_store.add_deployment(
            DeploymentRecord(
                event=event,
                model_name="m",
                model_sha256=sha,
                device="edge-1",
                verdict="fits" if event == "gate" else "PASS",
                reason="because",
                source="measurement" if event == "gate" else "shadow",
                slo_ms=10.0,
                predicted_ms=5.0,
                observed_ms=None if event == "gate" else 4.0,
                run_id=None if event == "gate" else run_id,
            )
        )
    events = any_store.list_deployments()
    assert [e.event for e in events] == ["promote", "gate"]  # newest first
    assert events[0].created_at is not None and events[0].run_id == run_id
    assert [e.event for e in any_store.list_deployments(model_sha256="aaaa")] == ["gate"]
    assert any_store.list_deployments(device="other") == []
    assert events[1].to_dict()["slo_ms"] == 10.0
