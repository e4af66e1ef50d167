"""Deployment lifecycle: the pre-deploy gate and the deployment registry.

>>> from edgewise.deploy import gate
>>> result = gate("model.onnx", device="edge-1", slo_ms=10.0)   # doctest: +SKIP
>>> result.decision                                              # doctest: +SKIP
'fits'
"""

from __future__ import annotations

from edgewise.deploy._gate import (
    DOES_NOT_FIT,
    EXIT_CODES,
    FITS,
    UNCERTAIN,
    GateResult,
    decide,
    gate,
    predicted_latency,
)
from edgewise.deploy._registry import list_deployments

__all__ = [
    "DOES_NOT_FIT",
    "EXIT_CODES",
    "FITS",
    "UNCERTAIN",
    "GateResult",
    "decide",
    "gate",
    "list_deployments",
    "predicted_latency",
]
