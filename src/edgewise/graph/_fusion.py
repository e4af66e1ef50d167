"""Graph algorithms on a light node list: kernel fusion, liveness and depth.

Both the ONNX path (:mod:`edgewise.graph._ir`) and the fast architecture path
(:mod:`edgewise.graph._fast`) run these same functions, so they agree by construction.

A node here is ``(op_type, inputs, outputs)``; ``params`` names the tensors that are
weights or constants. Fusion follows what inference runtimes do:

- a Conv / Gemm / MatMul anchor absorbs, in this order and each at most once, a
  BatchNormalization, a bias Add, an activation, a residual Add and a second activation;
- an element-wise or normalisation anchor absorbs one following activation;
- a node is absorbed only when it is the sole consumer of the previous tensor and that
  tensor is not a graph output.

>>> nodes = [("Conv", ("x", "w"), ("a",)), ("BatchNormalization", ("a", "s"), ("b",)),
...          ("Relu", ("b",), ("y",))]
>>> fuse(nodes, params={"w", "s"}, graph_outputs={"y"})
[(0, 1, 2)]
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from edgewise.graph._cost import (
    ACTIVATIONS,
    ELEMENTWISE_1,
    ELEMENTWISE_N,
    MATMUL_OPS,
    VIEW_OPS,
)

LightNode = tuple[str, Sequence[str], Sequence[str]]

_ANCHOR_ELEMENTWISE = (ELEMENTWISE_1 | frozenset(ELEMENTWISE_N)) - ACTIVATIONS

# Stages of a matmul-anchored kernel; a node may join only at a later stage.
_BN, _BIAS, _ACT1, _ADD, _ACT2 = 1, 2, 3, 4, 5


def _stage(op: str, node_inputs: Sequence[str], params: Collection[str], current: int) -> int:
    """The fusion stage ``op`` would take after ``current``; 0 when it cannot join."""
    if op == "BatchNormalization":
        return _BN if current < _BN else 0
    if op in {"Add", "Mul", "Sub"}:
        if len(node_inputs) == 2 and (node_inputs[0] in params or node_inputs[1] in params):
            return _BIAS if current < _BIAS else 0
        if op == "Add" and len(node_inputs) == 2:
            return _ADD if current < _ADD else 0
        return 0
    if op in ACTIVATIONS:
        if current < _ACT1:
            return _ACT1
        if current == _ADD:
            return _ACT2
        return 0
    return 0


def fuse(
    nodes: Sequence[LightNode],
    *,
    params: Collection[str],
    graph_outputs: Collection[str],
) -> list[tuple[int, ...]]:
    """Group node indices into kernels; the result is in topological order."""
    consumers: dict[str, list[int]] = {}
    for i, (_, ins, _) in enumerate(nodes):
        for t in dict.fromkeys(ins):
            if t:
                consumers.setdefault(t, []).append(i)
    taken = [False] * len(nodes)
    kernels: list[tuple[int, ...]] = []
    for i, (op, _, _) in enumerate(nodes):
        if taken[i]:
            continue
        taken[i] = True
        group = [i]
        if op in MATMUL_OPS:
            stage, limit = 0, _ACT2
        elif op in _ANCHOR_ELEMENTWISE or op in ACTIVATIONS:
            stage, limit = _BIAS, _ACT1
        else:
            kernels.append((i,))
            continue
        tail = i
        while True:
            outs = nodes[tail][2]
            if len(outs) != 1 or outs[0] in graph_outputs:
                break
            users = consumers.get(outs[0], [])
            if len(users) != 1 or taken[users[0]]:
                break
            j = users[0]
            op_j, ins_j, _ = nodes[j]
            new = _stage(op_j, ins_j, params, stage)
            if new == 0 or new > limit:
                break
            if new in (_ADD, _BIAS) and ins_j.count(outs[0]) != 1:
                break
            taken[j] = True
            group.append(j)
            stage, tail = new, j
        kernels.append(tuple(group))
    kernels.sort(key=lambda g: g[-1])
    return kernels


def liveness(
    nodes: Sequence[LightNode],
    *,
    zero_mul: Sequence[bool],
    graph_inputs: Collection[str],
    graph_outputs: Collection[str],
) -> list[bool]:
    """Which nodes lie on a path from a graph input to a graph output.

    A multiplication by an all-zero constant cuts the path: its output does not depend
    on its input (NAS-Bench-201's ``none`` op), so the nodes before it are dead.
    """
    reached = set(graph_inputs)
    from_input = [False] * len(nodes)
    for i, (_, ins, outs) in enumerate(nodes):
        if not zero_mul[i] and any(t in reached for t in ins):
            from_input[i] = True
            reached.update(outs)
    needed = reaches_output(nodes, zero_mul=zero_mul, graph_outputs=graph_outputs)
    return [a and b for a, b in zip(from_input, needed, strict=True)]


def reaches_output(
    nodes: Sequence[LightNode],
    *,
    zero_mul: Sequence[bool],
    graph_outputs: Collection[str],
    params: Collection[str] | None = None,
) -> list[bool]:
    """Which nodes' results a graph output uses (a zero multiply uses none of its input).

    Unlike :func:`liveness` this keeps nodes that only ever see zeros (they still run),
    and drops nodes whose result is thrown away: runtimes that prune dead code skip them.
    With ``params``, a zero multiply that a runtime folds into the convolution before it
    (:func:`folded_zero_muls`) uses its input: the convolution runs, with zero weights.
    """
    folded = (
        folded_zero_muls(nodes, zero_mul=zero_mul, params=params)
        if params is not None
        else [False] * len(nodes)
    )
    needed = set(graph_outputs)
    out = [False] * len(nodes)
    for i in range(len(nodes) - 1, -1, -1):
        _, ins, outs = nodes[i]
        if any(t in needed for t in outs):
            out[i] = True
            if not zero_mul[i] or folded[i]:
                needed.update(ins)
    return out


def folded_zero_muls(
    nodes: Sequence[LightNode], *, zero_mul: Sequence[bool], params: Collection[str]
) -> list[bool]:
    """Zero multiplies that a runtime folds into the convolution that makes their input.

    A converter folds a multiplication by a constant into the weights of the Conv (or
    Gemm/MatMul) before it, through its BatchNormalization and through Adds whose other
    terms are zero multiplies or constants, when each tensor on the way feeds only the
    next step (the multiplies of one tensor by zero are one after common-subexpression
    elimination). The convolution then still runs, with zero weights, where a multiply
    that is not folded leaves its input to be pruned. On HW-NAS-Bench's pixel3 and raspi4
    an NB201 convolution whose result only feeds ``none`` edges runs when it is alone in
    its node and is dropped when another op shares the node.

    >>> nodes = [("Conv", ("x", "w"), ("c",)), ("Mul", ("c", "zero"), ("y",))]
    >>> folded_zero_muls(nodes, zero_mul=[False, True], params={"w", "zero"})
    [False, True]
    """
    producer: dict[str, int] = {}
    consumers: dict[str, list[int]] = {}
    for i, (_, ins, outs) in enumerate(nodes):
        for t in outs:
            producer[t] = i
        for t in dict.fromkeys(ins):
            if t:
                consumers.setdefault(t, []).append(i)

    def zero_term(t: str) -> bool:
        return t in params or (t in producer and zero_mul[producer[t]])

    out = [False] * len(nodes)
    for i, (_, ins, _) in enumerate(nodes):
        if not zero_mul[i]:
            continue
        data = [t for t in ins if t and t not in params]
        if len(data) != 1 or not all(zero_mul[c] for c in consumers.get(data[0], [])):
            continue
        t = data[0]
        while t in producer:
            p = producer[t]
            op, p_ins, _ = nodes[p]
            if op in MATMUL_OPS:
                out[i] = True
                break
            if op == "BatchNormalization":
                nxt = [p_ins[0]] if p_ins else []
            elif op == "Add":
                nxt = [x for x in p_ins if x and not zero_term(x)]
            else:
                break
            if len(nxt) != 1 or consumers.get(nxt[0], []) != [p]:
                break
            t = nxt[0]
    return out


def depth(nodes: Sequence[LightNode], kernels: Sequence[tuple[int, ...]]) -> int:
    """Longest chain of kernels from any input to any output (view-only kernels count 0)."""
    produced_by: dict[str, int] = {}
    level: list[int] = []
    for k, group in enumerate(kernels):
        inside = {t for i in group for t in nodes[i][2]}
        best = 0
        for i in group:
            for t in nodes[i][1]:
                if t not in inside and t in produced_by:
                    best = max(best, level[produced_by[t]])
        is_view = all(nodes[i][0] in VIEW_OPS for i in group)
        level.append(best + (0 if is_view else 1))
        for i in group:
            for t in nodes[i][2]:
                produced_by[t] = k
    return max(level, default=0)
