"""Shadow deployment: judge candidates on mirrored, paired production traffic.

>>> from edgewise.shadow import Judge
>>> judge = Judge(["cand"], warmup=0, look_every=2)
>>> judge.add("cand", production_ms=1.0, candidate_ms=None).verdict
<Decision.PENDING: 'PENDING'>
"""

from __future__ import annotations

from edgewise.shadow._demo import demo_section
from edgewise.shadow._judge import Judge
from edgewise.shadow._verdict import (
    AgreementCheck,
    AlphaPlan,
    Decision,
    QuantileCheck,
    Verdict,
)

__all__ = [
    "AgreementCheck",
    "AlphaPlan",
    "Decision",
    "Judge",
    "QuantileCheck",
    "Verdict",
    "demo_section",
]
