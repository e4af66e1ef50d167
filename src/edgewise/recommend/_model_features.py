"""Features of a user's ONNX model for the recommender: sha256, MACs and parameter bytes.

Uses the graph IR (``edgewise.graph``) when it is installed; otherwise a small fallback
counts Conv/Gemm/MatMul multiply-accumulates after ONNX shape inference.

>>> f = model_features("model.onnx")  # doctest: +SKIP
>>> f.macs > 0  # doctest: +SKIP
True
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgewise.errors import ModelError


@dataclass(frozen=True)
class ModelFeatures:
    """What the recommender knows about a model file."""

    name: str
    sha256: str
    macs: int
    param_bytes: int
    source: str

    @property
    def benchmark(self) -> str:
        """The catalog name of this model (as the fleet importer writes it)."""
        return f"onnx:{self.sha256[:16]}"


def model_features(path: str | Path, shapes: Mapping[str, Any] | None = None) -> ModelFeatures:
    """Read ``path`` (an ONNX file) and count its MACs and parameter bytes (``shapes``
    binds dynamic dims, as ``edgewise.graph.load_graph`` takes them)."""
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"model file not found: {p}")
    blob = p.read_bytes()
    sha = hashlib.sha256(blob).hexdigest()
    try:
        from edgewise.graph import load_graph
    except ImportError:
        macs, params = _fallback_counts(blob, p)
        return ModelFeatures(p.name, sha, macs, params, "edgewise.recommend fallback counter")
    summary = load_graph(p, shapes=shapes).summary()
    return ModelFeatures(p.name, sha, int(summary.macs), int(summary.param_bytes), "edgewise.graph")


def _fallback_counts(blob: bytes, path: Path) -> tuple[int, int]:
    import onnx
    from onnx import numpy_helper, shape_inference

    try:
        model = shape_inference.infer_shapes(onnx.load_from_string(blob))
    except Exception as exc:  # onnx raises several unrelated types for bad files
        raise ModelError(
            f"{path.name} is not a readable ONNX model: {exc}".splitlines()[0]
        ) from exc
    g = model.graph
    shapes: dict[str, list[int]] = {}
    for vi in [*g.input, *g.value_info, *g.output]:
        dims = [d.dim_value if d.dim_value > 0 else 1 for d in vi.type.tensor_type.shape.dim]
        shapes[vi.name] = dims
    params = 0
    for init in g.initializer:
        arr = numpy_helper.to_array(init)
        shapes[init.name] = list(arr.shape)
        params += int(arr.nbytes)
    macs = 0
    for node in g.node:
        macs += _node_macs(node, shapes)
    return macs, params


def _node_macs(node: Any, shapes: dict[str, list[int]]) -> int:
    out = shapes.get(node.output[0]) if node.output else None
    if not out:
        return 0
    if node.op_type == "Conv" and len(node.input) > 1 and node.input[1] in shapes:
        w = shapes[node.input[1]]
        return math.prod(out) * math.prod(w[1:])
    if node.op_type in ("Gemm", "MatMul") and node.input and node.input[0] in shapes:
        a = shapes[node.input[0]]
        return math.prod(out) * (a[-1] if a else 1)
    return 0
