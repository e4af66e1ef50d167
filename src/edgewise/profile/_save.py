"""Persist a profile result through the one store API."""

from __future__ import annotations

from dataclasses import replace

from edgewise.profile._result import ProfileResult
from edgewise.store import Store


def save_result(result: ProfileResult, store: Store) -> ProfileResult:
    """Write ``result`` (model, device, measurement) in one transaction; returns it with its id."""
    measurement, model, device = result.to_records()
    mid = store.add_measurement(measurement, model=model, device=device)
    return replace(result, measurement_id=mid)
