"""The fused-kernel view of a graph and per-kernel features (nn-Meter style).

A :class:`Kernel` is what a runtime launches: e.g. ``Conv+BatchNormalization+Relu``.
Its configuration (kernel size, stride, groups, channels, spatial size) is what
kernel-level latency predictors key on.

>>> from edgewise.graph import load_graph
>>> from edgewise.graph.builders import fbnet
>>> g = load_graph(fbnet(["k3_e1"] * 22))
>>> sorted({k.kind for k in g.kernels})[:3]
['conv', 'dwconv', 'elementwise']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edgewise.graph._cost import (
    ACTIVATIONS,
    DATA_MOVEMENT,
    ELEMENTWISE_N,
    POOL_OPS,
    REDUCE_OPS,
    VIEW_OPS,
    Shape,
)

if TYPE_CHECKING:
    from edgewise.graph._ir import Graph, Node, TensorInfo

#: Kernel kinds, in feature order (``view`` kernels are free and not counted).
KINDS = (
    "conv",
    "dwconv",
    "gconv",
    "convT",
    "fc",
    "matmul",
    "pool",
    "reduce",
    "elementwise",
    "norm",
    "memory",
    "other",
)

_SHORT = {
    "BatchNormalization": "bn",
    "Relu": "relu",
    "Add": "add",
    "Mul": "mul",
    "Conv": "conv",
    "Gemm": "gemm",
    "MatMul": "matmul",
    "AveragePool": "avgpool",
    "MaxPool": "maxpool",
    "GlobalAveragePool": "gap",
}


@dataclass(frozen=True)
class Kernel:
    """One fused kernel: its nodes, costs and configuration."""

    name: str
    kind: str
    ops: tuple[str, ...]
    node_indices: tuple[int, ...]
    flops: int
    macs: int
    param_bytes: int
    read_bytes: int
    write_bytes: int
    in_shape: Shape | None
    out_shape: Shape | None
    kernel_size: int
    stride: int
    groups: int
    cin: int
    cout: int
    live: bool

    @property
    def pattern(self) -> str:
        """The fused ops, e.g. ``conv-bn-relu``."""
        return "-".join(_SHORT.get(o, o.lower()) for o in self.ops)

    @property
    def total_bytes(self) -> int:
        return self.read_bytes + self.write_bytes + self.param_bytes

    @property
    def intensity(self) -> float:
        """Arithmetic intensity in FLOPs per byte moved (0 for pure data movement)."""
        return self.flops / self.total_bytes if self.total_bytes else 0.0

    @property
    def signature(self) -> str:
        """Configuration key: kernels with equal signatures cost the same on a device."""
        hw_in = "x".join(str(d) for d in (self.in_shape or ())[2:]) or "-"
        hw_out = "x".join(str(d) for d in (self.out_shape or ())[2:]) or "-"
        return (
            f"{self.pattern}|k{self.kernel_size}s{self.stride}g{self.groups}"
            f"|{self.cin}>{self.cout}|{hw_in}>{hw_out}|{self.read_bytes}:{self.write_bytes}"
        )


def _kind(op: str, group: int, cin: int, cout: int) -> str:
    if op in {"Conv", "ConvInteger", "QLinearConv"}:
        if group > 1 and group == cin == cout:
            return "dwconv"
        return "gconv" if group > 1 else "conv"
    if op == "ConvTranspose":
        return "convT"
    if op == "Gemm":
        return "fc"
    if op in {"MatMul", "MatMulInteger", "QLinearMatMul"}:
        return "matmul"
    if op in POOL_OPS:
        return "pool"
    if op in REDUCE_OPS:
        return "reduce"
    if op in VIEW_OPS:
        return "view"
    if op in DATA_MOVEMENT:
        return "memory"
    if op in ELEMENTWISE_N:
        return "norm"
    from edgewise.graph._cost import ELEMENTWISE_1

    if op in ELEMENTWISE_1 or op in ACTIVATIONS:
        return "elementwise"
    return "other"


def make_kernel(graph: Graph, group: tuple[int, ...]) -> Kernel:
    """Build the :class:`Kernel` for a group of node indices from :func:`fuse`."""
    return kernel_from_nodes(
        [graph.nodes[i] for i in group],
        graph.tensors,
        indices=group,
        live=any(graph.live[i] for i in group),
    )


def kernel_from_nodes(
    nodes: Sequence[Node],
    tensors: Mapping[str, TensorInfo],
    *,
    indices: tuple[int, ...],
    live: bool,
) -> Kernel:
    """Build a :class:`Kernel` from its fused nodes (in order) and the tensor table."""
    anchor, last = nodes[0], nodes[-1]
    inside = {t for n in nodes for t in n.outputs}
    external: dict[str, int] = {}
    for n in nodes:
        for t in n.inputs:
            info = tensors.get(t) if t else None
            if info is not None and not info.is_param and t not in inside:
                external[t] = info.nbytes
    view = all(n.op_type in VIEW_OPS for n in nodes)
    outs = anchor.outputs if len(nodes) == 1 else last.outputs
    write = 0 if view else sum(tensors[t].nbytes for t in outs if t in tensors)
    in_shape = anchor.in_shapes[0] if anchor.in_shapes else None
    out_shape = last.out_shapes[0] if last.out_shapes else None
    group_attr = int(anchor.attrs.get("group", 1))
    cin = int(in_shape[1]) if in_shape is not None and len(in_shape) > 1 else 0
    cout = int(out_shape[1]) if out_shape is not None and len(out_shape) > 1 else 0
    if anchor.op_type in {"Gemm", "MatMul"} and in_shape is not None and out_shape is not None:
        cin, cout = int(in_shape[-1]), int(out_shape[-1])
    ksize = 0
    if anchor.op_type in {"Conv", "ConvTranspose", "ConvInteger", "QLinearConv"}:
        wi = 3 if anchor.op_type == "QLinearConv" else 1
        w = anchor.in_shapes[wi] if len(anchor.in_shapes) > wi else None
        ksize = max(w[2:], default=1) if w is not None else 0
    elif anchor.op_type in POOL_OPS:
        ksize = max((int(v) for v in anchor.attrs.get("kernel_shape", [])), default=0)
    strides = anchor.attrs.get("strides") or [1]
    return Kernel(
        name=anchor.name,
        kind=_kind(anchor.op_type, group_attr, cin, cout),
        ops=tuple(n.op_type for n in nodes),
        node_indices=indices,
        flops=sum(n.flops for n in nodes),
        macs=sum(n.macs for n in nodes),
        param_bytes=sum(n.param_bytes for n in nodes),
        read_bytes=0 if view else sum(external.values()),
        write_bytes=write,
        in_shape=in_shape,
        out_shape=out_shape,
        kernel_size=int(ksize),
        stride=max(int(s) for s in strides),
        groups=group_attr,
        cin=cin,
        cout=cout,
        live=live,
    )
