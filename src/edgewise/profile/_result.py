"""The result of one profile run, its JSON interface and its store record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgewise.runtime import ModelInfo, OperatorTime
from edgewise.stats import LatencySummary, LogHistogram
from edgewise.store import DeviceRecord, MeasurementRecord, ModelRecord

#: How many operators the JSON and the table list.
TOP_OPERATORS = 15


def _pcts(summary: LatencySummary) -> dict[str, float]:
    return {"p50": summary.p50_ms, "p90": summary.p90_ms, "p99": summary.p99_ms}


@dataclass(frozen=True)
class ProfileResult:
    """Everything ``edgewise profile`` measured, with units in the field names."""

    model: ModelInfo
    device_name: str
    fingerprint: dict[str, Any]
    fingerprint_sha: str
    scenario: str
    settings: dict[str, Any]
    queries: int
    valid: bool
    latency: LatencySummary
    io: LatencySummary
    compute: LatencySummary
    queue: LatencySummary
    unaccounted_p50_ms: float
    early_stopping_ms: float | None
    early_stopping_percentile: float
    throughput_qps: float
    operators: tuple[OperatorTime, ...]
    warnings: tuple[str, ...]
    loadgen_summary: str
    loadgen_detail: str
    loadgen: dict[str, Any]
    latencies_ms: np.ndarray = field(repr=False)
    measurement_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document; its field names are a stable interface."""
        return {
            "model": self.model.to_dict(),
            "device": {
                "name": self.device_name,
                "fingerprint_sha": self.fingerprint_sha,
                **self.fingerprint,
            },
            "scenario": self.scenario,
            "settings": self.settings,
            "queries": self.queries,
            "valid": self.valid,
            "latency_ms": {
                **self.latency.percentiles(),
                "ci95": {k: list(v) for k, v in self.latency.ci95.items()},
            },
            "early_stopping_ms": self.early_stopping_ms,
            "early_stopping_percentile": self.early_stopping_percentile,
            "throughput_qps": self.throughput_qps,
            "breakdown_ms": {
                "io": _pcts(self.io),
                "compute": _pcts(self.compute),
                "queue": _pcts(self.queue),
                "unaccounted_p50": self.unaccounted_p50_ms,
            },
            "operators": [o.to_dict() for o in self.operators[:TOP_OPERATORS]],
            "warnings": list(self.warnings),
            "loadgen": self.loadgen,
            "measurement_id": self.measurement_id,
        }

    def to_records(self) -> tuple[MeasurementRecord, ModelRecord, DeviceRecord]:
        """What the store keeps: summary JSON, raw latencies, histogram and LoadGen logs."""
        doc = self.to_json()
        summary = {
            k: doc[k]
            for k in (
                "latency_ms",
                "early_stopping_ms",
                "early_stopping_percentile",
                "throughput_qps",
                "breakdown_ms",
                "operators",
                "warnings",
                "loadgen",
            )
        }
        measurement = MeasurementRecord(
            scenario=self.scenario,
            backend=str(self.settings.get("backend", "")),
            settings=self.settings,
            queries=self.queries,
            valid=self.valid,
            summary=summary,
            environment=self.fingerprint,
            latencies_ms=tuple(float(x) for x in self.latencies_ms),
            histogram=LogHistogram.from_values(self.latencies_ms).to_dict(),
            loadgen_summary=self.loadgen_summary,
            loadgen_detail=self.loadgen_detail,
        )
        model = ModelRecord.from_info(self.model)
        device = DeviceRecord(
            name=self.device_name,
            kind="cpu",
            fingerprint_sha=self.fingerprint_sha,
            fingerprint=self.fingerprint,
        )
        return measurement, model, device
