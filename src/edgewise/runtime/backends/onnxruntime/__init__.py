"""ONNX Runtime backend."""

from edgewise.runtime.backends.onnxruntime.backend import OnnxRuntimeBackend, operators_from_trace

__all__ = ["OnnxRuntimeBackend", "operators_from_trace"]
