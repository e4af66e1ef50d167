"""LiteRT (TFLite) backend."""

from edgewise.runtime.backends.litert.backend import LiteRTBackend

__all__ = ["LiteRTBackend"]
