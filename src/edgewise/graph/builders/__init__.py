"""Architecture builders: NAS-Bench-201, FBNet and OFA-MobileNetV3 strings to real ONNX graphs.

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
from edgewise.graph.builders._ofa import OfaArch, ofa_mbv3, parse_ofa_mbv3

#: Space names accepted in ``SPACE:ARCH`` model specs (aliases map to the canonical name).
SPACES = {
    "nasbench201": "nasbench201",
    "nb201": "nasbench201",
    "fbnet": "fbnet",
    "ofa_mbv3": "ofa_mbv3",
    "ofa": "ofa_mbv3",
}
#: Each canonical space's builder and parser (the parser raises ModelError on a bad arch).
BUILDERS: dict[str, tuple[Any, Any]] = {
    "nasbench201": (nasbench201, parse_nasbench201),
    "fbnet": (fbnet, parse_fbnet),
    "ofa_mbv3": (ofa_mbv3, parse_ofa_mbv3),
}


def split_spec(spec: str) -> tuple[str, str] | None:
    """``("nasbench201", arch)`` for ``"nasbench201:<arch>"``; None if not a space spec."""
    space, sep, arch = spec.partition(":")
    if not sep or space.lower() not in SPACES:
        return None
    return SPACES[space.lower()], arch


def build_model(spec: str, **kwargs: Any) -> Any:
    """Build ``nasbench201:<arch>``, ``fbnet:<blocks>`` or ``ofa_mbv3:<json>`` as an
    ``onnx.ModelProto``."""
    parts = split_spec(spec)
    if parts is None:
        raise ModelError(
            f"not an architecture spec: {spec!r:.80} "
            "(use nasbench201:<arch>, fbnet:<blocks> or ofa_mbv3:<json>)"
        )
    space, arch = parts
    return BUILDERS[space][0](arch, **kwargs)


__all__ = [
    "BUILDERS",
    "FBNET_BLOCKS",
    "FBNET_LAYERS",
    "NB201_EDGES",
    "NB201_OPS",
    "SPACES",
    "OfaArch",
    "block_params",
    "build_model",
    "fbnet",
    "format_nasbench201",
    "nasbench201",
    "ofa_mbv3",
    "parse_fbnet",
    "parse_nasbench201",
    "parse_ofa_mbv3",
    "split_spec",
]
