"""A store with the MLPerf Tiny results imported (small and fast)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgewise.recommend import import_catalog
from edgewise.store import Store


@pytest.fixture(scope="module")
def tiny_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('svc') / 'svc.db'}")
    import_catalog(store, data=shared_data, sources=("mlperf_tiny",))
    return store


def add_shadow_run(store: Store) -> int:
    """A stored shadow run: candidate ``slow`` (3x production, 2 timeouts) FAILed, and a
    rollback event, as a gateway would have written them."""
    from edgewise.store import (
        DeploymentRecord,
        ShadowPairRecord,
        ShadowRunRecord,
        ShadowVerdictRecord,
    )

    run_id = store.add_shadow_run(
        ShadowRunRecord(
            name="cnn",
            device="edge-1",
            production={"name": "production", "sha256": "a" * 64, "path": "/m/cnn.onnx"},
            candidates=[{"name": "slow", "sha256": "b" * 64, "path": "/m/slow.onnx"}],
        )
    )
    store.add_shadow_pairs(
        run_id,
        [
            ShadowPairRecord(
                candidate="slow",
                seq=i,
                outcome="timeout" if i in (7, 70) else "ok",
                production_ms=1.0 + 0.01 * (i % 10),
                candidate_ms=None if i in (7, 70) else 3.0 + 0.01 * (i % 10),
                agree=True,
            )
            for i in range(200)
        ],
    )
    reason = "FAIL after 150 requests: p50 is over 1.10x production"
    store.add_shadow_verdict(
        run_id,
        ShadowVerdictRecord(
            candidate="slow",
            verdict="FAIL",
            rule="fail",
            reason=reason,
            final=True,
            requests_used=150,
        ),
    )
    store.add_deployment(
        DeploymentRecord(
            event="rollback",
            model_name="slow",
            model_sha256="b" * 64,
            device="edge-1",
            verdict="FAIL",
            reason="auto rollback: " + reason,
            source="shadow",
            run_id=run_id,
        )
    )
    return run_id


def add_measurement_and_gate(store: Store, model: Path) -> int:
    """A real profile run of ``model`` saved as measured on ``edge-box``, and a gate event
    with a prediction beside the measured value; returns the measurement id."""
    from edgewise.profile import ProfileSettings, profile_model, save_result
    from edgewise.store import DeploymentRecord

    settings = ProfileSettings(
        duration_s=0.5,
        min_queries=64,
        warmup=5,
        threads=1,
        operator_runs=3,
        device_name="edge-box",
    )
    result = save_result(profile_model(model, settings), store)
    store.add_deployment(
        DeploymentRecord(
            event="gate",
            model_name=result.model.name,
            model_sha256=result.model.sha256,
            device="edge-box",
            verdict="fits",
            reason="fits: test",
            source="measurement",
            slo_ms=5.0,
            percentile=99.0,
            predicted_ms=0.05,
            predicted_lo_ms=0.03,
            predicted_hi_ms=0.08,
            observed_ms=result.latency.p99_ms,
        )
    )
    assert result.measurement_id is not None
    return result.measurement_id
