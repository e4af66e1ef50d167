"""``/api/measurements`` and ``/api/deployments``: what profile and gate stored, over HTTP."""

from __future__ import annotations

from typing import Any

from edgewise.service import create_app
from edgewise.store import Store
from tests.service.conftest import add_measurement_and_gate
from tests.service.test_api import _call


def test_measurements_and_the_registry(model_path) -> None:  # type: ignore[no-untyped-def]
    store = Store("sqlite://")
    app: Any = create_app(store=store)
    assert _call(app, "GET", "/api/measurements").json() == []
    mid = add_measurement_and_gate(store, model_path("mlp-tiny"))
    (listed,) = _call(app, "GET", "/api/measurements?device=edge-box").json()
    assert listed["measurement_id"] == mid and "latencies_ms" not in listed
    assert _call(app, "GET", "/api/measurements?device=other").json() == []
    doc = _call(app, "GET", f"/api/measurements/{mid}").json()
    assert "latencies_ms" not in doc and set(doc["breakdown_ms"]) >= {"io", "compute"}
    ms, p = doc["cdf"]["ms"], doc["cdf"]["p"]
    assert len(ms) == len(p) == 201 and ms == sorted(ms) and p[0] == 0.0 and p[-1] == 1.0
    assert ms[0] <= doc["latency_ms"]["p50"] <= ms[-1]
    full = _call(app, "GET", f"/api/measurements/{mid}?latencies=true").json()
    assert len(full["latencies_ms"]) == full["queries"]
    (event,) = _call(app, "GET", "/api/deployments?device=edge-box").json()
    assert event["event"] == "gate" and event["predicted_ms"] == 0.05
    r = _call(app, "GET", "/api/measurements/999")
    assert r.status_code == 404 and "unknown measurement '999'" in r.json()["error"]
    assert _call(app, "GET", f"/api/measurements/{2**64}").status_code == 422
    r = _call(app, "GET", "/api/deployments?event=deploy")
    assert r.status_code == 400 and "--event must be one of" in r.json()["error"]
    page = _call(app, "GET", "/measurements")
    assert page.status_code == 200 and "/api/measurements" in page.text
