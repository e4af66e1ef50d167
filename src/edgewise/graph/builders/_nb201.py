"""NAS-Bench-201: architecture strings to the real CIFAR network as ONNX.

The skeleton (Dong & Yang, ICLR 2020): a 3x3 conv stem with 16 channels and BN, three
stages of five cells (16, 32, 64 channels at 32x32, 16x16, 8x8) with a ResNet
basic block (stride 2) between stages, then BN, ReLU, global average pooling and a
linear classifier. A cell has four nodes; node ``j`` sums ``op(node i)`` over ``i < j``.
``nor_conv_kxk`` is ReLU-Conv-BN, ``avg_pool_3x3`` pools without counting padding,
``skip_connect`` is the identity and ``none`` multiplies by zero, as NB201's ``Zero``.

>>> parse_nasbench201("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|")
('nor_conv_3x3', 'none', 'skip_connect', 'none', 'none', 'avg_pool_3x3')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from edgewise.errors import ModelError
from edgewise.graph.builders._writer import OnnxWriter

#: The five NB201 operations.
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: Edge order of the six ops: (target node, source node).
NB201_EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))


def parse_nasbench201(arch: str) -> tuple[str, ...]:
    """The six ops of an NB201 string, in :data:`NB201_EDGES` order; ModelError if bad."""
    text = arch.strip()
    bad = f"bad NAS-Bench-201 architecture {arch!r}: "
    nodes = text.split("+")
    if len(nodes) != 3:
        raise ModelError(bad + "expected 3 '+'-separated nodes like |op~0|+|op~0|op~1|+|...|")
    ops: list[str] = []
    for j, node in enumerate(nodes, start=1):
        if not (node.startswith("|") and node.endswith("|")):
            raise ModelError(bad + f"node {j} must start and end with '|'")
        edges = node[1:-1].split("|")
        if len(edges) != j:
            raise ModelError(bad + f"node {j} needs {j} inputs, got {len(edges)}")
        for i, edge in enumerate(edges):
            op, sep, src = edge.partition("~")
            if not sep or src != str(i):
                raise ModelError(bad + f"edge {edge!r} of node {j} must read 'op~{i}'")
            if op not in NB201_OPS:
                import difflib

                close = difflib.get_close_matches(op, NB201_OPS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ModelError(bad + f"unknown op {op!r}{hint}; ops are {', '.join(NB201_OPS)}")
            ops.append(op)
    return tuple(ops)


def format_nasbench201(ops: Sequence[str]) -> str:
    """The NB201 string of six ops in :data:`NB201_EDGES` order."""
    if len(ops) != 6:
        raise ModelError(f"an NB201 cell has 6 ops, got {len(ops)}")
    groups = [[], [], []]  # type: list[list[str]]
    for (j, i), op in zip(NB201_EDGES, ops, strict=True):
        groups[j - 1].append(f"{op}~{i}")
    return "+".join("|" + "|".join(g) + "|" for g in groups)


def _edge(w: OnnxWriter, op: str, x: str, *, name: str) -> str:
    if op == "skip_connect":
        return x
    if op == "none":
        return w.mul_zero(x, name=f"{name}/zero")
    if op == "avg_pool_3x3":
        return w.avgpool(x, 3, pad=1, name=f"{name}/pool")
    k = 3 if op == "nor_conv_3x3" else 1
    c = w.shape(x)[1]
    y = w.relu(x, name=f"{name}/relu")
    y = w.conv(y, c, k, name=f"{name}/conv")
    return w.bn(y, name=f"{name}/bn")


def _cell(w: OnnxWriter, ops: Sequence[str], x: str, *, name: str) -> str:
    nodes = [x]
    edge_ops = dict(zip(NB201_EDGES, ops, strict=True))
    for j in (1, 2, 3):
        terms = [
            _edge(w, edge_ops[(j, i)], nodes[i], name=f"{name}/n{j}/e{i}/{edge_ops[(j, i)]}")
            for i in range(j)
        ]
        total = terms[0]
        for k, term in enumerate(terms[1:], start=1):
            total = w.add(total, term, name=f"{name}/n{j}/add{k}")
        nodes.append(total)
    return nodes[3]


def _reduction(w: OnnxWriter, x: str, cout: int, *, name: str) -> str:
    y = w.relu(x, name=f"{name}/a/relu")
    y = w.bn(w.conv(y, cout, 3, stride=2, name=f"{name}/a/conv"), name=f"{name}/a/bn")
    y = w.relu(y, name=f"{name}/b/relu")
    y = w.bn(w.conv(y, cout, 3, name=f"{name}/b/conv"), name=f"{name}/b/bn")
    r = w.avgpool(x, 2, stride=2, name=f"{name}/down/pool")
    r = w.conv(r, cout, 1, name=f"{name}/down/conv")
    return w.add(r, y, name=f"{name}/add")


def nasbench201(
    arch: str | Sequence[str],
    *,
    batch: int = 1,
    resolution: int = 32,
    channels: int = 16,
    cells_per_stage: int = 5,
    num_classes: int = 10,
    seed: int = 0,
) -> Any:
    """The NB201 CIFAR network of ``arch`` as an ``onnx.ModelProto`` (seeded weights).

    >>> model = nasbench201("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    ...                     "+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    >>> model.graph.input[0].name
    'input'
    """
    ops = parse_nasbench201(arch) if isinstance(arch, str) else tuple(arch)
    if len(ops) != 6 or any(op not in NB201_OPS for op in ops):
        raise ModelError(f"bad NAS-Bench-201 ops {ops!r}")
    if min(batch, resolution, channels, cells_per_stage, num_classes) <= 0:
        raise ModelError("NB201 sizes must be positive")
    w = OnnxWriter("nasbench201", seed=seed)
    x = w.input("input", (batch, 3, resolution, resolution))
    x = w.bn(w.conv(x, channels, 3, name="stem/conv"), name="stem/bn")
    cell = 0
    for stage in range(3):
        if stage > 0:
            x = _reduction(w, x, channels * 2**stage, name=f"red{stage}")
        for _ in range(cells_per_stage):
            x = _cell(w, ops, x, name=f"cell{cell}")
            cell += 1
    x = w.relu(w.bn(x, name="head/bn"), name="head/relu")
    x = w.flatten(w.global_avgpool(x, name="head/gap"), name="head/flatten")
    w.output(w.gemm(x, num_classes, name="head/fc"))
    return w.model()
