"""Read a .tflite file's signature through LiteRT's interpreter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgewise.errors import ModelError
from edgewise.runtime._model import Dim, TensorSpec


def open_interpreter(path: Path, *, threads: int | None = None) -> Any:
    """A LiteRT ``Interpreter``; corrupt files raise :class:`ModelError`."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:  # pragma: no cover - it is a core dependency
        raise ModelError("LiteRT (ai-edge-litert) is not installed; cannot run .tflite") from exc
    try:
        return Interpreter(model_path=str(path), num_threads=threads)
    except (ValueError, RuntimeError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path}: not a valid TFLite model: {msg}") from exc


def _spec(detail: dict[str, Any]) -> TensorSpec:
    sig = detail.get("shape_signature", detail["shape"])
    dims: tuple[Dim, ...] = tuple(int(d) if d >= 0 else "?" for d in sig)
    return TensorSpec(name=str(detail["name"]), dtype=np.dtype(detail["dtype"]).name, shape=dims)


def tflite_signature(path: Path) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    interp = open_interpreter(path)
    return (
        tuple(_spec(d) for d in interp.get_input_details()),
        tuple(_spec(d) for d in interp.get_output_details()),
    )
