"""Shadow deployment: judge candidates on mirrored, paired production traffic.

>>> from edgewise.shadow import Judge
>>> judge = Judge(["cand"], warmup=0, look_every=2)
>>> judge.add("cand", production_ms=1.0, candidate_ms=None).verdict
<Decision.PENDING: 'PENDING'>

The names load on first use (PEP 562): the gateway's worker processes import
``edgewise.shadow.gateway._worker`` without paying for the judge's statistics.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgewise.shadow._demo import demo_section
    from edgewise.shadow._judge import Judge
    from edgewise.shadow._verdict import (
        AgreementCheck,
        AlphaPlan,
        Decision,
        QuantileCheck,
        Verdict,
    )

_WHERE = {
    "AgreementCheck": "_verdict",
    "AlphaPlan": "_verdict",
    "Decision": "_verdict",
    "Judge": "_judge",
    "QuantileCheck": "_verdict",
    "Verdict": "_verdict",
    "demo_section": "_demo",
}

__all__ = [
    "AgreementCheck",
    "AlphaPlan",
    "Decision",
    "Judge",
    "QuantileCheck",
    "Verdict",
    "demo_section",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{where}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
