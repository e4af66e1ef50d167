"""Split-conformal quantiles: the score threshold that gives finite-sample coverage.

For ``n`` exchangeable calibration scores and a new one, the
``ceil((n + 1) * (1 - alpha))``-th smallest score is exceeded with probability at most
``alpha`` (Vovk et al.; Lei et al. 2018). With too few scores the threshold is infinite.

>>> conformal_quantile([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0,
...                     1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9], alpha=0.1)
1.8
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from edgewise.errors import ConfigError
from edgewise.stats._quantiles import _as_floats, _check_unit


def conformal_quantile(scores: Sequence[float] | np.ndarray, *, alpha: float) -> float:
    """The conformal threshold of nonconformity ``scores`` at miscoverage ``alpha``."""
    _check_unit(alpha, "alpha")
    xs = np.sort(_as_floats(scores, "conformal scores"))
    if xs.size and not np.all(np.isfinite(xs)):
        raise ConfigError("conformal scores must be finite")
    rank = math.ceil((xs.size + 1) * (1.0 - alpha) - 1e-9)
    if rank > xs.size:
        return math.inf
    return float(xs[max(rank, 1) - 1])
