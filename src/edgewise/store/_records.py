"""Frozen dataclasses that cross the store boundary."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np


@dataclass(frozen=True)
class DeviceRecord:
    """A device (a machine plus its environment fingerprint)."""

    name: str
    kind: str
    fingerprint_sha: str
    fingerprint: dict[str, Any]
    id: int | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class ModelRecord:
    """A model file, identified by its sha256."""

    sha256: str
    name: str
    format: str
    size_bytes: int
    input_signature: list[dict[str, Any]]
    path: str | None = None
    id: int | None = None
    created_at: datetime | None = None

    @classmethod
    def from_info(cls, info: Any) -> ModelRecord:
        """From ``edgewise.runtime.ModelInfo`` (what the one model-loading path reads)."""
        return cls(
            sha256=info.sha256,
            name=info.name,
            format=info.format,
            size_bytes=info.size_bytes,
            input_signature=[s.to_dict() for s in info.inputs],
            path=str(info.path),
        )


@dataclass(frozen=True)
class MeasurementRecord:
    """One profile run: settings, summary, raw latencies and LoadGen's own logs."""

    scenario: str
    backend: str
    settings: dict[str, Any]
    queries: int
    valid: bool
    summary: dict[str, Any]
    environment: dict[str, Any]
    latencies_ms: tuple[float, ...]
    histogram: dict[str, Any]
    loadgen_summary: str
    loadgen_detail: str
    model: ModelRecord | None = None
    device: DeviceRecord | None = None
    id: int | None = None
    created_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def p50_ms(self) -> float:
        return float(self.summary["latency_ms"]["p50"])

    @property
    def p99_ms(self) -> float:
        return float(self.summary["latency_ms"]["p99"])


@dataclass(frozen=True)
class LatencyRecord:
    """One row of a latency table: (space, arch) or a model sha, a device and a latency."""

    device: str
    latency_ms: float
    space: str = ""
    arch: str = ""
    model_sha256: str = ""
    source: str = ""


def pack_latencies(values_ms: tuple[float, ...] | list[float] | np.ndarray) -> bytes:
    """Compress per-query latencies: float32 little-endian, zlib."""
    return zlib.compress(np.asarray(values_ms, dtype="<f4").tobytes(), 6)


def unpack_latencies(blob: bytes) -> tuple[float, ...]:
    return tuple(float(x) for x in np.frombuffer(zlib.decompress(blob), dtype="<f4"))


@dataclass(frozen=True)
class ChipRecord:
    """A chip in the catalog; ``specs`` maps a field to ``{"value": ..., "source": ...}``."""

    name: str
    kind: str
    vendor: str = ""
    origins: tuple[str, ...] = ()
    specs: dict[str, dict[str, Any]] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    id: int | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class CatalogResultRecord:
    """One published or measured result of a chip on a benchmark (a catalog row)."""

    chip: str
    origin: str
    benchmark: str
    scenario: str
    metric: str
    value: float
    units: str
    system: str = ""
    submitter: str = ""
    round: str = ""
    division: str = ""
    category: str = ""
    software: str = ""
    source: str = ""
