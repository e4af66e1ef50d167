"""Output agreement between production's and a candidate's answer to the same request.

>>> import numpy as np
>>> a = Agreement.of([np.array([[0.1, 0.9]])], [np.array([[0.2, 0.8]])])
>>> a.top1_agree, a.agree, round(a.max_abs_diff, 3)
(True, True, 0.1)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Default relative tolerance for outputs that are not classifier scores.
REL_TOL = 1e-2


@dataclass(frozen=True)
class Agreement:
    """How close two answers are, over all outputs together.

    ``max_abs_diff`` and ``rel_diff`` (= max abs diff / max |production|) over every
    element; ``cosine`` similarity of the flattened outputs; ``top1_agree`` compares
    the arg-max of the first output whose last axis has 2+ float scores (None when
    no output looks like a classifier's). ``agree`` is ``top1_agree`` when defined,
    else ``rel_diff <= rel_tol``. Outputs of different shapes never agree. A non-finite
    value agrees only where production has the same one: a request whose input makes
    both answers NaN (a client can send NaN) is not the candidate's fault, and must not
    let any client fail a candidate that answers exactly like production.
    """

    max_abs_diff: float | None
    rel_diff: float | None
    top1_agree: bool | None
    cosine: float | None
    agree: bool

    @classmethod
    def of(
        cls,
        production: Sequence[np.ndarray],
        candidate: Sequence[np.ndarray],
        *,
        rel_tol: float = REL_TOL,
    ) -> Agreement:
        if len(production) != len(candidate) or any(
            p.shape != c.shape for p, c in zip(production, candidate, strict=False)
        ):
            return cls(None, None, None, None, False)
        if not production:
            return cls(0.0, 0.0, None, None, True)
        if all(
            p.dtype == c.dtype and p.tobytes() == c.tobytes()
            for p, c in zip(production, candidate, strict=True)
        ):  # identical answers (the common case): no arithmetic needed
            top1 = next((True for p in production if _scores(p)), None)
            any_nonzero = any(p.any() for p in production)
            return cls(0.0, 0.0, top1, 1.0 if any_nonzero else None, True)
        p = np.concatenate([np.asarray(x, dtype=np.float64).ravel() for x in production])
        c = np.concatenate([np.asarray(x, dtype=np.float64).ravel() for x in candidate])
        finite = np.isfinite(p) & np.isfinite(c)
        if not finite.all():
            same = (p == c) | (np.isnan(p) & np.isnan(c))
            if not (finite | same).all():  # non-finite where production is not (or differs)
                return cls(None, None, False, None, False)
            p, c = p[finite], c[finite]
        diff = float(np.max(np.abs(p - c))) if p.size else 0.0
        scale = float(np.max(np.abs(p))) if p.size else 0.0
        rel = diff / scale if scale > 0 else (0.0 if diff == 0 else math.inf)
        norm = float(np.linalg.norm(p) * np.linalg.norm(c))
        cosine = float(np.dot(p, c) / norm) if norm > 0 else None
        top1 = None
        for pa, ca in zip(production, candidate, strict=True):
            if _scores(pa):
                top1 = bool(np.array_equal(np.argmax(pa, axis=-1), np.argmax(ca, axis=-1)))
                break
        agree = top1 if top1 is not None else rel <= rel_tol
        return cls(diff, rel, top1, cosine, bool(agree))


def _scores(arr: np.ndarray) -> bool:
    """Whether an output looks like classifier scores (floats, 2+ along the last axis)."""
    return arr.ndim >= 1 and arr.shape[-1] >= 2 and arr.dtype.kind == "f"
