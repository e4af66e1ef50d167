"""Loading ONNX into the IR: shapes, dynamic dims, costs and the error paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgewise.errors import InputError, ModelError, ShapeError
from edgewise.graph import load_graph


def _tiny(batch: int | str = "batch", seq: int | str = 8) -> onnx.ModelProto:
    """x[batch, 3, seq, seq] -> Conv(4, 3x3, bias) -> Relu -> GAP -> Flatten -> Gemm(5)."""
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    b = numpy_helper.from_array(np.zeros(4, np.float32), "b")
    fw = numpy_helper.from_array(np.ones((5, 4), np.float32), "fw")
    fb = numpy_helper.from_array(np.zeros(5, np.float32), "fb")
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1] * 4),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, seq, seq])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[w, b, fw, fb],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_summary_counts_are_exact() -> None:
    s = load_graph(_tiny(batch=2, seq=8)).summary()
    conv_macs = 2 * 4 * 8 * 8 * 3 * 9
    assert s.macs == conv_macs + 2 * 5 * 4
    # conv: 2*MACs + bias; relu 1/elem; GAP reads every input elem; gemm 2*MACs + bias
    relu = 2 * 4 * 64
    assert s.flops == 2 * conv_macs + relu + relu + relu + 2 * 2 * 5 * 4 + 2 * 5
    assert s.param_bytes == 4 * (4 * 3 * 9 + 4 + 5 * 4 + 5)
    assert s.input_shapes == {"x": [2, 3, 8, 8]}
    assert s.output_shapes == {"y": [2, 5]}
    assert s.output_depends_on_input
    assert s.unknown_cost_nodes == 0
    assert s.op_counts == {"Conv": 1, "Flatten": 1, "Gemm": 1, "GlobalAveragePool": 1, "Relu": 1}


def test_dynamic_batch_defaults_to_one_and_can_be_bound() -> None:
    assert load_graph(_tiny()).summary().input_shapes == {"x": [1, 3, 8, 8]}
    assert load_graph(_tiny(), shapes={"batch": 4}).summary().input_shapes == {"x": [4, 3, 8, 8]}
    # what `--shape batch=4` parses to
    assert load_graph(_tiny(), shapes={"batch": (4,)}).summary().input_shapes["x"][0] == 4
    g = load_graph(_tiny(seq="side"), shapes={"x": [2, 3, 16, 16]})
    assert g.summary().input_shapes == {"x": [2, 3, 16, 16]}
    assert g.summary().output_shapes == {"y": [2, 5]}


@pytest.mark.parametrize(
    ("shapes", "match"),
    [
        ({}, "dynamic dim 'side'"),
        ({"nope": [1]}, "unknown input or dim 'nope'"),
        ({"x": [1, 3, 8]}, "rank 4"),
        ({"x": [1, 4, 8, 8]}, "fixed shape"),
        ({"x": [1, 3, 0, 8]}, "positive"),
        ({"side": [8, 8]}, "takes one int"),
        ({"x": 3}, "list of ints"),
    ],
)
def test_bad_shapes_are_shape_errors(shapes: dict, match: str) -> None:
    with pytest.raises(ShapeError, match=match):
        load_graph(_tiny(seq="side"), shapes=shapes)


def test_load_from_path_and_bytes(tmp_path: Path) -> None:
    path = tmp_path / "tiny.onnx"
    onnx.save(_tiny(batch=1), str(path))
    a = load_graph(path).summary()
    b = load_graph(path.read_bytes()).summary()
    assert a == b


def test_missing_and_corrupt_files_are_model_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        load_graph(tmp_path / "absent.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00not an onnx model at all\xff" * 10)
    with pytest.raises(ModelError):
        load_graph(bad)
    assert issubclass(ModelError, InputError)


def test_nodes_out_of_order_are_sorted_and_cycles_rejected() -> None:
    model = _tiny(batch=1)
    nodes = list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(reversed(nodes))
    assert load_graph(model).summary().n_nodes == 5
    cyc = _tiny(batch=1)
    cyc.graph.node[0].input[0] = "y"
    with pytest.raises(ModelError):
        load_graph(cyc)


def test_matmul_and_elementwise_costs() -> None:
    nodes = [
        helper.make_node("MatMul", ["a", "b"], ["m"]),
        helper.make_node("Softmax", ["m"], ["s"], axis=-1),
        helper.make_node("Transpose", ["s"], ["t"], perm=[0, 2, 1]),
    ]
    graph = helper.make_graph(
        nodes,
        "mm",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 6, 7]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [2, 7, 9]),
        ],
        [helper.make_tensor_value_info("t", TensorProto.FLOAT, None)],
    )
    g = load_graph(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    s = g.summary()
    assert s.macs == 2 * 6 * 9 * 7
    assert s.flops == 2 * s.macs + 3 * 2 * 6 * 9
    # activation traffic: matmul reads a, b and writes m; softmax r/w; transpose r/w
    elems = 2 * 6 * 7 + 2 * 7 * 9 + 2 * 6 * 9 + 4 * 2 * 6 * 9
    assert s.activation_bytes == 4 * elems
    assert [k.kind for k in g.kernels] == ["matmul", "norm", "memory"]
