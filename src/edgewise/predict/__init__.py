"""Latency prediction: a scikit-learn estimator from model graph and device to ms.

>>> from edgewise.predict import LatencyPredictor, load_predictor
>>> p = LatencyPredictor().fit(x, latency_ms)            # doctest: +SKIP
>>> p.predict_interval(x_new, alpha=0.1)                  # doctest: +SKIP
>>> p.save("p.zip"); load_predictor("p.zip")              # doctest: +SKIP

Names are imported lazily so ``import edgewise.predict`` stays light (no LightGBM or
scikit-learn until a predictor is used).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DeviceMetrics": "edgewise.predict._evaluate",
    "EvaluationReport": "edgewise.predict._evaluate",
    "FORMAT_VERSION": "edgewise.predict._persist",
    "FewShotReport": "edgewise.predict._fewshot",
    "LatencyPredictor": "edgewise.predict._estimator",
    "Prediction": "edgewise.predict._service",
    "default_path": "edgewise.predict._persist",
    "demo_section": "edgewise.predict._demo",
    "evaluate": "edgewise.predict._evaluate",
    "fewshot": "edgewise.predict._fewshot",
    "load_predictor": "edgewise.predict._persist",
    "predict_model": "edgewise.predict._service",
    "regression_metrics": "edgewise.predict._evaluate",
    "save_predictor": "edgewise.predict._persist",
    "train_predictor": "edgewise.predict._service",
}

__all__ = [
    "FORMAT_VERSION",
    "DeviceMetrics",
    "EvaluationReport",
    "FewShotReport",
    "LatencyPredictor",
    "Prediction",
    "default_path",
    "demo_section",
    "evaluate",
    "fewshot",
    "load_predictor",
    "predict_model",
    "regression_metrics",
    "save_predictor",
    "train_predictor",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'edgewise.predict' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
