"""A tiny ONNX graph writer that tracks shapes, used by the architecture builders.

>>> w = OnnxWriter("demo")
>>> x = w.input("x", (1, 3, 8, 8))
>>> y = w.relu(w.conv(x, 4, 3, name="c"), name="r")
>>> w.output(y)
>>> w.shape(y)
(1, 4, 8, 8)
"""

from __future__ import annotations

from typing import Any

import numpy as np

OPSET = 17


class OnnxWriter:
    """Accumulates nodes and seeded random weights; :meth:`model` returns the proto."""

    def __init__(self, name: str, *, seed: int = 0) -> None:
        self.name = name
        self._rng = np.random.default_rng(seed)
        self._nodes: list[Any] = []
        self._inits: list[Any] = []
        self._inputs: list[Any] = []
        self._outputs: list[Any] = []
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._consts: dict[tuple[Any, ...], str] = {}

    # -- plumbing -------------------------------------------------------------------
    def shape(self, tensor: str) -> tuple[int, ...]:
        return self._shapes[tensor]

    def _init(self, name: str, arr: np.ndarray) -> str:
        from onnx import numpy_helper

        self._inits.append(numpy_helper.from_array(arr, name=name))
        self._shapes[name] = tuple(arr.shape)
        return name

    def _const(self, key: tuple[Any, ...], arr: np.ndarray) -> str:
        if key not in self._consts:
            self._consts[key] = self._init(f"const_{len(self._consts)}", arr)
        return self._consts[key]

    def _node(
        self, op: str, inputs: list[str], out_shape: tuple[int, ...], *, name: str, **attrs: Any
    ) -> str:
        from onnx import helper

        out = f"{name}:0"
        self._nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        self._shapes[out] = tuple(out_shape)
        return out

    def input(self, name: str, shape: tuple[int, ...]) -> str:
        from onnx import TensorProto, helper

        self._inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape)))
        self._shapes[name] = tuple(shape)
        return name

    def output(self, tensor: str) -> None:
        from onnx import TensorProto, helper

        self._outputs.append(
            helper.make_tensor_value_info(tensor, TensorProto.FLOAT, list(self._shapes[tensor]))
        )

    def model(self) -> Any:
        from onnx import helper

        graph = helper.make_graph(
            self._nodes, self.name, self._inputs, self._outputs, initializer=self._inits
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="edgewise"
        )
        model.ir_version = 8
        return model

    # -- layers ---------------------------------------------------------------------
    def conv(
        self,
        x: str,
        cout: int,
        k: int,
        *,
        name: str,
        stride: int = 1,
        group: int = 1,
        bias: bool = False,
    ) -> str:
        n, cin, h, w = self._shapes[x]
        pad = k // 2
        weight = self._rng.standard_normal((cout, cin // group, k, k), dtype=np.float32)
        weight *= np.float32(np.sqrt(2.0 / max(cin // group * k * k, 1)))
        inputs = [x, self._init(f"{name}.weight", weight)]
        if bias:
            inputs.append(self._init(f"{name}.bias", np.zeros(cout, dtype=np.float32)))
        ho, wo = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        return self._node(
            "Conv",
            inputs,
            (n, cout, ho, wo),
            name=name,
            kernel_shape=[k, k],
            strides=[stride, stride],
            pads=[pad] * 4,
            group=group,
        )

    def bn(self, x: str, *, name: str) -> str:
        c = self._shapes[x][1]
        ones, zeros = np.ones(c, dtype=np.float32), np.zeros(c, dtype=np.float32)
        inputs = [x] + [
            self._init(f"{name}.{p}", arr)
            for p, arr in (("scale", ones), ("bias", zeros), ("mean", zeros), ("var", ones))
        ]
        return self._node("BatchNormalization", inputs, self._shapes[x], name=name, epsilon=1e-5)

    def relu(self, x: str, *, name: str) -> str:
        return self._node("Relu", [x], self._shapes[x], name=name)

    def add(self, a: str, b: str, *, name: str) -> str:
        return self._node("Add", [a, b], self._shapes[a], name=name)

    def hswish(self, x: str, *, name: str) -> str:
        return self._node("HardSwish", [x], self._shapes[x], name=name)

    def hsigmoid(self, x: str, *, name: str) -> str:
        return self._node("HardSigmoid", [x], self._shapes[x], name=name, alpha=1.0 / 6)

    def mul(self, a: str, b: str, *, name: str) -> str:
        """``a * b`` with ``b`` broadcast (a squeeze-and-excite gate)."""
        return self._node("Mul", [a, b], self._shapes[a], name=name)

    def mul_zero(self, x: str, *, name: str) -> str:
        """``x * 0``: what NAS-Bench-201's ``none`` op computes."""
        zero = self._const(("zero",), np.zeros((), dtype=np.float32))
        return self._node("Mul", [x, zero], self._shapes[x], name=name)

    def avgpool(self, x: str, k: int, *, name: str, stride: int = 1, pad: int = 0) -> str:
        n, c, h, w = self._shapes[x]
        ho, wo = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        return self._node(
            "AveragePool",
            [x],
            (n, c, ho, wo),
            name=name,
            kernel_shape=[k, k],
            strides=[stride, stride],
            pads=[pad] * 4,
            count_include_pad=0,
        )

    def global_avgpool(self, x: str, *, name: str) -> str:
        n, c = self._shapes[x][:2]
        return self._node("GlobalAveragePool", [x], (n, c, 1, 1), name=name)

    def flatten(self, x: str, *, name: str) -> str:
        shape = self._shapes[x]
        return self._node("Flatten", [x], (shape[0], int(np.prod(shape[1:]))), name=name, axis=1)

    def gemm(self, x: str, n_out: int, *, name: str) -> str:
        n, n_in = self._shapes[x]
        weight = self._rng.standard_normal((n_out, n_in), dtype=np.float32)
        weight *= np.float32(1.0 / np.sqrt(n_in))
        inputs = [
            x,
            self._init(f"{name}.weight", weight),
            self._init(f"{name}.bias", np.zeros(n_out, dtype=np.float32)),
        ]
        return self._node("Gemm", inputs, (n, n_out), name=name, transB=1)

    def channel_shuffle(self, x: str, groups: int, *, name: str) -> str:
        n, c, h, w = self._shapes[x]
        s5 = self._const(
            ("shape", n, groups, c // groups, h, w),
            np.array([n, groups, c // groups, h, w], dtype=np.int64),
        )
        s4 = self._const(("shape", n, c, h, w), np.array([n, c, h, w], dtype=np.int64))
        y = self._node("Reshape", [x, s5], (n, groups, c // groups, h, w), name=f"{name}/split")
        y = self._node(
            "Transpose",
            [y],
            (n, c // groups, groups, h, w),
            name=f"{name}/swap",
            perm=[0, 2, 1, 3, 4],
        )
        return self._node("Reshape", [y, s4], (n, c, h, w), name=f"{name}/merge")
