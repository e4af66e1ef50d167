"""Recommend chips: a catalog of chips and results, missing-cell prediction, ranking.

"MLPerf as a service": the latency of a model on many chips, measured where the catalog
has a result and predicted by low-rank completion where it does not, and the best chip
for a latency SLO, a power budget or a cost.

>>> from edgewise.store import Store
>>> from edgewise.recommend import import_catalog, recommend
>>> store = Store()                                          # doctest: +SKIP
>>> import_catalog(store)                                    # doctest: +SKIP
>>> recommend("resnet50", slo_ms=2.0, store=store).summary()  # doctest: +SKIP
"""

from __future__ import annotations

from edgewise._paths import data_dir
from edgewise.recommend._catalog import (
    SOURCES,
    Catalog,
    ImportReport,
    LatencyCell,
    SourceSummary,
    import_catalog,
)
from edgewise.recommend._completion import LowRankCompleter
from edgewise.recommend._demo import demo_section
from edgewise.recommend._evaluate import HeldoutEvaluation, evaluate_heldout
from edgewise.recommend._figures import ranking_figure
from edgewise.recommend._importers import RowProblem
from edgewise.recommend._model import CatalogModel, Estimate
from edgewise.recommend._model_features import ModelFeatures, model_features
from edgewise.recommend._recommend import (
    FITS,
    OBJECTIVES,
    ChipOption,
    Recommendation,
    recommend,
)
from edgewise.recommend._specs import CHIP_SPECS, MODEL_FEATURES, Sourced

__all__ = [
    "CHIP_SPECS",
    "FITS",
    "MODEL_FEATURES",
    "OBJECTIVES",
    "SOURCES",
    "Catalog",
    "CatalogModel",
    "ChipOption",
    "Estimate",
    "HeldoutEvaluation",
    "ImportReport",
    "LatencyCell",
    "LowRankCompleter",
    "ModelFeatures",
    "Recommendation",
    "RowProblem",
    "SourceSummary",
    "Sourced",
    "data_dir",
    "demo_section",
    "evaluate_heldout",
    "import_catalog",
    "model_features",
    "ranking_figure",
    "recommend",
]
