"""Frozen dataclasses for shadow runs, their paired records and the deployment registry.

>>> ShadowPairRecord(candidate="c", seq=1, outcome="ok", production_ms=1.0, agree=True).censored
False
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: What happened to a candidate's copy of a request.
OUTCOMES = ("ok", "timeout", "error", "unavailable")

#: Registry events.
EVENTS = ("gate", "promote", "rollback")


@dataclass(frozen=True)
class ShadowRunRecord:
    """One ``edgewise shadow serve`` run: who was production, who were candidates, settings."""

    name: str
    device: str
    production: dict[str, Any]
    candidates: list[dict[str, Any]]
    settings: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class ShadowPairRecord:
    """One request as seen by production and by one candidate.

    Each latency is timed by its own replica with its own monotonic clock, from when
    the request reached that replica to when its response was ready. ``lag_ms`` is the
    gateway's delay between dispatching to production and dispatching to the
    candidate (one clock, the gateway's). ``candidate_ms`` is ``None`` when the
    candidate timed out, failed or was down (``outcome`` says which): censored.
    """

    candidate: str
    seq: int
    outcome: str
    production_ms: float
    agree: bool
    request_id: str = ""
    production_compute_ms: float | None = None
    production_io_ms: float | None = None
    candidate_ms: float | None = None
    candidate_compute_ms: float | None = None
    candidate_io_ms: float | None = None
    lag_ms: float | None = None
    max_abs_diff: float | None = None
    rel_diff: float | None = None
    top1_agree: bool | None = None
    cosine: float | None = None
    run_id: int | None = None
    id: int | None = None
    created_at: datetime | None = None

    @property
    def censored(self) -> bool:
        return self.candidate_ms is None


@dataclass(frozen=True)
class ShadowVerdictRecord:
    """A judge verdict for one candidate at one look (stored when it changes)."""

    candidate: str
    verdict: str
    rule: str
    reason: str
    final: bool
    requests_used: int
    detail: dict[str, Any] = field(default_factory=dict)
    run_id: int | None = None
    id: int | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class DeploymentRecord:
    """A deployment event: a gate decision, a promotion or a rollback, and why.

    ``predicted_ms`` (and its interval) comes from the predictor; ``observed_ms`` from
    the shadow run, or from the stored measurement a gate decided on. These rows are
    the predictor's training data.
    """

    event: str
    model_name: str
    model_sha256: str
    device: str
    verdict: str
    reason: str
    source: str
    slo_ms: float | None = None
    percentile: float | None = None
    predicted_ms: float | None = None
    predicted_lo_ms: float | None = None
    predicted_hi_ms: float | None = None
    observed_ms: float | None = None
    run_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    created_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.created_at.isoformat() if self.created_at else None,
            "event": self.event,
            "model": self.model_name,
            "model_sha256": self.model_sha256,
            "device": self.device,
            "verdict": self.verdict,
            "reason": self.reason,
            "source": self.source,
            "slo_ms": self.slo_ms,
            "percentile": self.percentile,
            "predicted_ms": self.predicted_ms,
            "predicted_lo_ms": self.predicted_lo_ms,
            "predicted_hi_ms": self.predicted_hi_ms,
            "observed_ms": self.observed_ms,
            "run_id": self.run_id,
            "detail": self.detail,
        }
