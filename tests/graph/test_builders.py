"""NB201 and FBNet builders: real ONNX graphs whose FLOPs match the closed form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewise.errors import ModelError
from edgewise.graph import load_graph
from edgewise.graph.builders import (
    FBNET_BLOCKS,
    FBNET_LAYERS,
    NB201_OPS,
    block_params,
    build_model,
    fbnet,
    format_nasbench201,
    nasbench201,
    parse_fbnet,
    parse_nasbench201,
)

ALL_CONV3 = format_nasbench201(["nor_conv_3x3"] * 6)
DISCONNECTED = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|none~0|none~1|none~2|"


def nb201_closed_form(ops: tuple[str, ...]) -> tuple[int, int]:
    """(MACs, FLOPs in NB201's convention) of the CIFAR-10 network, from the formula.

    NB201 (xautodl ``get_model_infos``) counts a conv as Cin*Cout*k*k*Hout*Wout MACs, a
    linear layer as in*out plus its bias, and an average pool as k*k per output
    element; BN, ReLU, additions and the global pool are free.
    """
    stages = [(16, 32 * 32), (32, 16 * 16), (64, 8 * 8)]
    macs = 3 * 16 * 9 * 32 * 32  # stem
    pool_ops = 0
    for s, (c, hw) in enumerate(stages):
        if s > 0:
            cin = stages[s - 1][0]
            macs += 9 * cin * c * hw + 9 * c * c * hw + cin * c * hw  # conv_a, conv_b, down
            pool_ops += 4 * cin * hw  # the 2x2 downsampling pool
        per_cell = sum(
            {"nor_conv_3x3": 9 * c * c * hw, "nor_conv_1x1": c * c * hw}.get(op, 0) for op in ops
        )
        pool_ops += 5 * sum(9 * c * hw for op in ops if op == "avg_pool_3x3")
        macs += 5 * per_cell
    macs += 64 * 10
    return macs, macs + pool_ops + 10


def nb201_flops_from_graph(arch: str) -> tuple[int, int]:
    g = load_graph(nasbench201(arch))
    pools = sum(n.flops for n in g.nodes if n.op_type == "AveragePool")
    return g.summary().macs, g.summary().macs + pools + 10


def test_all_conv3x3_flops_match_the_formula() -> None:
    macs, flops = nb201_flops_from_graph(ALL_CONV3)
    assert (macs, flops) == nb201_closed_form(("nor_conv_3x3",) * 6)
    # 90 cell convs of 2,359,296 MACs + stem + two reduction blocks + classifier
    assert macs == 90 * 2_359_296 + 442_368 + 2 * (1_179_648 + 2_359_296 + 131_072) + 640
    assert round(flops / 1e6, 2) == 220.14


@settings(max_examples=8, deadline=None)
@given(st.lists(st.sampled_from(NB201_OPS), min_size=6, max_size=6))
def test_nb201_flops_match_the_formula(ops: list[str]) -> None:
    arch = format_nasbench201(ops)
    assert parse_nasbench201(arch) == tuple(ops)
    assert nb201_flops_from_graph(arch) == nb201_closed_form(tuple(ops))


def test_none_that_disconnects_the_output_is_explicit() -> None:
    g = load_graph(nasbench201(DISCONNECTED))
    s = g.summary()
    assert not s.output_depends_on_input
    assert s.live_flops == 0 and s.flops > 0
    assert g.features()["output_connected"] == 0.0
    connected = load_graph(nasbench201(ALL_CONV3)).summary()
    assert connected.output_depends_on_input and connected.live_flops == connected.flops


def test_dead_branch_is_not_live() -> None:
    # node 2 is computed but only feeds node 3 through `none`: its conv is dead work
    arch = "|skip_connect~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|skip_connect~1|none~2|"
    g = load_graph(nasbench201(arch))
    dead = [n.name for n, lv in zip(g.nodes, g.live, strict=True) if not lv]
    assert any("n2/e0/nor_conv_3x3/conv" in name for name in dead)
    assert g.summary().output_depends_on_input


def test_built_models_run_in_onnxruntime() -> None:
    import onnxruntime as ort

    for model, shape, n_out in [
        (nasbench201(DISCONNECTED), (1, 3, 32, 32), 10),
        (fbnet(["k3_e1_g2", "skip", *(["k5_e6"] * 20)]), (1, 3, 224, 224), 1000),
    ]:
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        (out,) = sess.run(None, {"input": np.zeros(shape, np.float32)})
        assert out.shape == (1, n_out)


def test_fbnet_structure() -> None:
    assert len(FBNET_LAYERS) == 22
    assert block_params("k5_e1_g2") == (5, 1, 2) and block_params("skip") == (0, 0, 0)
    small = load_graph(fbnet(["k3_e1"] * 22)).summary()
    big = load_graph(fbnet(["k5_e6"] * 22)).summary()
    assert big.macs > 3 * small.macs
    assert small.output_shapes == {"head/fc:0": [1, 1000]}
    skips = load_graph(fbnet(["skip"] * 22))
    # shape-changing skips become 1x1 conv-bn-relu; the rest are free identities
    changing = sum(1 for cin, cout, s in FBNET_LAYERS if s != 1 or cin != cout)
    convs = [k for k in skips.kernels if k.name.startswith("layer")]
    assert len(convs) == changing and {k.pattern for k in convs} == {"conv-bn-relu"}


@pytest.mark.parametrize(
    ("arch", "match"),
    [
        ("", "3 '\\+'-separated nodes"),
        ("|nor_conv_3x3~0|+|none~0|+|none~0|none~1|none~2|", "node 2 needs 2 inputs"),
        ("|nor_conv_3x3~1|+|none~0|none~1|+|none~0|none~1|none~2|", "must read 'op~0'"),
        ("|conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "did you mean 'nor_conv_3x3'"),
        ("nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "start and end with"),
    ],
)
def test_bad_nb201_strings(arch: str, match: str) -> None:
    with pytest.raises(ModelError, match=match):
        parse_nasbench201(arch)


@pytest.mark.parametrize(
    ("arch", "match"),
    [
        ("k3_e1", "expected 22"),
        ("-".join(["k3_e1"] * 21 + ["k7_e6"]), "unknown block 'k7_e6' at position 21"),
        ("-".join(["k3_e1"] * 21 + ["k3_e1_g"]), "did you mean 'k3_e1_g2'"),
    ],
)
def test_bad_fbnet_strings(arch: str, match: str) -> None:
    with pytest.raises(ModelError, match=match):
        parse_fbnet(arch)


def test_build_model_specs() -> None:
    assert build_model("nb201:" + ALL_CONV3).graph.name == "nasbench201"
    assert build_model("fbnet:" + "-".join([FBNET_BLOCKS[0]] * 22)).graph.name == "fbnet"
    with pytest.raises(ModelError, match="not an architecture spec"):
        build_model("resnet:50")
