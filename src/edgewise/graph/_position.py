"""Where each kernel sits in the graph: its position between the graph's cut points.

Positions are taken on the whole data-flow graph, dead branches included: a branch
multiplied by zero (NAS-Bench-201's ``none``) is still computed by most runtimes, and
where such a multiplication sits changes the latency on some devices (HW-NAS-Bench's
pixel3 and raspi4), while the graph-level sums do not see it.

A *cut* node is one that every path from the graph input to the output passes through
(a stem convolution, the output of a residual block or of an NB201 cell). The part of
the graph between two consecutive cuts is a *block* (a cell, a residual block),
whatever its wiring. The *placed* nodes (:data:`PLACED_OPS`) are the heavy ones
(convolutions, matmuls, pools) and the multiplications. For every placed node that is
not a cut, ``up`` counts the placed nodes on the longest path from the block's entry
cut to it, and ``down`` those on the longest path from it to the block's exit cut. In
a full NB201 cell of convolutions, the six edges get six different ``(up, down)``; in a
ResNet block the two convolutions of the branch get ``(0, 1)`` and ``(1, 0)``. A
kernel's position is its anchor's.

Everything is computed from the graph's topology and op types alone, by the same
function on the ONNX path and on the fast architecture path.

>>> nodes = [("Conv", ("x", "w1"), ("a",)), ("Conv", ("a", "w2"), ("b",)),
...          ("Add", ("x", "b"), ("y",))]
>>> node_positions(nodes, [True] * 3, params={"w1", "w2"})
[(0, 1), (1, 0), None]
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import cast

import numpy as np

from edgewise.graph._cost import MATMUL_OPS, POOL_OPS
from edgewise.graph._fusion import LightNode, liveness

#: Anchor ops of the heavy kernels.
HEAVY_OPS = MATMUL_OPS | POOL_OPS
#: Nodes that get a position and count in ``up``/``down``: the heavy ones and the
#: multiplications (by zero, a gate...). Counting multiplications as levels was chosen on
#: data: per-device LightGBM on HW-NAS-Bench pixel3/raspi4 (docs/predictor.md).
PLACED_OPS = HEAVY_OPS | {"Mul"}
#: ``up`` and ``down`` are capped at this value (3 means "3 or more").
MAX_LEVEL = 3
_CONV_KINDS = ("conv", "dwconv", "gconv")
_KSIZES = (1, 3, 5, 7)
#: Kernel keys: convolution kind and kernel size, or the kernel kind.
POSITION_KEYS = tuple(f"{kind}.k{k}" for kind in _CONV_KINDS for k in _KSIZES) + (
    "convT",
    "fc",
    "matmul",
    "pool",
    "mul",
)
#: Position buckets: ``cut`` or ``u{up}d{down}``.
BUCKETS = ("cut",) + tuple(f"u{u}d{d}" for u in range(MAX_LEVEL + 1) for d in range(MAX_LEVEL + 1))
_BUCKET_INDEX = {b: i for i, b in enumerate(BUCKETS)}
_KEY_INDEX = {k: i for i, k in enumerate(POSITION_KEYS)}
#: Feature names: counts of placed nodes per (key, bucket).
POSITION_NAMES = tuple(f"pos.{k}.{b}" for k in POSITION_KEYS for b in BUCKETS)

Position = tuple[int, int] | str | None


def node_positions(
    nodes: Sequence[LightNode],
    live: Sequence[bool],
    *,
    params: Collection[str],
) -> list[Position]:
    """Per node: ``(up, down)``, ``"cut"``, or None (not on the graph, or not placed).

    ``nodes`` are in topological order and ``live`` says which nodes are on a path from
    an input to an output (:func:`on_path`). The walk is on nodes, not fused kernels,
    so a residual Add fused into a convolution still joins two branches. Levels are
    capped at :data:`MAX_LEVEL`.
    """
    n = len(nodes)
    producer: dict[str, int] = {}
    preds: list[list[int]] = [[] for _ in range(n)]
    succs: list[list[int]] = [[] for _ in range(n)]
    from_source = [False] * n  # reads a tensor no node produces: a graph input
    for k, (_, ins, outs) in enumerate(nodes):
        if live[k]:
            for t in dict.fromkeys(t for t in ins if t and t not in params):
                p = producer.get(t)
                if p is None:
                    from_source[k] = True
                elif live[p] and p not in preds[k]:
                    preds[k].append(p)
                    succs[p].append(k)
        for t in outs:
            producer[t] = k
    consumed = {t for k in range(n) if live[k] for t in nodes[k][1]}
    to_sink = [live[k] and any(t not in consumed for t in nodes[k][2]) for k in range(n)]
    heavy = [op in PLACED_OPS for op, _, _ in nodes]
    order = [k for k in range(n) if live[k]]
    paths_in = [0] * n
    for k in order:
        paths_in[k] = sum(paths_in[p] for p in preds[k]) + from_source[k]
    paths_out = [0] * n
    for k in reversed(order):
        paths_out[k] = sum(paths_out[s] for s in succs[k]) + to_sink[k]
    total = sum(paths_out[k] for k in order if from_source[k])
    cut = [live[k] and paths_in[k] * paths_out[k] == total for k in range(n)]
    up = [0] * n
    for k in order:
        up[k] = max((0 if cut[p] else up[p] + heavy[p] for p in preds[k]), default=0)
    down = [0] * n
    for k in reversed(order):
        down[k] = max((0 if cut[s] else down[s] + heavy[s] for s in succs[k]), default=0)
    out: list[Position] = []
    for k in range(n):
        if not live[k] or nodes[k][0] not in PLACED_OPS:
            out.append(None)
        elif cut[k]:
            out.append("cut")
        else:
            out.append((min(up[k], MAX_LEVEL), min(down[k], MAX_LEVEL)))
    return out


def on_path(
    nodes: Sequence[LightNode], *, inputs: Collection[str], outputs: Collection[str]
) -> list[bool]:
    """Nodes on a data-flow path from an input to an output (a zero multiply does not
    cut the path here: dead branches are still computed)."""
    return liveness(
        nodes, zero_mul=[False] * len(nodes), graph_inputs=inputs, graph_outputs=outputs
    )


def position_counts(
    nodes: Sequence[LightNode],
    positions: Sequence[Position],
    heavy_keys: Mapping[int, str | None],
    *,
    keep: Callable[[int], bool] | None = None,
) -> np.ndarray:
    """Counts per :data:`POSITION_NAMES` column: heavy nodes keyed by ``heavy_keys``
    (node index -> :func:`position_key`), Mul nodes as ``mul``; ``keep`` filters nodes."""
    vec = empty()
    for i, pos in enumerate(positions):
        if pos is None or (keep is not None and not keep(i)):
            continue
        key = "mul" if nodes[i][0] == "Mul" else heavy_keys.get(i)
        j = position_index(key, bucket(pos))
        if j is not None:
            vec[j] += 1
    return vec


def bucket(position: Position) -> str | None:
    """The bucket name of a position (None for no position)."""
    if position is None:
        return None
    if position == "cut":
        return "cut"
    u, d = cast("tuple[int, int]", position)
    return f"u{u}d{d}"


def position_key(kind: str, kernel_size: int) -> str | None:
    """The :data:`POSITION_KEYS` entry of a kernel (None for kinds without one)."""
    if kind in _CONV_KINDS:
        k = min(_KSIZES, key=lambda s: abs(s - min(max(kernel_size, 1), 7)))
        return f"{kind}.k{k}"
    return kind if kind in _KEY_INDEX else None


def position_index(key: str | None, bucket_name: str | None) -> int | None:
    """Column of (key, bucket) in :data:`POSITION_NAMES` (None when either is None)."""
    if key is None or bucket_name is None:
        return None
    return _KEY_INDEX[key] * len(BUCKETS) + _BUCKET_INDEX[bucket_name]


def empty() -> np.ndarray:
    """A zero position-feature vector."""
    return np.zeros(len(POSITION_NAMES))
