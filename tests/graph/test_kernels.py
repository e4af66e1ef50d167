"""Kernel fusion, liveness and depth on hand-made node lists and real graphs."""

from __future__ import annotations

import pytest

from edgewise.graph import FEATURE_NAMES, load_graph
from edgewise.graph._fusion import depth, fuse, liveness
from edgewise.graph.builders import fbnet, nasbench201

P = {"w", "w2", "s", "b", "zero"}


def test_conv_bn_relu_then_residual_add() -> None:
    nodes = [
        ("Conv", ("x", "w"), ("c",)),
        ("BatchNormalization", ("c", "s"), ("n",)),
        ("Relu", ("n",), ("r",)),
        ("Conv", ("r", "w2"), ("c2",)),
        ("Add", ("c2", "x"), ("a",)),
        ("Relu", ("a",), ("y",)),
    ]
    assert fuse(nodes, params=P, graph_outputs={"y"}) == [(0, 1, 2), (3, 4, 5)]
    assert depth(nodes, fuse(nodes, params=P, graph_outputs={"y"})) == 2


def test_no_fusion_across_a_shared_tensor_or_graph_output() -> None:
    nodes = [
        ("Conv", ("x", "w"), ("c",)),
        ("Relu", ("c",), ("r1",)),
        ("Sigmoid", ("c",), ("r2",)),
    ]
    assert fuse(nodes, params=P, graph_outputs={"r1", "r2"}) == [(0,), (1,), (2,)]
    nodes = [("Conv", ("x", "w"), ("c",)), ("Relu", ("c",), ("y",))]
    assert fuse(nodes, params=P, graph_outputs={"c", "y"}) == [(0,), (1,)]


def test_gemm_bias_act_and_elementwise_act() -> None:
    nodes = [
        ("MatMul", ("x", "w"), ("m",)),
        ("Add", ("m", "b"), ("a",)),
        ("Relu", ("a",), ("r",)),
        ("Add", ("r", "x2"), ("s",)),
        ("Relu", ("s",), ("y",)),
    ]
    # matmul+bias+relu+add+relu: the residual add and a second activation also fuse
    assert fuse(nodes, params=P, graph_outputs={"y"}) == [(0, 1, 2, 3, 4)]
    nodes = [("Add", ("x", "x2"), ("s",)), ("Relu", ("s",), ("y",))]
    assert fuse(nodes, params=P, graph_outputs={"y"}) == [(0, 1)]


def test_zero_multiply_cuts_liveness() -> None:
    nodes = [
        ("Conv", ("x", "w"), ("c",)),
        ("Mul", ("c", "zero"), ("z",)),
        ("Relu", ("z",), ("y",)),
    ]
    assert liveness(
        nodes, zero_mul=[False, True, False], graph_inputs={"x"}, graph_outputs={"y"}
    ) == [False, False, False]
    assert liveness(
        nodes, zero_mul=[False, False, False], graph_inputs={"x"}, graph_outputs={"y"}
    ) == [True, True, True]


def test_kernel_view_of_real_graphs() -> None:
    g = load_graph(fbnet(["k3_e1_g2"] * 22))
    patterns = {k.pattern for k in g.kernels}
    assert {"conv-bn-relu", "conv-bn-add", "transpose", "gemm"} <= patterns
    dw = [k for k in g.kernels if k.kind == "dwconv"]
    assert dw and all(k.kernel_size == 3 and k.groups == k.cin == k.cout for k in dw)
    assert all(k.kind == "gconv" for k in g.kernels if k.groups == 2)
    assert sum(k.flops for k in g.kernels) == g.summary().flops
    for k in g.kernels:
        assert k.intensity >= 0 and k.signature.startswith(k.pattern)


def test_features_are_named_finite_and_consistent() -> None:
    g = load_graph(
        nasbench201(
            "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|"
            "+|skip_connect~0|none~1|nor_conv_3x3~2|"
        )
    )
    f = g.features()
    assert list(f) == list(FEATURE_NAMES)
    assert all(v == v and abs(v) < float("inf") for v in f.values())
    s = g.summary()
    assert f["all.flops"] == s.flops and f["all.macs"] == s.macs
    assert f["depth"] == s.depth and f["all.kernels"] == s.n_kernels
    assert f["all.conv.k3.count"] == 5 * 3 * 2 + 1 + 2 * 2  # cells + stem + reductions
    assert 0 <= f["all.roof8.memshare"] <= 1


def test_used_and_dead_kernels_split_what_the_output_uses() -> None:
    from edgewise.graph import kernel_signatures
    from edgewise.graph._fusion import reaches_output

    # x -> conv -> *0 -> out: the conv's result is thrown away; the multiply still runs
    nodes = [("Conv", ("x", "w"), ("c",)), ("Mul", ("c", "zero"), ("y",))]
    assert reaches_output(nodes, zero_mul=[False, True], graph_outputs={"y"}) == [False, True]
    # a real NB201 cell: node 2 (conv 1x1 of node 0 plus conv 3x3 of node 1) feeds only
    # `none` edges, so the output never uses either of its convolutions, nor the conv 3x3
    # of node 1 that feeds it: `d:`, three per cell
    g = load_graph(
        nasbench201(
            "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|"
        )
    )
    sig = kernel_signatures(g)
    for key in {k[2:] for k in sig}:
        assert sig["a:" + key] == sig["o:" + key] + sig["d:" + key]
    dead = {k: v for k, v in sig.items() if k.startswith("d:")}
    assert sum(v for k, v in dead.items() if "|k3s1g1|" in k and k.startswith("d:conv")) == 30
    assert sum(v for k, v in dead.items() if "|k1s1g1|" in k and k.startswith("d:conv")) == 15
    full = kernel_signatures(load_graph(nasbench201(["nor_conv_3x3"] * 6)))
    assert not any(k.startswith("d:") for k in full)  # a full cell uses everything


@pytest.mark.parametrize(
    ("arch", "dead_ops"),
    [
        # edge 1<-0 alone in node 1, feeding only `none` edges: the zero multiply folds
        # into the convolution, which runs
        ("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|", 0),
        # the same through node 2's Add with a zero term (edge 2<-1 is `none`)
        ("|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|nor_conv_1x1~1|none~2|", 0),
        # a pool does not fold: it is dropped
        ("|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|", 15),
    ],
)
def test_zero_multiplies_fold_into_the_convolution_before_them(arch: str, dead_ops: int) -> None:
    from edgewise.graph import kernel_signatures

    sig = kernel_signatures(load_graph(nasbench201(arch)))
    heavy = ("d:conv", "d:avgpool")
    assert sum(v for k, v in sig.items() if k.startswith(heavy)) == dead_ops


def test_folded_zero_muls_follow_bn_and_zero_adds_only() -> None:
    from edgewise.graph._fusion import folded_zero_muls, reaches_output

    params = {"w", "s", "zero"}
    conv = [("Conv", ("x", "w"), ("c",)), ("BatchNormalization", ("c", "s"), ("b",))]
    # conv -> bn -> (+ x*0) -> *0: folds; the conv's result is used
    nodes = [
        *conv,
        ("Mul", ("x", "zero"), ("z",)),
        ("Add", ("b", "z"), ("a",)),
        ("Mul", ("a", "zero"), ("y",)),
    ]
    zero = [False, False, True, False, True]
    assert folded_zero_muls(nodes, zero_mul=zero, params=params) == [False] * 4 + [True]
    assert reaches_output(nodes, zero_mul=zero, graph_outputs={"y"}, params=params)[0]
    assert not reaches_output(nodes, zero_mul=zero, graph_outputs={"y"})[0]
    # the bn's result also feeds something else: the multiply cannot fold into the conv
    shared = [*conv, ("Mul", ("b", "zero"), ("y",)), ("Relu", ("b",), ("r",))]
    assert not any(folded_zero_muls(shared, zero_mul=[False, False, True, False], params=params))
    # a pool does not take a scale
    pool = [("AveragePool", ("x",), ("p",)), ("Mul", ("p", "zero"), ("y",))]
    assert folded_zero_muls(pool, zero_mul=[False, True], params=params) == [False, False]
