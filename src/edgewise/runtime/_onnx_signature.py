"""Validate an ONNX file and read its signature (onnx only; no runtime needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgewise.errors import ModelError
from edgewise.runtime._model import Dim, TensorSpec

_TWO_GB = 2**31 - 1


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _spec(value_info: Any) -> TensorSpec:
    import onnx

    ttype = value_info.type
    if not ttype.HasField("tensor_type"):
        kind = ttype.WhichOneof("value")
        raise ModelError(f"input {value_info.name!r} is a {kind}, only tensors are supported")
    tt = ttype.tensor_type
    try:
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type).name
    except (KeyError, ValueError) as exc:
        raise ModelError(
            f"input {value_info.name!r} has unsupported element type {tt.elem_type}"
        ) from exc
    dims: list[Dim] = []
    if tt.HasField("shape"):
        for d in tt.shape.dim:
            if d.HasField("dim_value") and d.dim_value > 0:
                dims.append(int(d.dim_value))
            else:
                dims.append(d.dim_param or "?")
    return TensorSpec(name=value_info.name, dtype=dtype, shape=tuple(dims))


def onnx_signature(path: Path) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...], int]:
    """Inputs (initializers excluded), outputs and the default-domain opset."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, ValueError, RuntimeError, OSError) as exc:
        raise ModelError(
            f"{path}: not a valid ONNX model (corrupt or truncated): {_first_line(exc)}"
        ) from exc
    if not model.HasField("graph") or len(model.graph.node) == 0:
        raise ModelError(f"{path}: not a valid ONNX model (no graph; file truncated or not ONNX)")
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is None:
        raise ModelError(f"{path}: ONNX model declares no default-domain opset")
    max_opset = onnx.defs.onnx_opset_version()
    if opset > max_opset:
        raise ModelError(
            f"{path}: unsupported opset {opset} (this onnx supports up to {max_opset})"
        )
    try:
        if model.ByteSize() < _TWO_GB:
            onnx.checker.check_model(model)
        else:
            onnx.checker.check_model(str(path))
    except onnx.checker.ValidationError as exc:
        raise ModelError(f"{path}: invalid ONNX model: {_first_line(exc)}") from exc
    initializers = {i.name for i in model.graph.initializer}
    inputs = tuple(_spec(v) for v in model.graph.input if v.name not in initializers)
    outputs = tuple(_spec(v) for v in model.graph.output)
    return inputs, outputs, int(opset)
