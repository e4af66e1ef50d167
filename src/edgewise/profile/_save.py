"""Persist a profile result through the one store API."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from edgewise.profile._result import ProfileResult
from edgewise.store import Store


def save_result(result: ProfileResult, store: Store) -> ProfileResult:
    """Write ``result`` (model, device, measurement) in one transaction; returns it with its id."""
    measurement, model, device = result.to_records()
    mid = store.add_measurement(measurement, model=model, device=device)
    return replace(result, measurement_id=mid)


def measurement_doc(m: Any, *, full: bool = False) -> dict[str, Any]:
    """A stored measurement (``MeasurementRecord``) in the same shape as ``profile --json``
    (``measurements show``, ``GET /api/measurements/{id}``)."""
    doc: dict[str, Any] = {
        "measurement_id": m.id,
        "created_at": m.created_at.isoformat() if m.created_at else None,
        "model": {
            "name": m.model.name,
            "sha256": m.model.sha256,
            "format": m.model.format,
            "size_bytes": m.model.size_bytes,
            "path": m.model.path,
            "inputs": m.model.input_signature,
        },
        "device": {"name": m.device.name, "fingerprint_sha": m.device.fingerprint_sha},
        "scenario": m.scenario,
        "backend": m.backend,
        "queries": m.queries,
        "valid": m.valid,
        **m.summary,
    }
    if full:
        doc["device"] |= m.environment
        doc["settings"] = m.settings
        doc["latencies_ms"] = list(m.latencies_ms)
        doc["histogram"] = m.histogram
        doc["loadgen_summary"] = m.loadgen_summary
        doc["loadgen_detail"] = m.loadgen_detail
    return doc
