"""Model inputs: bind dynamic dimensions, synthesise values, or read them from ``.npz``.

>>> parse_shape_overrides(["x=1x3x224x224", "batch=2"])
{'x': (1, 3, 224, 224), 'batch': (2,)}
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from edgewise.errors import ShapeError
from edgewise.runtime._model import TensorSpec

Feeds = dict[str, np.ndarray]

#: Default exclusive upper bound for synthesised integer inputs with no better hint.
DEFAULT_INT_HIGH = 16


#: The most elements one input tensor may have (8 GiB of float32): a typo, not a model.
MAX_ELEMENTS = 1 << 31


def parse_shape_overrides(items: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """Parse ``--shape NAME=DxDxD`` options (NAME is an input or a symbolic dimension)."""
    out: dict[str, tuple[int, ...]] = {}
    for item in items:
        name, sep, dims = item.partition("=")
        if not sep or not name or not dims:
            raise ShapeError(f"bad --shape {item!r}: expected NAME=1x3x224x224")
        try:
            shape = tuple(int(d) for d in dims.lower().replace(",", "x").split("x"))
        except ValueError:
            raise ShapeError(f"bad --shape {item!r}: dimensions must be integers") from None
        if any(d <= 0 for d in shape):
            raise ShapeError(f"bad --shape {item!r}: dimensions must be positive")
        if math.prod(shape) > MAX_ELEMENTS:
            raise ShapeError(
                f"bad --shape {item!r}: {math.prod(shape):,} elements is more than "
                f"{MAX_ELEMENTS:,} in one tensor"
            )
        if name.strip() in out:
            raise ShapeError(f"--shape {name.strip()} is given twice")
        out[name.strip()] = shape
    return out


def resolve_shapes(
    specs: Sequence[TensorSpec], overrides: Mapping[str, tuple[int, ...]] | None = None
) -> dict[str, tuple[int, ...]]:
    """Concrete shapes for every input, or a :class:`ShapeError` naming what is unset.

    An override keyed by an input name gives its whole shape; one keyed by a
    symbolic dimension name (``batch=4``) binds that dimension in every input.
    """
    overrides = dict(overrides or {})
    names = {s.name for s in specs}
    symbols = {d for s in specs for d in s.shape if isinstance(d, str) and d != "?"}
    for key, shape in overrides.items():
        if key not in names and not (key in symbols and len(shape) == 1):
            known = ", ".join(sorted(names)) or "none"
            hint = f"; symbolic dims: {', '.join(sorted(symbols))}" if symbols else ""
            raise ShapeError(f"--shape names unknown input {key!r} (inputs: {known}{hint})")
    resolved: dict[str, tuple[int, ...]] = {}
    for spec in specs:
        if spec.name in overrides:
            shape = overrides[spec.name]
            if spec.shape and len(shape) != len(spec.shape):
                raise ShapeError(
                    f"--shape {spec.name}: rank {len(shape)} but the model expects rank "
                    f"{len(spec.shape)} {spec.shape_str()}"
                )
            for i, (want, got) in enumerate(zip(spec.shape, shape, strict=False)):
                if isinstance(want, int) and want != got:
                    raise ShapeError(
                        f"--shape {spec.name}: dimension {i} is fixed to {want} in the model "
                        f"{spec.shape_str()}, got {got}"
                    )
            resolved[spec.name] = shape
            continue
        dims: list[int] = []
        unset: list[str] = []
        for i, d in enumerate(spec.shape):
            if isinstance(d, int):
                dims.append(d)
            elif d in overrides:
                dims.append(overrides[d][0])
            else:
                unset.append(f"{i} ({d})" if d != "?" else str(i))
                dims.append(-1)
        if unset:
            example = "x".join(str(d) if d > 0 else "N" for d in dims)
            named = [d for d in spec.shape if isinstance(d, str) and d != "?"]
            by_name = f" (or by name: {' '.join(f'--shape {d}=N' for d in named)})" if named else ""
            raise ShapeError(
                f"input {spec.name!r} {spec.shape_str()} has unset dynamic dimension(s) "
                f"{', '.join(unset)}: set them with --shape {spec.name}={example}{by_name}"
            )
        resolved[spec.name] = tuple(dims)
    for name, shape in resolved.items():  # fixed dims too: a model can ask for TiBs
        if math.prod(shape) > MAX_ELEMENTS:
            raise ShapeError(
                f"input {name!r} {list(shape)} has {math.prod(shape):,} elements, more than "
                f"{MAX_ELEMENTS:,} in one tensor"
            )
    return resolved


def synthesize(
    specs: Sequence[TensorSpec],
    shapes: Mapping[str, tuple[int, ...]],
    *,
    rng: np.random.Generator,
    int_high: Mapping[str, int] | None = None,
) -> Feeds:
    """Random inputs that a model will accept: floats ~ N(0, 1) clipped to [-3, 3],
    integers in ``[0, int_high[name])`` (token ids below the vocabulary size when the
    graph tells it), booleans half true."""
    int_high = int_high or {}
    feeds: Feeds = {}
    for spec in specs:
        shape = shapes[spec.name]
        dtype = np.dtype(spec.dtype)
        if dtype.kind == "f":  # drawn in float32 (not float64, then cast): half the memory
            x = rng.standard_normal(shape, dtype=np.float32)
            feeds[spec.name] = np.asarray(np.clip(x, -3, 3, out=x), dtype=dtype)
        elif dtype.kind in "iu":
            high = max(1, int(int_high.get(spec.name, DEFAULT_INT_HIGH)))
            feeds[spec.name] = np.asarray(rng.integers(0, high, size=shape), dtype=dtype)
        elif dtype.kind == "b":
            feeds[spec.name] = np.asarray(rng.random(shape) < 0.5)
        else:
            _no_strings(spec)
            raise ShapeError(
                f"input {spec.name!r} has dtype {spec.dtype}, which edgewise cannot synthesise; "
                f"pass values with --inputs file.npz (numpy.savez(file, {spec.name}=array))"
            )
    return feeds


def load_npz(path: str | Path, specs: Sequence[TensorSpec]) -> Feeds:
    """Read inputs from an ``.npz`` and check names, ranks, fixed dims and dtypes."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ShapeError(f"--inputs file not found: {p}")
    try:
        loaded = np.load(p, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # a .npy: one unnamed array
            raise ShapeError(
                f"--inputs {p}: a single array (.npy); save the inputs by name with "
                "numpy.savez(file, INPUT=array, ...)"
            )
        with loaded as data:
            arrays = {k: np.ascontiguousarray(data[k]) for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        why = "it holds pickled objects, which are never loaded" if "pickle" in str(exc) else exc
        raise ShapeError(f"--inputs {p}: not a readable .npz of arrays ({why})") from exc
    names = [s.name for s in specs]
    extra = sorted(set(arrays) - set(names))
    missing = [n for n in names if n not in arrays]
    if extra:
        raise ShapeError(
            f"--inputs {p.name}: unknown input(s) {', '.join(extra)} (model inputs: {', '.join(names)})"
        )
    if missing:
        raise ShapeError(f"--inputs {p.name}: missing input(s) {', '.join(missing)}")
    for spec in specs:
        arr = arrays[spec.name]
        if spec.shape and arr.ndim != len(spec.shape):
            raise ShapeError(
                f"--inputs {spec.name}: rank {arr.ndim} {list(arr.shape)} but the model expects "
                f"rank {len(spec.shape)} {spec.shape_str()}"
            )
        for i, (want, got) in enumerate(zip(spec.shape, arr.shape, strict=False)):
            if isinstance(want, int) and want != got:
                raise ShapeError(
                    f"--inputs {spec.name}: dimension {i} must be {want} {spec.shape_str()}, got {got}"
                )
        _no_strings(spec)
        if arr.dtype != np.dtype(spec.dtype):
            raise ShapeError(
                f"--inputs {spec.name}: dtype {arr.dtype} but the model expects {spec.dtype}"
            )
    return arrays


def _no_strings(spec: TensorSpec) -> None:
    """Refuse a string input: it told users to pass ``--inputs``, which could not work
    (ONNX Runtime's I/O binding, which the timing uses, takes no string tensors)."""
    if spec.dtype == "object":
        raise ShapeError(
            f"input {spec.name!r} is a string tensor: edgewise cannot time models with "
            "string inputs (ONNX Runtime binds no string tensors)"
        )
