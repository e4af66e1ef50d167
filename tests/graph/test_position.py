"""Kernel positions between cut points: from topology alone, equal for equal graphs."""

from __future__ import annotations

import numpy as np

from edgewise.graph import load_graph
from edgewise.graph._features import graph_positions
from edgewise.graph._position import POSITION_NAMES, node_positions, on_path
from edgewise.graph.builders import format_nasbench201, nasbench201


def _named(vec: np.ndarray) -> dict[str, int]:
    return {POSITION_NAMES[i][4:]: int(vec[i]) for i in np.flatnonzero(vec)}


def test_residual_block_and_chain() -> None:
    block = [
        ("Conv", ("x", "w1"), ("a",)),
        ("Relu", ("a",), ("b",)),
        ("Conv", ("b", "w2"), ("c",)),
        ("Add", ("x", "c"), ("y",)),
        ("Conv", ("y", "w3"), ("z",)),
    ]
    params = {"w1", "w2", "w3"}
    assert node_positions(block, [True] * 5, params=params) == [
        (0, 1),
        None,
        (1, 0),
        None,
        "cut",
    ]
    # the same nodes without the skip: a chain, every convolution is a cut
    chain = [*block[:3], ("Relu", ("c",), ("y",)), block[4]]
    assert node_positions(chain, [True] * 5, params=params) == ["cut", None, "cut", None, "cut"]
    # a branch multiplied by zero (NB201's 'none') is dead but still computed: it keeps
    # its positions, and the multiplication gets one
    dead = [*block[:3], ("Mul", ("c", "zero"), ("d",)), ("Add", ("x", "d"), ("y",)), block[4]]
    flow = on_path(dead, inputs={"x"}, outputs={"z"})
    assert all(flow)
    assert node_positions(dead, flow, params={*params, "zero"}) == [
        (0, 2),
        None,
        (1, 1),
        (2, 0),
        None,
        "cut",
    ]
    # a node that reaches no output has no position
    stray = [*block, ("Conv", ("a", "w3"), ("unused",))]
    flow = on_path(stray, inputs={"x"}, outputs={"z"})
    assert flow[-1] is False
    assert node_positions(stray, flow, params=params)[-1] is None


def test_full_nb201_cell_gives_each_edge_its_own_position() -> None:
    arch = format_nasbench201(["nor_conv_3x3"] * 6)
    vec = graph_positions(load_graph(nasbench201(arch)))
    # 15 cells x six edges, plus the stem (a cut), the reduction blocks (convolutions at
    # (0, 1) and (1, 0), a 1x1 shortcut after a pool) and the classifier (a cut)
    assert _named(vec) == {
        "conv.k3.cut": 1,
        "conv.k3.u0d2": 15,
        "conv.k3.u0d1": 15 + 2,
        "conv.k3.u0d0": 15,
        "conv.k3.u1d1": 15,
        "conv.k3.u1d0": 15 + 2,
        "conv.k3.u2d0": 15,
        "conv.k1.u1d0": 2,
        "pool.u0d1": 2,
        "fc.cut": 1,
    }


def test_none_edges_are_placed_even_when_the_output_is_disconnected() -> None:
    arch = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    vec = graph_positions(load_graph(nasbench201(arch)))
    got = _named(vec)
    # the five zero multiplies of each cell: 2<-0, 3<-0, 2<-1, 3<-1, 3<-2; the
    # convolution 1<-0 has two of them after it (2<-1 then 3<-2)
    for where in ("u0d1", "u0d0", "u1d1", "u1d0", "u2d0"):
        assert got[f"mul.{where}"] == 15
    assert got["conv.k3.u0d2"] == 15
    # moving one 'none' changes the features although the live graph is the same
    other = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|"
    assert not np.array_equal(graph_positions(load_graph(nasbench201(other))), vec)


def test_positions_do_not_depend_on_node_order_or_names() -> None:
    # two branches from x; written in two topological orders, with renamed tensors
    nodes = [
        ("Conv", ("x", "w1"), ("a",)),
        ("AveragePool", ("x",), ("p",)),
        ("Conv", ("a", "w2"), ("b",)),
        ("Add", ("b", "p"), ("y",)),
    ]
    params = {"w1", "w2"}
    first = node_positions(nodes, [True] * 4, params=params)
    rename = {"a": "t9", "b": "t3", "p": "t1", "y": "out"}
    again = [
        (op, tuple(rename.get(t, t) for t in ins), tuple(rename.get(t, t) for t in outs))
        for op, ins, outs in (nodes[1], nodes[0], nodes[2], nodes[3])
    ]
    second = node_positions(again, [True] * 4, params=params)
    assert first == [(0, 1), (0, 0), (1, 0), None]
    assert [second[1], second[0], second[2], second[3]] == first
