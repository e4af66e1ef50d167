"""Shadow deployment: judge candidates on mirrored, paired production traffic.

>>> from edgewise.shadow import Judge
>>> judge = Judge(["cand"], warmup=0, look_every=2)
>>> judge.add("cand", production_ms=1.0, candidate_ms=None).verdict
<Decision.PENDING: 'PENDING'>

The names load on first use (PEP 562): the gateway's worker processes import
``edgewise.shadow.gateway._worker`` without paying for the judge's statistics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgewise._lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
