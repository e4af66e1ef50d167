"""``/api/shadow/runs``: stored shadow runs over HTTP, the same data as `shadow show`."""

from __future__ import annotations

from typing import Any

from edgewise.service import create_app
from edgewise.store import Store
from tests.service.conftest import add_shadow_run
from tests.service.test_api import _call


def test_runs_run_and_bands() -> None:
    store = Store("sqlite://")
    app: Any = create_app(store=store)
    assert _call(app, "GET", "/api/shadow/runs").json() == []
    run_id = add_shadow_run(store)
    (listed,) = _call(app, "GET", "/api/shadow/runs").json()
    assert listed["id"] == run_id and listed["verdicts"] == {"slow": "FAIL"}
    doc = _call(app, "GET", f"/api/shadow/runs/{run_id}").json()
    (slow,) = doc["candidates"]
    assert (slow["pairs"], slow["censored"], slow["verdict"]) == (200, 2, "FAIL")
    assert slow["candidate"]["p50"]["ms"] > 2.5 * slow["production"]["p50"]["ms"]
    assert slow["candidate"]["p99"]["ci95"][1] is None  # censored copies reach infinity
    assert [e["event"] for e in doc["events"]] == ["rollback"]
    bands = _call(app, "GET", f"/api/shadow/runs/{run_id}/bands?candidate=slow").json()
    assert len(bands["production"]["x"]) == len(bands["candidate"]["p50"]) > 3
    assert max(bands["production"]["p90"]) < min(bands["candidate"]["p10"])
    page = _call(app, "GET", "/shadow")
    assert page.status_code == 200 and "/api/shadow/runs" in page.text


def test_unknown_runs_and_candidates_are_404_with_json() -> None:
    store = Store("sqlite://")
    app: Any = create_app(store=store)
    run_id = add_shadow_run(store)
    r = _call(app, "GET", "/api/shadow/runs/999")
    assert r.status_code == 404 and "unknown shadow run '999'" in r.json()["error"]
    r = _call(app, "GET", f"/api/shadow/runs/{run_id}/bands?candidate=fast")
    assert r.status_code == 404 and "unknown candidate 'fast'" in r.json()["error"]
    r = _call(app, "GET", f"/api/shadow/runs/{run_id}/bands")
    assert r.status_code == 422 and "candidate" in r.json()["error"]
    r = _call(app, "GET", "/api/shadow/runs?limit=0")
    assert r.status_code == 422
    # an id no database integer holds is a 422, not the driver's OverflowError (a 500)
    r = _call(app, "GET", f"/api/shadow/runs/{2**64}")
    assert r.status_code == 422 and "run_id" in r.json()["error"]


def test_a_candidate_without_pairs_is_named_as_such() -> None:
    """It said "unknown candidate 'idle' (did you mean 'idle'?)"."""
    from edgewise.store import ShadowRunRecord

    store = Store("sqlite://")
    app: Any = create_app(store=store)
    run_id = store.add_shadow_run(
        ShadowRunRecord(
            name="cnn",
            device="edge-1",
            production={"name": "production", "sha256": "a" * 64},
            candidates=[{"name": "idle", "sha256": "b" * 64}],
        )
    )
    r = _call(app, "GET", f"/api/shadow/runs/{run_id}/bands?candidate=idle")
    assert 400 <= r.status_code < 500 and "no paired requests" in r.json()["error"]
    assert "did you mean" not in r.json()["error"]
    slo = _call(app, "POST", "/api/recommend", json={"benchmark": "resnet50", "slo_ms": True})
    assert slo.status_code == 422  # JSON true is not 1 ms
