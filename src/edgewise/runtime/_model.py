"""The one model-loading path: identify a file, check it, and read its signature.

>>> info = load_model_info("model.onnx")            # doctest: +SKIP
>>> info.format, info.inputs[0].name                 # doctest: +SKIP
('onnx', 'input')
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgewise.errors import ModelError

#: Formats edgewise can run, by file suffix.
FORMATS = {".onnx": "onnx", ".tflite": "tflite"}

#: A dimension is an int when fixed, or a str (its symbolic name, or "?") when dynamic.
Dim = int | str


@dataclass(frozen=True)
class TensorSpec:
    """Name, numpy dtype name and shape of one model input or output."""

    name: str
    dtype: str
    shape: tuple[Dim, ...]

    @property
    def dynamic_dims(self) -> list[int]:
        """Indices of the dimensions that are not fixed."""
        return [i for i, d in enumerate(self.shape) if not isinstance(d, int)]

    def shape_str(self) -> str:
        return "[" + ",".join(str(d) for d in self.shape) + "]"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}


@dataclass(frozen=True)
class ModelInfo:
    """A model file, identified by content: format, sha256, size and I/O signature."""

    path: Path
    name: str
    format: str
    sha256: str
    size_bytes: int
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    opset: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "format": self.format,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "opset": self.opset,
            "inputs": [s.to_dict() for s in self.inputs],
            "outputs": [s.to_dict() for s in self.outputs],
        }


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def detect_format(path: Path) -> str:
    """``onnx`` or ``tflite``, from the suffix or, failing that, the file's content."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt:
        return fmt
    with path.open("rb") as fh:
        head = fh.read(8)
    if head[4:8] == b"TFL3":
        return "tflite"
    if head[:1] in (b"\x08", b"\x0a", b"\x12", b"\x1a", b"\x22", b"\x3a", b"\x42"):
        return "onnx"  # protobuf field tags an ONNX ModelProto starts with
    raise ModelError(f"{path}: not a model file (expected .onnx or .tflite)")


def load_model_info(path: str | Path) -> ModelInfo:
    """Check a model file and read its signature; raises :class:`ModelError` if unusable."""
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelError(f"model file not found: {p}")
    if not p.is_file():
        raise ModelError(f"not a file: {p}")
    size = p.stat().st_size
    if size == 0:
        raise ModelError(f"{p}: empty file, not a model")
    fmt = detect_format(p)
    if fmt == "onnx":
        from edgewise.runtime._onnx_signature import onnx_signature

        inputs, outputs, opset = onnx_signature(p)
    else:
        from edgewise.runtime._tflite_signature import tflite_signature

        inputs, outputs = tflite_signature(p)
        opset = None
    return ModelInfo(
        path=p.resolve(),
        name=p.stem,
        format=fmt,
        sha256=sha256_file(p),
        size_bytes=size,
        inputs=inputs,
        outputs=outputs,
        opset=opset,
    )
