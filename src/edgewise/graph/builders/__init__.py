"""Architecture builders: NAS-Bench-201 and FBNet strings to real ONNX graphs.

>>> from edgewise.graph.builders import build_model, nasbench201
>>> model = build_model("fbnet:" + "-".join(["k3_e3"] * 22))
>>> model.graph.name
'fbnet'
"""

from __future__ import annotations

from typing import Any

from edgewise.errors import ModelError
from edgewise.graph.builders._fbnet import (
    FBNET_BLOCKS,
    FBNET_LAYERS,
    block_params,
    fbnet,
    parse_fbnet,
)
from edgewise.graph.builders._nb201 import (
    NB201_EDGES,
    NB201_OPS,
    format_nasbench201,
    nasbench201,
    parse_nasbench201,
)

#: Space names accepted in ``SPACE:ARCH`` model specs (aliases map to the canonical name).
SPACES = {"nasbench201": "nasbench201", "nb201": "nasbench201", "fbnet": "fbnet"}


def split_spec(spec: str) -> tuple[str, str] | None:
    """``("nasbench201", arch)`` for ``"nasbench201:<arch>"``; None if not a space spec."""
    space, sep, arch = spec.partition(":")
    if not sep or space.lower() not in SPACES:
        return None
    return SPACES[space.lower()], arch


def build_model(spec: str, **kwargs: Any) -> Any:
    """Build ``nasbench201:<arch>`` or ``fbnet:<blocks>`` as an ``onnx.ModelProto``."""
    parts = split_spec(spec)
    if parts is None:
        raise ModelError(
            f"not an architecture spec: {spec!r:.80} (use nasbench201:<arch> or fbnet:<blocks>)"
        )
    space, arch = parts
    return nasbench201(arch, **kwargs) if space == "nasbench201" else fbnet(arch, **kwargs)


__all__ = [
    "FBNET_BLOCKS",
    "FBNET_LAYERS",
    "NB201_EDGES",
    "NB201_OPS",
    "SPACES",
    "block_params",
    "build_model",
    "fbnet",
    "format_nasbench201",
    "nasbench201",
    "parse_fbnet",
    "parse_nasbench201",
    "split_spec",
]
