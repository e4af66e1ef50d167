"""Bundled example models, built on demand (no downloads): the demo's and the tests'.

>>> from edgewise.zoo import EXAMPLES, write_example
>>> sorted(EXAMPLES)[:2]
['cnn-large', 'cnn-small']
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from edgewise.errors import UnknownNameError


def _from_onnx(builder: str, **kwargs: int) -> Callable[[], bytes]:
    def build() -> bytes:
        from edgewise.zoo import _onnx as z  # the module, not _from_onnx

        return bytes(getattr(z, builder)(**kwargs).SerializeToString())

    return build


def _tflite() -> bytes:
    from edgewise.zoo._tflite import fully_connected_tflite

    return fully_connected_tflite()


#: name -> (file suffix, builder, one-line description)
EXAMPLES: dict[str, tuple[str, Callable[[], bytes], str]] = {
    "mlp-tiny": (".onnx", _from_onnx("mlp", features=256, hidden=512), "2-layer MLP, tens of µs"),
    "mlp-small": (".onnx", _from_onnx("mlp", features=512, hidden=1024), "2-layer MLP, ~50 µs"),
    "cnn-small": (
        ".onnx",
        _from_onnx("cnn", channels=16, blocks=2, size=64),
        "ResNet-ish CNN, ~1 ms",
    ),
    "cnn-large": (
        ".onnx",
        _from_onnx("cnn", channels=32, blocks=4, size=96),
        "ResNet-ish CNN, ~20 ms",
    ),
    "fc-tflite": (".tflite", _tflite, "fully-connected TFLite model"),
    "multi-input": (".onnx", _from_onnx("multi_input"), "int64 tokens + two float inputs"),
    "float16": (".onnx", _from_onnx("float16_model"), "float16 input"),
    "gru-stateful": (".onnx", _from_onnx("gru_stateful"), "GRU with its state as an input"),
    "if-branch": (".onnx", _from_onnx("if_model"), "If control flow on a bool input"),
    "loop": (".onnx", _from_onnx("loop_model"), "Loop with an int64 trip count"),
    "ocr-dynamic": (
        ".onnx",
        _from_onnx("ocr_recognizer"),
        "OCR recogniser, dynamic batch and width",
    ),
    "quantized": (
        ".onnx",
        _from_onnx("quantized_linear"),
        "QDQ-quantised linear layer, uint8 input",
    ),
}

#: The models ``edgewise demo`` profiles.
DEMO_MODELS = ("mlp-tiny", "cnn-small", "cnn-large", "fc-tflite")


def write_example(name: str, folder: str | Path) -> Path:
    """Build example ``name`` into ``folder`` and return the file's path."""
    if name not in EXAMPLES:
        raise UnknownNameError("example model", name, EXAMPLES)
    suffix, build, _ = EXAMPLES[name]
    path = Path(folder) / f"{name}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(build())
    return path


__all__ = ["DEMO_MODELS", "EXAMPLES", "write_example"]
