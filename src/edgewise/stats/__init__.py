"""One statistics module for the whole project: quantiles, their CIs, early stopping, drift.

>>> from edgewise.stats import LatencySummary
>>> LatencySummary.from_values([1.0, 2.0, 3.0]).p50_ms
2.0
"""

from __future__ import annotations

from edgewise.stats._conformal import conformal_quantile
from edgewise.stats._drift import DriftCheck
from edgewise.stats._early_stopping import (
    EARLY_STOPPING_CONFIDENCE,
    early_stopping_estimate,
    min_queries_for_early_stopping,
)
from edgewise.stats._histogram import LogHistogram
from edgewise.stats._quantiles import (
    PERCENTILES,
    LatencySummary,
    order_statistic_bounds,
    quantile,
    quantile_ci,
)
from edgewise.stats._sequential import (
    bernoulli_log_evalue,
    paired_quantile_log_evalue,
    paired_ratio_bounds,
    proportion_cs,
    proportion_log_evalues,
    quantile_cs,
    quantile_cs_ranks,
)

__all__ = [
    "EARLY_STOPPING_CONFIDENCE",
    "PERCENTILES",
    "DriftCheck",
    "LatencySummary",
    "LogHistogram",
    "bernoulli_log_evalue",
    "conformal_quantile",
    "early_stopping_estimate",
    "min_queries_for_early_stopping",
    "order_statistic_bounds",
    "paired_quantile_log_evalue",
    "paired_ratio_bounds",
    "proportion_cs",
    "proportion_log_evalues",
    "quantile",
    "quantile_ci",
    "quantile_cs",
    "quantile_cs_ranks",
]
