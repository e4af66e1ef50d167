"""Runtime backends, loaded by name so that unused runtimes are never imported."""

from __future__ import annotations

import importlib

from edgewise.errors import ConfigError, UnknownNameError
from edgewise.runtime._model import ModelInfo
from edgewise.runtime.backends.base import Backend, BackendConfig, OperatorTime, TimedRun

#: name -> (module, class); the module is imported on first use.
BACKENDS: dict[str, tuple[str, str]] = {
    "onnxruntime": ("edgewise.runtime.backends.onnxruntime.backend", "OnnxRuntimeBackend"),
    "litert": ("edgewise.runtime.backends.litert.backend", "LiteRTBackend"),
}
_FORMAT_BACKEND = {"onnx": "onnxruntime", "tflite": "litert"}
_ALIASES = {"ort": "onnxruntime", "tflite": "litert", "auto": "auto"}


def open_backend(
    info: ModelInfo, *, backend: str = "auto", config: BackendConfig | None = None
) -> Backend:
    """Load ``info`` in the named backend (``auto`` picks by model format)."""
    name = _ALIASES.get(backend, backend)
    if name == "auto":
        name = _FORMAT_BACKEND[info.format]
    if name not in BACKENDS:
        raise UnknownNameError("backend", backend, [*BACKENDS, "auto"])
    if _FORMAT_BACKEND[info.format] != name:
        raise ConfigError(f"backend {name} cannot run a .{info.format} model")
    module, cls = BACKENDS[name]
    backend_cls = getattr(importlib.import_module(module), cls)
    return backend_cls(info, config or BackendConfig())  # type: ignore[no-any-return]


__all__ = ["BACKENDS", "Backend", "BackendConfig", "OperatorTime", "TimedRun", "open_backend"]
