"""Graph-level features: sums over kernels, per-kind histograms, roofline shares, depth.

Features are built in two steps so the fast architecture path can reuse them:
:func:`kernel_vector` gives one kernel's additive contribution (:data:`RAW_NAMES`);
:func:`finalize` turns the summed contributions of all kernels and of live kernels,
plus a few graph scalars, into the named feature vector (:data:`FEATURE_NAMES`).

>>> from edgewise.graph import load_graph
>>> from edgewise.graph.builders import nasbench201
>>> f = load_graph(nasbench201("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")).features()
>>> f["output_connected"], f["all.flops"] > f["live.flops"]
(0.0, True)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from edgewise.graph._kernels import KINDS, Kernel

if TYPE_CHECKING:
    from edgewise.graph._ir import Graph

#: Ridge points (FLOPs per byte) of the roofline estimates: a kernel below the ridge
#: is memory-bound on a machine with that balance.
RIDGES = (2, 8, 32, 128)
_CONV_KINDS = ("conv", "dwconv", "gconv")
_KSIZES = (1, 3, 5, 7)
#: Node op types counted one by one (eager runtimes launch one kernel per node).
OP_TYPES = (
    "Conv",
    "BatchNormalization",
    "Relu",
    "Add",
    "Mul",
    "AveragePool",
    "MaxPool",
    "GlobalAveragePool",
    "Gemm",
    "MatMul",
    "Transpose",
    "Concat",
    "Sigmoid",
    "HardSwish",
)


def _raw_names() -> tuple[str, ...]:
    names = [
        "kernels",
        "flops",
        "macs",
        "param_bytes",
        "read_bytes",
        "write_bytes",
        "out_elems",
        "strided.count",
        "strided.macs",
        "fused_add.count",
        "fused_act.count",
        "nodes",
    ]
    names += [f"op.{t}" for t in OP_TYPES] + ["op.other"]
    for kind in KINDS:
        names += [f"{kind}.count", f"{kind}.flops", f"{kind}.bytes"]
    for kind in _CONV_KINDS:
        for k in _KSIZES:
            names += [f"{kind}.k{k}.count", f"{kind}.k{k}.macs"]
    for r in RIDGES:
        names += [f"roof{r}.time", f"roof{r}.memflops"]
    return tuple(names)


#: Additive per-kernel quantities.
RAW_NAMES = _raw_names()
_RAW_INDEX = {n: i for i, n in enumerate(RAW_NAMES)}
#: Graph scalars that are not sums over kernels.
SCALAR_NAMES = ("depth", "largest_activation_bytes", "input_bytes", "output_connected")
_DERIVED = tuple(f"roof{r}.memshare" for r in RIDGES) + ("intensity",)
#: Every feature name, in vector order.
FEATURE_NAMES = (
    tuple(f"all.{n}" for n in RAW_NAMES + _DERIVED)
    + tuple(f"live.{n}" for n in RAW_NAMES + _DERIVED)
    + ("live.flops_share",)
    + SCALAR_NAMES
)


def kernel_vector(kernel: Kernel) -> np.ndarray:
    """One kernel's contribution to the raw sums (a vector over :data:`RAW_NAMES`)."""
    v = np.zeros(len(RAW_NAMES))
    if kernel.kind == "view":
        return v
    ix = _RAW_INDEX
    nbytes = kernel.total_bytes
    v[ix["kernels"]] = 1
    v[ix["flops"]] = kernel.flops
    v[ix["macs"]] = kernel.macs
    v[ix["param_bytes"]] = kernel.param_bytes
    v[ix["read_bytes"]] = kernel.read_bytes
    v[ix["write_bytes"]] = kernel.write_bytes
    v[ix["nodes"]] = len(kernel.ops)
    for op in kernel.ops:
        key = f"op.{op}"
        v[ix[key if key in ix else "op.other"]] += 1
    if kernel.out_shape is not None:
        v[ix["out_elems"]] = float(np.prod(kernel.out_shape))
    if kernel.stride > 1:
        v[ix["strided.count"]] = 1
        v[ix["strided.macs"]] = kernel.macs
    if "Add" in kernel.ops[1:] and kernel.kind not in {"elementwise", "norm"}:
        v[ix["fused_add.count"]] = 1
    if len(kernel.ops) > 1 and kernel.ops[-1] not in {"Add", "BatchNormalization"}:
        v[ix["fused_act.count"]] = 1
    v[ix[f"{kernel.kind}.count"]] = 1
    v[ix[f"{kernel.kind}.flops"]] = kernel.flops
    v[ix[f"{kernel.kind}.bytes"]] = nbytes
    if kernel.kind in _CONV_KINDS:
        k = min(max(kernel.kernel_size, 1), 7)
        k = min(_KSIZES, key=lambda s: abs(s - k))
        v[ix[f"{kernel.kind}.k{k}.count"]] = 1
        v[ix[f"{kernel.kind}.k{k}.macs"]] = kernel.macs
    for r in RIDGES:
        v[ix[f"roof{r}.time"]] = max(kernel.flops / r, nbytes)
        if kernel.flops < r * nbytes:
            v[ix[f"roof{r}.memflops"]] = kernel.flops
    return v


def finalize(raw_all: np.ndarray, raw_live: np.ndarray, scalars: np.ndarray) -> np.ndarray:
    """Raw sums ``(n, R)``, ``(n, R)`` and scalars ``(n, 4)`` -> features ``(n, F)``."""
    raw_all = np.atleast_2d(raw_all)
    raw_live = np.atleast_2d(raw_live)
    scalars = np.atleast_2d(scalars)
    parts = []
    for raw in (raw_all, raw_live):
        flops = raw[:, _RAW_INDEX["flops"]]
        safe = np.where(flops > 0, flops, 1.0)
        derived = [
            np.where(flops > 0, raw[:, _RAW_INDEX[f"roof{r}.memflops"]] / safe, 0.0) for r in RIDGES
        ]
        moved = (
            raw[:, _RAW_INDEX["read_bytes"]]
            + raw[:, _RAW_INDEX["write_bytes"]]
            + raw[:, _RAW_INDEX["param_bytes"]]
        )
        derived.append(np.where(moved > 0, flops / np.where(moved > 0, moved, 1.0), 0.0))
        parts += [raw, np.stack(derived, axis=1)]
    all_flops = raw_all[:, _RAW_INDEX["flops"]]
    share = np.where(
        all_flops > 0,
        raw_live[:, _RAW_INDEX["flops"]] / np.where(all_flops > 0, all_flops, 1.0),
        0.0,
    )
    parts += [share[:, None], scalars]
    return np.concatenate(parts, axis=1)


def graph_raw(graph: Graph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(raw_all, raw_live, scalars)`` of one graph."""
    raw_all = np.zeros(len(RAW_NAMES))
    raw_live = np.zeros(len(RAW_NAMES))
    for k in graph.kernels:
        v = kernel_vector(k)
        raw_all += v
        if k.live:
            raw_live += v
    summary_acts = [
        t.nbytes for name, t in graph.tensors.items() if not t.is_param and t.shape is not None
    ]
    input_bytes = sum(graph.tensors[i].nbytes for i in graph.inputs if i in graph.tensors)
    scalars = np.array(
        [
            graph.depth,
            max(summary_acts, default=0),
            input_bytes,
            1.0 if graph.output_depends_on_input else 0.0,
        ],
        dtype=np.float64,
    )
    return raw_all, raw_live, scalars


def graph_features(graph: Graph) -> dict[str, float]:
    """Named features of one graph (see :data:`FEATURE_NAMES`)."""
    row = finalize(*graph_raw(graph))[0]
    return {name: float(v) for name, v in zip(FEATURE_NAMES, row, strict=True)}


def kernel_signatures(graph: Graph, kernels: Iterable[Kernel] | None = None) -> Counter[str]:
    """Counts of kernel signatures, prefixed ``a:`` (all kernels), ``l:`` (live ones:
    on an input-to-output path), ``o:`` (an output uses their result) and ``d:`` (no
    output does: code a pruning runtime drops). ``kernels``: a subset of the graph's
    (default: all)."""
    out: Counter[str] = Counter()
    reach = graph.reaches_output
    for k in graph.kernels if kernels is None else kernels:
        if k.kind == "view":
            continue
        out["a:" + k.signature] += 1
        if k.live:
            out["l:" + k.signature] += 1
        used = any(reach[i] for i in k.node_indices)
        out[("o:" if used else "d:") + k.signature] += 1
    return out


def graph_positions(graph: Graph, keep: Any = None) -> np.ndarray:
    """Position features of one graph (:data:`POSITION_NAMES`: counts of heavy nodes
    and multiplications per kernel key and position bucket, dead branches included).
    ``keep(node_name)`` restricts the count to some nodes (the fast path's tables)."""
    from edgewise.graph._position import (
        HEAVY_OPS,
        node_positions,
        on_path,
        position_counts,
        position_key,
    )

    nodes = graph.light_nodes
    flow = on_path(nodes, inputs=graph.inputs, outputs=graph.outputs)
    positions = node_positions(nodes, flow, params=graph.params)
    keys = {
        k.node_indices[0]: position_key(k.kind, k.kernel_size)
        for k in graph.kernels
        if nodes[k.node_indices[0]][0] in HEAVY_OPS
    }
    return position_counts(
        nodes,
        positions,
        keys,
        keep=None if keep is None else lambda i: bool(keep(graph.nodes[i].name)),
    )
