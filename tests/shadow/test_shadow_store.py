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


def test_a_run_reads_back_and_feeds_the_training_table(any_store: Store, model_path) -> None:  # type: ignore[no-untyped-def]
    """`shadow show` and `data export` on both stores (PostgreSQL hands back times with a
    zone, SQLite without: production's times count until the first promotion either way)."""
    from edgewise.data import store_table
    from edgewise.shadow._history import list_runs, run_report

    cnn = str(model_path("cnn-small"))
    run_id = any_store.add_shadow_run(
        ShadowRunRecord(
            name="cnn",
            device="edge-1",
            production={"name": "production", "sha256": "a" * 64, "path": cnn},
            candidates=[{"name": "fast", "sha256": "a" * 64, "path": cnn}],
        )
    )
    assert any_store.get_shadow_run(run_id) == any_store.list_shadow_runs()[0]
    assert any_store.get_shadow_run(run_id + 1) is None

    def pairs(prod_ms: float, seqs: range) -> list[ShadowPairRecord]:
        return [
            ShadowPairRecord(
                candidate="fast",
                seq=s,
                outcome="ok",
                production_ms=prod_ms,
                candidate_ms=1.0,
                agree=True,
            )
            for s in seqs
        ]

    any_store.add_shadow_pairs(run_id, pairs(3.0, range(30)))
    any_store.add_shadow_verdict(
        run_id,
        ShadowVerdictRecord(
            candidate="fast",
            verdict="PASS",
            rule="pass",
            reason="PASS after 30 requests: ok",
            final=True,
            requests_used=30,
        ),
    )
    any_store.add_deployment(
        DeploymentRecord(
            event="promote",
            model_name="fast",
            model_sha256="a" * 64,
            device="edge-1",
            verdict="PASS",
            reason="auto",
            source="shadow",
            run_id=run_id,
        )
    )
    any_store.add_shadow_pairs(run_id, pairs(50.0, range(30, 40)))
    (listed,) = list_runs(any_store)
    assert listed["pairs"] == 40 and listed["verdicts"] == {"fast": "PASS"}
    report = run_report(any_store, run_id)
    (fast,) = report["candidates"]
    assert fast["verdict"] == "PASS" and fast["history"][0]["final"] and fast["pairs"] == 40
    assert [e["event"] for e in report["events"]] == ["promote"]
    table = store_table(any_store, sources=["shadow"])
    # one model file for both replicas: production's row (3.0, before the promotion)
    # comes first and the candidate's is its duplicate
    assert table.frame["latency_ms"].tolist() == [3.0]
    assert [p.reason for p in table.problems] == ["duplicate"]
