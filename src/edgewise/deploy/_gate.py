"""The pre-deploy gate: does MODEL meet a latency SLO on DEVICE? fits / does not fit / uncertain.

The evidence is the newest stored measurement of that model (by sha256) on that
device in the SLO's scenario (single-stream unless told: a query's own latency;
``server`` for latency under load), a VALID run before an INVALID one: the
percentile's distribution-free confidence interval from its raw latencies
(``edgewise.stats.quantile_ci``). With no single-stream measurement it asks the
trained latency predictor (``edgewise.predict``) for its 90% interval. The decision:

* ``fits`` (exit 0) when the interval's upper end is at most the SLO;
* ``does not fit`` (exit 1) when its lower end is above the SLO;
* ``uncertain`` (exit 3) when the interval straddles the SLO.

>>> result = gate("model.onnx", device="pixel7", slo_ms=20.0)   # doctest: +SKIP
>>> result.decision, result.exit_code                            # doctest: +SKIP
('fits', 0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgewise.errors import ConfigError, DataError, EdgewiseError, UnknownNameError
from edgewise.store import DeploymentRecord, Store

FITS, DOES_NOT_FIT, UNCERTAIN = "fits", "does not fit", "uncertain"
#: Scenarios whose per-query latency an SLO can apply to (an offline query's latency
#: is its time since the whole batch was issued).
SLO_SCENARIOS = ("single-stream", "multi-stream", "server")
EXIT_CODES = {FITS: 0, DOES_NOT_FIT: 1, UNCERTAIN: 3}


@dataclass(frozen=True)
class GateResult:
    """A gate decision with the numbers behind it."""

    model: str
    model_sha256: str
    device: str
    slo_ms: float
    percentile: float
    decision: str
    estimate_ms: float
    lo_ms: float
    hi_ms: float
    confidence: float
    source: str  # measurement | predictor
    reason: str
    measurement_id: int | None = None
    samples: int = 0
    event_id: int | None = None
    scenario: str = "single-stream"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.decision]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "model_sha256": self.model_sha256,
            "device": self.device,
            "slo_ms": self.slo_ms,
            "percentile": self.percentile,
            "scenario": self.scenario,
            "decision": self.decision,
            "exit_code": self.exit_code,
            "estimate_ms": self.estimate_ms,
            "lo_ms": _finite(self.lo_ms),
            "hi_ms": _finite(self.hi_ms),
            "confidence": self.confidence,
            "source": self.source,
            "reason": self.reason,
            "measurement_id": self.measurement_id,
            "samples": self.samples,
            "event_id": self.event_id,
        }


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def decide(*, lo_ms: float, hi_ms: float, slo_ms: float) -> str:
    """The three-way rule on an interval ``[lo_ms, hi_ms]``.

    >>> decide(lo_ms=1, hi_ms=2, slo_ms=3), decide(lo_ms=4, hi_ms=5, slo_ms=3), decide(lo_ms=2, hi_ms=4, slo_ms=3)
    ('fits', 'does not fit', 'uncertain')
    """
    if hi_ms <= slo_ms:
        return FITS
    if lo_ms > slo_ms:
        return DOES_NOT_FIT
    return UNCERTAIN


def predicted_latency(
    model: str | Path,
    *,
    device: str,
    percentile: float,
    confidence: float = 0.9,
    shapes: Mapping[str, Any] | None = None,
) -> tuple[float, float, float] | None:
    """``(estimate, lo, hi)`` ms from the trained latency predictor, or None.

    Uses ``edgewise.predict.predict_model`` with the predictor at
    ``edgewise.predict.default_path()`` (``edgewise predictor train`` writes it). None
    when there is no trained predictor or it does not know ``device``. The predictor
    learns the latency its training tables hold (typically a mean or median), not a
    tail percentile, so ``percentile`` is noted in the gate's reason, not modelled.
    """
    try:
        from edgewise.predict import default_path, predict_model
    except ImportError:
        return None
    if not default_path().is_file():
        return None
    try:
        pred = predict_model(str(model), device=device, alpha=1.0 - confidence, shapes=shapes)
    except UnknownNameError:  # a device the predictor was not trained on
        return None
    lo, hi = pred.interval90
    return float(pred.latency_ms), float(lo), float(hi)


def _quiet_prediction(
    model: Path, *, device: str, percentile: float, shapes: Mapping[str, Any] | None = None
) -> tuple[float, float, float] | None:
    """The predictor's estimate to store beside a measurement; None if it has none.

    The decision does not depend on it, so a model the predictor cannot read (an op it
    does not know, say) costs the record its prediction, not the gate its answer.
    """
    try:
        return predicted_latency(model, device=device, percentile=percentile, shapes=shapes)
    except EdgewiseError:
        return None


def gate(
    model: str | Path,
    *,
    device: str,
    slo_ms: float,
    percentile: float = 99.0,
    confidence: float = 0.95,
    scenario: str = "single-stream",
    shapes: Mapping[str, Any] | None = None,
    store: Store | None = None,
    record: bool = True,
) -> GateResult:
    """Decide whether ``model`` meets ``slo_ms`` at ``percentile`` on ``device``; record it.

    ``shapes`` binds a model's dynamic dims for the predictor (``--shape``)."""
    from edgewise.profile._loadgen import scenario_name
    from edgewise.runtime import load_model_info
    from edgewise.stats import quantile, quantile_ci

    scenario = scenario_name(scenario)
    if scenario not in SLO_SCENARIOS:
        raise ConfigError(
            f"--scenario {scenario!r}: a latency SLO applies to "
            f"{', '.join(SLO_SCENARIOS)} (an offline query's latency is its time since "
            "the whole batch was issued)"
        )

    if not (math.isfinite(slo_ms) and slo_ms > 0):
        raise ConfigError(f"--slo-ms must be a positive number of milliseconds, got {slo_ms}")
    if not 0.0 < percentile < 100.0:
        raise ConfigError(f"--percentile must be in (0, 100), got {percentile}")
    if not device.strip():
        raise ConfigError("--device must name a device (see `edgewise measurements list`)")
    info = load_model_info(model)
    store = store or Store()
    q = percentile / 100.0
    # The newest valid run of the scenario, else its newest run (flagged below).
    rows = store.list_measurements(
        model_sha256=info.sha256,
        device=device,
        scenario=scenario,
        valid=True,
        limit=1,
        with_latencies=True,
    ) or store.list_measurements(
        model_sha256=info.sha256, device=device, scenario=scenario, limit=1, with_latencies=True
    )
    label = f"p{percentile:g}"
    if rows:
        m = rows[0]
        lat = m.latencies_ms
        if not lat:
            raise DataError(f"measurement {m.id} has no raw latencies to gate on")
        est = quantile(lat, q)
        lo, hi = quantile_ci(lat, q, confidence=confidence)
        source, mid, n = "measurement", m.id, len(lat)
        basis = f"measured {label} {est:.3f} ms, {confidence:.0%} CI [{lo:.3f}, {hi:.3f}] ms from {n} queries (measurement {mid}, {scenario})"
        if not m.valid:  # no valid run of the scenario: the reader should know
            basis += "; LoadGen marked that run INVALID (see `edgewise measurements show`)"
    elif scenario != "single-stream":  # the predictor knows a query alone, not under load
        raise DataError(
            f"no stored {scenario} measurement of {info.name} ({info.sha256[:12]}) on "
            f"{device}: run `edgewise profile {info.path.name} --scenario {scenario}` there"
        )
    else:
        pred = predicted_latency(info.path, device=device, percentile=percentile, shapes=shapes)
        if pred is None:
            known = sorted({d.name for d in store.list_devices()})
            if device not in known:
                raise UnknownNameError(
                    "device",
                    device,
                    known,
                    advice=f"neither the store nor the trained predictor knows it; measure "
                    f"the model there with `edgewise profile {info.path.name} --device-name "
                    f"{device}`",
                )
            raise DataError(
                f"no stored measurement of {info.name} ({info.sha256[:12]}) on {device} and no "
                f"trained predictor for {device}: run `edgewise profile {info.path.name}` on "
                f"{device}, or train one with `edgewise predictor train`"
            )
        est, lo, hi = pred
        source, mid, n = "predictor", None, 0
        basis = (
            f"no measurement on {device}; predicted {est:.3f} ms, 90% interval "
            f"[{lo:.3f}, {hi:.3f}] ms (the predictor's typical latency; {label} not modelled)"
            if math.isfinite(hi)
            else f"no measurement on {device}, and the predictor has seen none of this "
            f"model's kernels: no interval (its {est:.3f} ms is a guess)"
        )
    decision = decide(lo_ms=lo, hi_ms=hi, slo_ms=slo_ms)
    why = {
        FITS: f"the whole interval is within the SLO of {slo_ms:g} ms",
        DOES_NOT_FIT: f"even the interval's lower end is over the SLO of {slo_ms:g} ms",
        UNCERTAIN: f"the interval straddles the SLO of {slo_ms:g} ms: measure more or shadow it"
        if math.isfinite(hi)
        else f"nothing bounds it against the SLO of {slo_ms:g} ms: measure it on {device}",
    }[decision]
    reason = f"{decision}: {basis}; {why}"
    # The registry keeps predicted and observed apart (they are the predictor's training
    # data): a measured value is an observation, and the predictor's estimate, when it
    # knows the device, is stored beside it.
    if source == "measurement":
        observed: float | None = est
        pred_at = _quiet_prediction(info.path, device=device, percentile=percentile, shapes=shapes)
    else:
        observed, pred_at = None, (est, lo, hi)
    event_id = None
    if record:
        event_id = store.add_deployment(
            DeploymentRecord(
                event="gate",
                model_name=info.name,
                model_sha256=info.sha256,
                device=device,
                verdict=decision,
                reason=reason,
                source=source,
                slo_ms=slo_ms,
                percentile=percentile,
                predicted_ms=pred_at[0] if pred_at else None,
                predicted_lo_ms=_finite(pred_at[1]) if pred_at else None,
                predicted_hi_ms=_finite(pred_at[2]) if pred_at else None,
                observed_ms=observed,
                detail={
                    "measurement_id": mid,
                    "scenario": scenario,
                    "samples": n,
                    "confidence": confidence,
                    "interval_ms": [_finite(lo), _finite(hi)],
                },
            )
        )
    return GateResult(
        model=info.name,
        model_sha256=info.sha256,
        device=device,
        slo_ms=slo_ms,
        percentile=percentile,
        decision=decision,
        estimate_ms=est,
        lo_ms=lo,
        hi_ms=hi,
        confidence=confidence,
        source=source,
        reason=reason,
        measurement_id=mid,
        samples=n,
        event_id=event_id,
        scenario=scenario,
    )
