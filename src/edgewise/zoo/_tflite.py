"""A tiny ``.tflite`` model written with LiteRT's flatbuffer schema (no TensorFlow needed).

>>> data = fully_connected_tflite()
>>> data[4:8]
b'TFL3'
"""

from __future__ import annotations

import numpy as np


def fully_connected_tflite(*, features: int = 16, units: int = 8, seed: int = 0) -> bytes:
    """``y = relu(x @ W.T + b)`` as a TFLite FULLY_CONNECTED op, float32, input [1, features]."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s

    rng = np.random.default_rng(seed)
    weights = (rng.standard_normal((units, features)) * 0.1).astype(np.float32)
    bias = (rng.standard_normal(units) * 0.1).astype(np.float32)

    def buffer(data: bytes | None) -> s.BufferT:
        b = s.BufferT()
        b.data = list(data) if data is not None else None
        return b

    def tensor(name: str, shape: list[int], buf: int) -> s.TensorT:
        t = s.TensorT()
        t.name, t.shape, t.type, t.buffer = name, shape, s.TensorType.FLOAT32, buf
        return t

    op_code = s.OperatorCodeT()
    op_code.builtinCode = s.BuiltinOperator.FULLY_CONNECTED
    op_code.deprecatedBuiltinCode = s.BuiltinOperator.FULLY_CONNECTED
    op_code.version = 1

    options = s.FullyConnectedOptionsT()
    options.fusedActivationFunction = s.ActivationFunctionType.RELU
    op = s.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0, 1, 2], [3]
    op.builtinOptionsType = s.BuiltinOptions.FullyConnectedOptions
    op.builtinOptions = options

    graph = s.SubGraphT()
    graph.tensors = [
        tensor("x", [1, features], 0),
        tensor("weights", [units, features], 1),
        tensor("bias", [units], 2),
        tensor("y", [1, units], 0),
    ]
    graph.inputs, graph.outputs, graph.operators, graph.name = [0], [3], [op], "main"

    model = s.ModelT()
    model.version = 3
    model.operatorCodes = [op_code]
    model.subgraphs = [graph]
    model.buffers = [buffer(None), buffer(weights.tobytes()), buffer(bias.tobytes())]
    model.description = "edgewise example"

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
