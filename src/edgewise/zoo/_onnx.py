"""Example ONNX models built with ``onnx.helper``: the demo's models and hard test cases.

Every builder returns an ``onnx.ModelProto`` with seeded random weights.

>>> model = cnn(channels=8, blocks=1, size=32)
>>> model.graph.input[0].name
'image'
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _model(graph: onnx.GraphProto, *, opset: int = OPSET) -> onnx.ModelProto:
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="edgewise"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _w(rng: np.random.Generator, *shape: int, scale: float = 0.1) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def mlp(
    *, features: int = 64, hidden: int = 64, classes: int = 10, seed: int = 0
) -> onnx.ModelProto:
    """A two-layer perceptron: the tiny (tens of microseconds) model."""
    rng = np.random.default_rng(seed)
    inits = [
        numpy_helper.from_array(_w(rng, features, hidden), "w1"),
        numpy_helper.from_array(_w(rng, hidden), "b1"),
        numpy_helper.from_array(_w(rng, hidden, classes), "w2"),
        numpy_helper.from_array(_w(rng, classes), "b2"),
    ]
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1"),
        helper.make_node("Relu", ["h"], ["hr"], name="relu1"),
        helper.make_node("Gemm", ["hr", "w2", "b2"], ["logits"], name="fc2"),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, features])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])],
        inits,
    )
    return _model(graph)


def cnn(
    *, channels: int = 16, blocks: int = 2, size: int = 64, classes: int = 10, seed: int = 0
) -> onnx.ModelProto:
    """A small ResNet-like CNN (conv-bn-relu blocks with residual adds, pool, fc)."""
    rng = np.random.default_rng(seed)
    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def conv_bn_relu(
        x: str, cin: int, cout: int, tag: str, *, relu: bool = True, stride: int = 1
    ) -> str:
        inits.append(numpy_helper.from_array(_w(rng, cout, cin, 3, 3), f"{tag}_w"))
        for part, value in (("scale", 1.0), ("bias", 0.0), ("mean", 0.0), ("var", 1.0)):
            arr = (np.full(cout, value) + rng.standard_normal(cout) * 0.01).astype(np.float32)
            inits.append(
                numpy_helper.from_array(np.abs(arr) if part == "var" else arr, f"{tag}_{part}")
            )
        nodes.append(
            helper.make_node(
                "Conv",
                [x, f"{tag}_w"],
                [f"{tag}_c"],
                name=f"{tag}_conv",
                pads=[1, 1, 1, 1],
                strides=[stride, stride],
            )
        )
        nodes.append(
            helper.make_node(
                "BatchNormalization",
                [f"{tag}_c", f"{tag}_scale", f"{tag}_bias", f"{tag}_mean", f"{tag}_var"],
                [f"{tag}_bn"],
                name=f"{tag}_bn",
            )
        )
        if not relu:
            return f"{tag}_bn"
        nodes.append(helper.make_node("Relu", [f"{tag}_bn"], [f"{tag}_r"], name=f"{tag}_relu"))
        return f"{tag}_r"

    x = conv_bn_relu("image", 3, channels, "stem")
    for b in range(blocks):
        h = conv_bn_relu(x, channels, channels, f"b{b}a")
        h = conv_bn_relu(h, channels, channels, f"b{b}b", relu=False)
        nodes.append(helper.make_node("Add", [x, h], [f"b{b}_add"], name=f"b{b}_add"))
        nodes.append(helper.make_node("Relu", [f"b{b}_add"], [f"b{b}_out"], name=f"b{b}_relu"))
        x = f"b{b}_out"
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pool"], name="pool"))
    nodes.append(helper.make_node("Flatten", ["pool"], ["flat"], name="flatten"))
    inits.append(numpy_helper.from_array(_w(rng, channels, classes), "fc_w"))
    inits.append(numpy_helper.from_array(_w(rng, classes), "fc_b"))
    nodes.append(helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], name="fc"))
    graph = helper.make_graph(
        nodes,
        "cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])],
        inits,
    )
    return _model(graph)


def multi_input(*, seed: int = 0) -> onnx.ModelProto:
    """Two float inputs of different shapes, one int64 token input: a multimodal toy."""
    rng = np.random.default_rng(seed)
    inits = [
        numpy_helper.from_array(_w(rng, 100, 8), "embed"),
        numpy_helper.from_array(_w(rng, 16, 8), "proj"),
    ]
    nodes = [
        helper.make_node("Gather", ["embed", "tokens"], ["emb"], name="embed"),
        helper.make_node("ReduceMean", ["emb"], ["emb_mean"], name="pool_tokens", keepdims=0),
        helper.make_node("MatMul", ["features", "proj"], ["fp"], name="proj"),
        helper.make_node("Add", ["fp", "emb_mean"], ["mix"], name="mix"),
        helper.make_node("Mul", ["mix", "gate"], ["out"], name="gate"),
    ]
    graph = helper.make_graph(
        nodes,
        "multi_input",
        [
            helper.make_tensor_value_info("tokens", TensorProto.INT64, [1, 12]),
            helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, 16]),
            helper.make_tensor_value_info("gate", TensorProto.FLOAT, [1, 8]),
        ],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 8])],
        inits,
    )
    return _model(graph)


def float16_model() -> onnx.ModelProto:
    """A float16 input (half-precision activations)."""
    nodes = [
        helper.make_node("Mul", ["x", "x"], ["sq"], name="square"),
        helper.make_node("Cast", ["sq"], ["out"], name="to_float", to=TensorProto.FLOAT),
    ]
    graph = helper.make_graph(
        nodes,
        "fp16",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [2, 32])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, 32])],
    )
    return _model(graph)


def gru_stateful(*, hidden: int = 16, features: int = 8, seed: int = 0) -> onnx.ModelProto:
    """A streaming GRU whose hidden state is an input and an output (like a VAD model)."""
    rng = np.random.default_rng(seed)
    inits = [
        numpy_helper.from_array(_w(rng, 1, 3 * hidden, features), "W"),
        numpy_helper.from_array(_w(rng, 1, 3 * hidden, hidden), "R"),
        numpy_helper.from_array(_w(rng, 1, 6 * hidden), "B"),
    ]
    nodes = [
        helper.make_node(
            "GRU",
            ["audio", "W", "R", "B", "", "state"],
            ["y", "state_out"],
            name="gru",
            hidden_size=hidden,
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "gru_stateful",
        [
            helper.make_tensor_value_info("audio", TensorProto.FLOAT, [4, 1, features]),
            helper.make_tensor_value_info("state", TensorProto.FLOAT, [1, 1, hidden]),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 1, 1, hidden]),
            helper.make_tensor_value_info("state_out", TensorProto.FLOAT, [1, 1, hidden]),
        ],
        inits,
    )
    return _model(graph)


def if_model() -> onnx.ModelProto:
    """Control flow with ``If``: a bool input picks one of two branches."""
    then_g = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["t_out"])],
        "then",
        [],
        [helper.make_tensor_value_info("t_out", TensorProto.FLOAT, [1, 16])],
    )
    else_g = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["e_out"])],
        "else",
        [],
        [helper.make_tensor_value_info("e_out", TensorProto.FLOAT, [1, 16])],
    )
    nodes = [
        helper.make_node(
            "If", ["flag"], ["out"], name="branch", then_branch=then_g, else_branch=else_g
        )
    ]
    graph = helper.make_graph(
        nodes,
        "if_model",
        [
            helper.make_tensor_value_info("flag", TensorProto.BOOL, []),
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16]),
        ],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 16])],
    )
    return _model(graph)


def loop_model() -> onnx.ModelProto:
    """Control flow with ``Loop``: an int64 trip count input repeats a body."""
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Mul", ["acc_in", "acc_in"], ["sq"]),
            helper.make_node("Tanh", ["sq"], ["acc_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("iter", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, [1, 16]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, [1, 16]),
        ],
    )
    cond = numpy_helper.from_array(np.array(True), "keep_going")
    nodes = [
        helper.make_node("Loop", ["trip_count", "keep_going", "x"], ["out"], name="loop", body=body)
    ]
    graph = helper.make_graph(
        nodes,
        "loop_model",
        [
            helper.make_tensor_value_info("trip_count", TensorProto.INT64, []),
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16]),
        ],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 16])],
        [cond],
    )
    return _model(graph)


def ocr_recognizer(*, height: int = 32, seed: int = 0) -> onnx.ModelProto:
    """An OCR-style recogniser: fixed height, dynamic batch and width (``width``)."""
    rng = np.random.default_rng(seed)
    inits = [
        numpy_helper.from_array(_w(rng, 8, 1, 3, 3), "c1"),
        numpy_helper.from_array(_w(rng, 8 * height // 2, 37), "head"),
        numpy_helper.from_array(np.array([0, 0, -1], dtype=np.int64), "seq_shape"),
    ]
    nodes = [
        helper.make_node("Conv", ["line", "c1"], ["f"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["f"], ["fr"], name="relu"),
        helper.make_node(
            "MaxPool", ["fr"], ["fp"], name="pool", kernel_shape=[2, 1], strides=[2, 1]
        ),
        helper.make_node("Transpose", ["fp"], ["ft"], name="to_seq", perm=[0, 3, 1, 2]),
        helper.make_node("Reshape", ["ft", "seq_shape"], ["seq"], name="flatten_cols"),
        helper.make_node("MatMul", ["seq", "head"], ["logits"], name="classifier"),
    ]
    graph = helper.make_graph(
        nodes,
        "ocr_recognizer",
        [helper.make_tensor_value_info("line", TensorProto.FLOAT, ["batch", 1, height, "width"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "width", 37])],
        inits,
    )
    return _model(graph)


def quantized_linear(*, features: int = 64, out: int = 32, seed: int = 0) -> onnx.ModelProto:
    """A statically quantised (QDQ) linear layer with a uint8 input, as quantisers emit."""
    rng = np.random.default_rng(seed)
    w = rng.integers(-127, 128, size=(features, out)).astype(np.int8)
    inits = [
        numpy_helper.from_array(np.array(0.02, dtype=np.float32), "x_scale"),
        numpy_helper.from_array(np.array(128, dtype=np.uint8), "x_zero"),
        numpy_helper.from_array(w, "w_q"),
        numpy_helper.from_array(np.array(0.01, dtype=np.float32), "w_scale"),
        numpy_helper.from_array(np.array(0, dtype=np.int8), "w_zero"),
    ]
    nodes = [
        helper.make_node("DequantizeLinear", ["x_q", "x_scale", "x_zero"], ["x"], name="dq_x"),
        helper.make_node("DequantizeLinear", ["w_q", "w_scale", "w_zero"], ["w"], name="dq_w"),
        helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul"),
        helper.make_node("QuantizeLinear", ["y", "x_scale", "x_zero"], ["y_q"], name="q_y"),
    ]
    graph = helper.make_graph(
        nodes,
        "quantized_linear",
        [helper.make_tensor_value_info("x_q", TensorProto.UINT8, [1, features])],
        [helper.make_tensor_value_info("y_q", TensorProto.UINT8, [1, out])],
        inits,
    )
    return _model(graph)
