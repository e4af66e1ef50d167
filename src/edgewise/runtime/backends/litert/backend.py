"""LiteRT (TFLite) backend through ``ai_edge_litert``'s interpreter."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from edgewise.errors import RuntimeBackendError, ShapeError
from edgewise.runtime._model import ModelInfo
from edgewise.runtime._tflite_signature import open_interpreter
from edgewise.runtime.backends.base import Backend, BackendConfig


class LiteRTBackend(Backend):
    """A LiteRT interpreter: ``set_tensor`` is I/O in, ``invoke`` compute, ``get_tensor`` I/O out."""

    name = "litert"

    def __init__(self, info: ModelInfo, config: BackendConfig) -> None:
        super().__init__(info, config)
        self.interp = open_interpreter(info.path, threads=config.threads)
        self._in = {d["name"]: d for d in self.interp.get_input_details()}
        self._out = [d["index"] for d in self.interp.get_output_details()]
        self._prepared = False

    def prepare(self, shapes: Mapping[str, tuple[int, ...]]) -> None:
        try:
            for name, shape in shapes.items():
                if tuple(self._in[name]["shape"]) != tuple(shape):
                    self.interp.resize_tensor_input(self._in[name]["index"], list(shape))
            self.interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ShapeError(f"LiteRT rejected the input shapes {dict(shapes)}: {exc}") from exc
        self._prepared = True

    def _ensure(self, feeds: Mapping[str, np.ndarray]) -> None:
        if not self._prepared:
            self.prepare({k: tuple(v.shape) for k, v in feeds.items()})

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        self._ensure(feeds)
        try:
            for name, arr in feeds.items():
                self.interp.set_tensor(self._in[name]["index"], arr)
            self.interp.invoke()
            return [self.interp.get_tensor(i) for i in self._out]
        except (ValueError, RuntimeError) as exc:
            raise RuntimeBackendError(f"LiteRT inference failed: {exc}") from exc

    def timed_run(self, feeds: Mapping[str, np.ndarray]) -> tuple[int, int, int]:
        self._ensure(feeds)
        clock = time.perf_counter_ns
        interp = self.interp
        t0 = clock()
        for name, arr in feeds.items():
            interp.set_tensor(self._in[name]["index"], arr)
        t1 = clock()
        interp.invoke()
        t2 = clock()
        for i in self._out:
            interp.get_tensor(i)
        t3 = clock()
        return t1 - t0, t2 - t1, t3 - t2

    def versions(self) -> dict[str, str]:
        from importlib.metadata import version

        return {"ai-edge-litert": version("ai-edge-litert")}

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "threads": self.config.threads}
