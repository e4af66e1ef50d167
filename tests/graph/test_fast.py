"""The fast architecture path gives the same features as building the ONNX graph."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewise.errors import ModelError
from edgewise.graph import kernel_signatures, load_graph
from edgewise.graph._fast import FBNetFeaturizer, NB201Featurizer, OFAFeaturizer, RawBatch
from edgewise.graph._features import finalize, graph_positions, graph_raw
from edgewise.graph.builders import (
    FBNET_BLOCKS,
    NB201_OPS,
    fbnet,
    format_nasbench201,
    nasbench201,
    ofa_mbv3,
)
from edgewise.graph.builders._ofa import OFA_DEPTHS, OFA_EXPANDS, OFA_KERNELS


@pytest.fixture(scope="module")
def nb201() -> NB201Featurizer:
    return NB201Featurizer()


@pytest.fixture(scope="module")
def fbnet_fz() -> FBNetFeaturizer:
    return FBNetFeaturizer()


@pytest.fixture(scope="module")
def ofa_fz() -> OFAFeaturizer:
    # tables for every resolution met, even for one model (~2 s each: tests use few)
    return OFAFeaturizer(table_min=1)


def _onnx_path(model: object) -> tuple[np.ndarray, object, np.ndarray]:
    """Features, kernel signatures and position features of the ONNX path."""
    g = load_graph(model)  # type: ignore[arg-type]
    return finalize(*graph_raw(g))[0], kernel_signatures(g), graph_positions(g)


EDGE_CASES = [
    ["none"] * 6,
    ["skip_connect"] * 6,
    ["nor_conv_3x3", "none", "none", "none", "none", "none"],
    ["skip_connect", "skip_connect", "nor_conv_1x1", "skip_connect", "none", "avg_pool_3x3"],
    ["nor_conv_1x1", "avg_pool_3x3", "none", "nor_conv_3x3", "nor_conv_3x3", "none"],
    # disconnected, but each cell's output folds into the next cell's zero multiplies
    # (_fusion.folded_zero_muls): the last stage runs (with edge 1<-0 a convolution, as
    # above, every kernel runs)
    ["skip_connect", "none", "none", "none", "none", "nor_conv_3x3"],
    ["none", "none", "nor_conv_1x1", "none", "none", "nor_conv_3x3"],
    # connected, with a convolution whose result only feeds `none` edges through an Add
    ["nor_conv_3x3", "nor_conv_1x1", "none", "skip_connect", "nor_conv_1x1", "none"],
]


@pytest.mark.parametrize("ops", EDGE_CASES)
def test_nb201_edge_cases_match(nb201: NB201Featurizer, ops: list[str]) -> None:
    arch = format_nasbench201(ops)
    want, sigs, positions = _onnx_path(nasbench201(arch))
    got = nb201.batch([arch])
    np.testing.assert_allclose(got.features[0], want, rtol=1e-12)
    assert got.signatures[0] == sigs
    np.testing.assert_array_equal(got.positions[0], positions)


@settings(max_examples=10, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(NB201_OPS), min_size=6, max_size=6), min_size=1, max_size=2)
)
def test_nb201_random_archs_match(nb201: NB201Featurizer, cells: list[list[str]]) -> None:
    archs = [format_nasbench201(ops) for ops in cells]
    got = nb201.batch(archs)
    for i, arch in enumerate(archs):
        want, sigs, positions = _onnx_path(nasbench201(arch))
        np.testing.assert_allclose(got.features[i], want, rtol=1e-12)
        assert got.signatures[i] == sigs
        np.testing.assert_array_equal(got.positions[i], positions)


@settings(max_examples=3, deadline=None)
@given(st.lists(st.sampled_from(FBNET_BLOCKS), min_size=22, max_size=22))
def test_fbnet_random_archs_match(fbnet_fz: FBNetFeaturizer, blocks: list[str]) -> None:
    arch = "-".join(blocks)
    want, sigs, positions = _onnx_path(fbnet(arch))
    got = fbnet_fz.batch([arch])
    np.testing.assert_allclose(got.features[0], want, rtol=1e-12)
    assert got.signatures[0] == sigs
    np.testing.assert_array_equal(got.positions[0], positions)


def test_bad_strings_raise(nb201: NB201Featurizer, fbnet_fz: FBNetFeaturizer) -> None:
    with pytest.raises(ModelError):
        nb201.batch(["|bogus~0|+|none~0|none~1|+|none~0|none~1|none~2|"])
    with pytest.raises(ModelError):
        fbnet_fz.batch(["k3_e1"])
    assert nb201.batch([]).features.shape[0] == 0


def test_nb201_positions_cached_per_edge_pattern_match(nb201: NB201Featurizer) -> None:
    # the fast path computes positions once per pattern of (placed / zero / nothing)
    # edges: archs that share a pattern but not their ops must still match the ONNX path
    same_pattern = [
        ["nor_conv_3x3", "none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1", "none"],
        ["avg_pool_3x3", "none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "none"],
        ["nor_conv_1x1", "none", "skip_connect", "nor_conv_3x3", "avg_pool_3x3", "none"],
    ]
    archs = [format_nasbench201(ops) for ops in same_pattern]
    got = nb201.batch(archs)
    for i, arch in enumerate(archs):
        np.testing.assert_array_equal(got.positions[i], _onnx_path(nasbench201(arch))[2])


def test_nb201_cells_planned_per_topology_match_cells_planned_alone() -> None:
    # 1x1 and 3x3 convolutions build the same nodes, so fusion, liveness and positions
    # are planned once per topology and only the kernels are looked up per arch; a
    # featurizer that plans every cell alone must give exactly the same answers
    rng = np.random.default_rng(7)
    topo_ops = ["nor_conv_3x3", "avg_pool_3x3", "skip_connect", "none"]
    archs = []
    for _ in range(25):
        topo = list(rng.choice(topo_ops, 6))
        convs = [k for k, op in enumerate(topo) if op == "nor_conv_3x3"]
        for _ in range(4):  # some of its 1x1/3x3 variants, in random order
            ops = list(topo)
            for k in convs:
                ops[k] = str(rng.choice(["nor_conv_1x1", "nor_conv_3x3"]))
            archs.append(format_nasbench201(ops))
    shared, alone = NB201Featurizer(), NB201Featurizer()
    alone._canonical = {}  # noqa: SLF001
    a, b = shared.batch(archs), alone.batch(archs)
    np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(a.positions, b.positions)
    assert a.signatures == b.signatures
    assert len(shared._plans) <= 25 < len(alone._plans)  # noqa: SLF001
    for arch in archs[:3]:
        np.testing.assert_array_equal(
            shared.batch([arch]).features[0], _onnx_path(nasbench201(arch))[0]
        )


def _ofa(
    k: int | list[int] = 3, e: int | list[int] = 3, d: int | list[int] = 2, r: int = 128
) -> str:
    def listed(v: int | list[int], n: int) -> list[int]:
        return [v] * n if isinstance(v, int) else v

    return json.dumps({"ks": listed(k, 20), "e": listed(e, 20), "d": listed(d, 5), "r": r})


def _assert_ofa_matches(got: RawBatch, archs: list[str]) -> None:
    for i, arch in enumerate(archs):
        want, sigs, positions = _onnx_path(ofa_mbv3(arch))
        np.testing.assert_allclose(got.features[i], want, rtol=1e-12)
        assert got.signatures[i] == sigs
        np.testing.assert_array_equal(got.positions[i], positions)


def test_ofa_edge_cases_match(ofa_fz: OFAFeaturizer) -> None:
    # one batch, mixed resolutions: 96 is outside HELP's 128..224, its tables are built too
    archs = [
        _ofa(d=2),
        _ofa(k=7, e=6, d=4),
        _ofa(k=[3, 5, 7, 5] * 5, e=[6, 4, 3, 3] * 5, d=4, r=224),
        _ofa(k=5, e=4, d=[2, 3, 4, 3, 2], r=96),
        _ofa(d=2),  # a duplicate
    ]
    got = ofa_fz.batch(archs)
    _assert_ofa_matches(got, archs)
    assert sorted(ofa_fz._tables) == [96, 128, 224]  # noqa: SLF001


@settings(max_examples=8, deadline=None)
@given(
    st.lists(st.sampled_from(OFA_KERNELS), min_size=20, max_size=20),
    st.lists(st.sampled_from(OFA_EXPANDS), min_size=20, max_size=20),
    st.lists(st.sampled_from(OFA_DEPTHS), min_size=5, max_size=5),
    st.sampled_from((128, 224)),
)
def test_ofa_random_archs_match(
    ofa_fz: OFAFeaturizer, ks: list[int], es: list[int], ds: list[int], r: int
) -> None:
    arch = _ofa(ks, es, ds, r)
    _assert_ofa_matches(ofa_fz.batch([arch]), [arch])


def test_ofa_few_models_of_a_resolution_skip_its_table() -> None:
    """Below table_min models of a resolution, each is built as ONNX (a table costs ~9)."""
    fz = OFAFeaturizer(table_min=3)
    archs = [_ofa(d=2, r=160), _ofa(k=7, d=3, r=160), _ofa(e=6, r=192)]
    _assert_ofa_matches(fz.batch(archs), archs)
    assert fz._tables == {}  # noqa: SLF001
    more = [_ofa(k=5, d=d, r=192) for d in (2, 3, 4)]
    _assert_ofa_matches(fz.batch(more), more)
    assert sorted(fz._tables) == [192]  # noqa: SLF001


def test_ofa_bad_strings_raise(ofa_fz: OFAFeaturizer) -> None:
    for bad in ("not json", _ofa(k=4), _ofa(d=1), _ofa(r=8), json.dumps({"ks": [3] * 20})):
        with pytest.raises(ModelError):
            ofa_fz.batch([_ofa(), bad])
    assert ofa_fz.batch([]).features.shape[0] == 0


def test_ofa_goes_the_fast_path_and_agrees_with_the_onnx_route() -> None:
    # OnnxSpaceFeaturizer, the generic route of a space without a fast path, has no
    # space left to serve in ModelFeaturizer: keep it checked against the OFA fast path
    from edgewise.predict._featurize import ModelFeaturizer, OnnxSpaceFeaturizer

    fz = ModelFeaturizer()
    archs = [_ofa(k=5, e=6, d=3), _ofa(k=[7, 3] * 10, e=4, d=[4, 2, 3, 4, 2])]
    batch = fz.transform(["ofa:" + archs[0], "ofa_mbv3:" + archs[1]])
    assert isinstance(fz._space("ofa_mbv3"), OFAFeaturizer)  # noqa: SLF001
    slow = OnnxSpaceFeaturizer("ofa_mbv3").batch(archs)
    np.testing.assert_allclose(batch.features, slow.features, rtol=1e-12)
    np.testing.assert_array_equal(batch.positions, slow.positions)
    assert batch.signatures == slow.signatures
