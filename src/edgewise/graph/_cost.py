"""Per-node cost: FLOPs, MACs and the bytes a node reads and writes.

Conventions (the same for every graph, so features are comparable):

- MACs count multiply-accumulates of Conv, ConvTranspose, Gemm and MatMul only.
- FLOPs are ``2 * MACs`` for those ops plus one FLOP per output element for the bias,
  and a per-element count for everything else (1 for activations and binary ops,
  2 for BatchNormalization, ``k*k`` per output for pools, ...).
- Data-movement ops (Reshape, Transpose, Concat...) have 0 FLOPs but read and write bytes.

>>> conv_macs(out_shape=(1, 16, 32, 32), in_channels=3, kernel=(3, 3), group=1)
442368
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

Shape = tuple[int, ...]

#: Ops that move or re-label data without arithmetic.
DATA_MOVEMENT = frozenset(
    {
        "Reshape",
        "Transpose",
        "Concat",
        "Flatten",
        "Squeeze",
        "Unsqueeze",
        "Gather",
        "GatherElements",
        "GatherND",
        "Slice",
        "Split",
        "Pad",
        "Identity",
        "Shape",
        "Expand",
        "Tile",
        "Cast",
        "DepthToSpace",
        "SpaceToDepth",
        "Dropout",
        "Constant",
        "ConstantOfShape",
        "Size",
        "Range",
        "ScatterND",
        "ScatterElements",
        "NonZero",
        "TopK",
        "ReverseSequence",
    }
)
#: Ops that do not move data at all at run time (metadata only).
VIEW_OPS = frozenset(
    {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Shape", "Size", "Dropout"}
)
#: One arithmetic op per output element.
ELEMENTWISE_1 = frozenset(
    {
        "Add",
        "Sub",
        "Mul",
        "Div",
        "Pow",
        "Max",
        "Min",
        "Mean",
        "Sum",
        "Where",
        "Relu",
        "LeakyRelu",
        "PRelu",
        "Clip",
        "Abs",
        "Neg",
        "Sqrt",
        "Reciprocal",
        "Exp",
        "Log",
        "Sigmoid",
        "Tanh",
        "HardSigmoid",
        "HardSwish",
        "Elu",
        "Selu",
        "Softplus",
        "Erf",
        "Floor",
        "Ceil",
        "Round",
        "Sign",
        "Not",
        "And",
        "Or",
        "Equal",
        "Less",
        "Greater",
        "LessOrEqual",
        "GreaterOrEqual",
        "QuantizeLinear",
        "DequantizeLinear",
        "Celu",
        "ThresholdedRelu",
        "Mish",
        "Sin",
        "Cos",
        "BitShift",
        "Mod",
    }
)
#: Activations a runtime fuses into the producing kernel.
ACTIVATIONS = frozenset(
    {
        "Relu",
        "LeakyRelu",
        "PRelu",
        "Clip",
        "Sigmoid",
        "Tanh",
        "HardSigmoid",
        "HardSwish",
        "Elu",
        "Selu",
        "Softplus",
        "Gelu",
        "Mish",
        "Celu",
    }
)
#: Per-element FLOPs for ops with a fixed cost above one.
ELEMENTWISE_N = {
    "BatchNormalization": 2,
    "InstanceNormalization": 5,
    "LayerNormalization": 5,
    "GroupNormalization": 5,
    "Softmax": 3,
    "LogSoftmax": 3,
    "Gelu": 8,
    "LRN": 5,
}
REDUCE_OPS = frozenset(
    {
        "ReduceMean",
        "ReduceSum",
        "ReduceMax",
        "ReduceMin",
        "ReduceProd",
        "ReduceL1",
        "ReduceL2",
        "ReduceLogSumExp",
        "ReduceSumSquare",
        "GlobalAveragePool",
        "GlobalMaxPool",
        "ArgMax",
        "ArgMin",
    }
)
POOL_OPS = frozenset({"AveragePool", "MaxPool", "LpPool"})
MATMUL_OPS = frozenset(
    {
        "Conv",
        "ConvTranspose",
        "Gemm",
        "MatMul",
        "ConvInteger",
        "MatMulInteger",
        "QLinearConv",
        "QLinearMatMul",
    }
)


def numel(shape: Sequence[int] | None) -> int:
    """Number of elements of a shape (1 for a scalar)."""
    if shape is None:
        return 0
    return int(math.prod(int(d) for d in shape))


def conv_macs(
    *, out_shape: Sequence[int], in_channels: int, kernel: Sequence[int], group: int
) -> int:
    """Multiply-accumulates of a convolution: ``out elements * Cin/group * prod(kernel)``."""
    return numel(out_shape) * (in_channels // max(group, 1)) * int(math.prod(kernel))


def node_cost(
    op_type: str,
    *,
    attrs: Mapping[str, Any],
    in_shapes: Sequence[Shape | None],
    out_shapes: Sequence[Shape | None],
) -> tuple[int, int, bool]:
    """``(flops, macs, known)`` of one node; ``known`` is False when shapes are missing."""
    out = out_shapes[0] if out_shapes else None
    if op_type in DATA_MOVEMENT:
        return 0, 0, True
    if out is None:
        return 0, 0, False
    n_out = numel(out)
    if op_type in {"Conv", "ConvInteger", "QLinearConv"}:
        x = in_shapes[0] if in_shapes else None
        wi = 3 if op_type == "QLinearConv" else 1
        w = in_shapes[wi] if len(in_shapes) > wi else None
        if x is None or w is None or len(x) < 3:
            return 0, 0, False
        group = int(attrs.get("group", 1))
        macs = conv_macs(out_shape=out, in_channels=int(x[1]), kernel=w[2:], group=group)
        has_bias = len(in_shapes) > (8 if op_type == "QLinearConv" else 2)
        return 2 * macs + (n_out if has_bias else 0), macs, True
    if op_type == "ConvTranspose":
        x = in_shapes[0] if in_shapes else None
        w = in_shapes[1] if len(in_shapes) > 1 else None
        if x is None or w is None:
            return 0, 0, False
        # The weight is (Cin, Cout/group, k...): each input element feeds Cout/group * k taps.
        macs = numel(x) * int(w[1]) * int(math.prod(w[2:]))
        has_bias = len(in_shapes) > 2
        return 2 * macs + (n_out if has_bias else 0), macs, True
    if op_type == "Gemm":
        a = in_shapes[0] if in_shapes else None
        if a is None or len(a) != 2:
            return 0, 0, False
        k = int(a[0] if int(attrs.get("transA", 0)) else a[1])
        macs = n_out * k
        has_bias = len(in_shapes) > 2 and in_shapes[2] is not None
        return 2 * macs + (n_out if has_bias else 0), macs, True
    if op_type in {"MatMul", "MatMulInteger", "QLinearMatMul"}:
        a = in_shapes[0] if in_shapes else None
        if a is None or len(a) == 0:
            return 0, 0, False
        macs = n_out * int(a[-1])
        return 2 * macs, macs, True
    if op_type in POOL_OPS:
        kernel = attrs.get("kernel_shape") or []
        return n_out * int(math.prod(int(v) for v in kernel)), 0, True
    if op_type in REDUCE_OPS:
        x = in_shapes[0] if in_shapes else None
        return (numel(x) if x is not None else n_out), 0, x is not None
    if op_type in ELEMENTWISE_N:
        return ELEMENTWISE_N[op_type] * n_out, 0, True
    if op_type in ELEMENTWISE_1:
        return n_out, 0, True
    if op_type in {"Resize", "Upsample"}:
        mode = str(attrs.get("mode", "nearest"))
        return (4 if "linear" in mode else 1) * n_out, 0, True
    if op_type == "Einsum":
        # A lower bound: one MAC per output element per reduced index is not derivable
        # without parsing the equation for every case; count output elements.
        return n_out, 0, False
    return n_out, 0, False
