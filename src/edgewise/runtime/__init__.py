"""Runtimes: the one model-loading path, input synthesis, and backends (ORT, LiteRT).

>>> from edgewise.runtime import load_model_info, open_backend   # doctest: +SKIP
>>> backend = open_backend(load_model_info("model.onnx"))        # doctest: +SKIP
"""

from __future__ import annotations

from edgewise.runtime._inputs import (
    Feeds,
    load_npz,
    parse_shape_overrides,
    resolve_shapes,
    synthesize,
)
from edgewise.runtime._model import ModelInfo, TensorSpec, load_model_info, sha256_file
from edgewise.runtime.backends import (
    BACKENDS,
    Backend,
    BackendConfig,
    OperatorTime,
    TimedRun,
    open_backend,
)

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendConfig",
    "Feeds",
    "ModelInfo",
    "OperatorTime",
    "TensorSpec",
    "TimedRun",
    "load_model_info",
    "load_npz",
    "open_backend",
    "parse_shape_overrides",
    "resolve_shapes",
    "sha256_file",
    "synthesize",
]
