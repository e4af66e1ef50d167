"""The graph IR: nodes with shapes and costs, read from any ONNX model.

>>> from edgewise.graph import load_graph
>>> from edgewise.graph.builders import nasbench201
>>> g = load_graph(nasbench201("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|"))
>>> g.summary().macs > 0
True
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgewise.errors import ModelError, ShapeError
from edgewise.graph import _fusion
from edgewise.graph._cost import VIEW_OPS, Shape, node_cost, numel

if TYPE_CHECKING:
    import onnx

    from edgewise.graph._kernels import Kernel


@dataclass(frozen=True)
class Node:
    """One operator with its shapes and costs.

    ``read_bytes``/``write_bytes`` count activations only; weights are ``param_bytes``.
    """

    name: str
    op_type: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict[str, Any]
    in_shapes: tuple[Shape | None, ...]
    out_shapes: tuple[Shape | None, ...]
    flops: int
    macs: int
    param_bytes: int
    read_bytes: int
    write_bytes: int
    cost_known: bool
    zero_mul: bool = False


@dataclass(frozen=True)
class TensorInfo:
    """Shape (``None`` if unknown), element size and role of one tensor."""

    shape: Shape | None
    itemsize: int
    is_param: bool = False
    is_zero: bool = False

    @property
    def nbytes(self) -> int:
        return numel(self.shape) * self.itemsize if self.shape is not None else 0


@dataclass(frozen=True)
class GraphSummary:
    """Totals of one graph; what ``edgewise predict`` and the chip recommender read.

    ``activation_bytes`` is the activation traffic: bytes every node reads plus writes,
    weights excluded. ``live_*`` count only nodes on a path from an input to an output.
    """

    n_nodes: int
    n_kernels: int
    flops: int
    macs: int
    param_bytes: int
    activation_bytes: int
    largest_activation_bytes: int
    depth: int
    input_shapes: dict[str, list[int]]
    output_shapes: dict[str, list[int] | None]
    op_counts: dict[str, int]
    output_depends_on_input: bool
    live_flops: int
    unknown_cost_nodes: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (field names are part of the interface)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Graph:
    """An ONNX graph as nodes in topological order, with tensors, inputs and outputs.

    Build one with :func:`load_graph`; then read ``summary()``, ``kernels`` or
    ``features()``.
    """

    nodes: tuple[Node, ...]
    tensors: dict[str, TensorInfo]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    name: str = ""
    meta: dict[str, str] = field(default_factory=dict)

    # -- structure -------------------------------------------------------------------
    @cached_property
    def light_nodes(self) -> list[_fusion.LightNode]:
        return [(n.op_type, n.inputs, n.outputs) for n in self.nodes]

    @cached_property
    def params(self) -> frozenset[str]:
        return frozenset(k for k, t in self.tensors.items() if t.is_param)

    @cached_property
    def zero_muls(self) -> tuple[bool, ...]:
        """Per node: a multiplication by an all-zero constant."""
        return tuple(n.zero_mul for n in self.nodes)

    @cached_property
    def live(self) -> tuple[bool, ...]:
        """Per node: on a path from an input to an output (zero multiplies cut paths)."""
        return tuple(
            _fusion.liveness(
                self.light_nodes,
                zero_mul=self.zero_muls,
                graph_inputs=self.inputs,
                graph_outputs=self.outputs,
            )
        )

    @cached_property
    def reaches_output(self) -> tuple[bool, ...]:
        """Per node: an output uses its result (zero multiplies use none of their input)."""
        return tuple(
            _fusion.reaches_output(
                self.light_nodes,
                zero_mul=self.zero_muls,
                graph_outputs=self.outputs,
                params=self.params,
            )
        )

    @cached_property
    def kernel_groups(self) -> list[tuple[int, ...]]:
        return _fusion.fuse(self.light_nodes, params=self.params, graph_outputs=self.outputs)

    @cached_property
    def kernels(self) -> tuple[Kernel, ...]:
        """The fused-kernel view (conv+bn+relu, conv+add, gemm+bias+act...)."""
        from edgewise.graph._kernels import make_kernel

        return tuple(make_kernel(self, group) for group in self.kernel_groups)

    @cached_property
    def depth(self) -> int:
        """Longest chain of kernels from an input to an output."""
        return _fusion.depth(self.light_nodes, self.kernel_groups)

    @property
    def output_depends_on_input(self) -> bool:
        """False when every path to the output is cut (e.g. NB201 ``none`` edges)."""
        return any(self.live)

    def summary(self) -> GraphSummary:
        """Totals: FLOPs, MACs, parameter and activation bytes, depth, op counts."""
        seen_params: set[str] = set()
        param_bytes = 0
        for n in self.nodes:
            for t in n.inputs:
                info = self.tensors.get(t)
                if info is not None and info.is_param and t not in seen_params:
                    seen_params.add(t)
                    param_bytes += info.nbytes
        acts = [
            t.nbytes
            for name, t in self.tensors.items()
            if not t.is_param and name and t.shape is not None
        ]
        return GraphSummary(
            n_nodes=len(self.nodes),
            n_kernels=sum(1 for k in self.kernels if k.kind != "view"),
            flops=sum(n.flops for n in self.nodes),
            macs=sum(n.macs for n in self.nodes),
            param_bytes=param_bytes,
            activation_bytes=sum(n.read_bytes + n.write_bytes for n in self.nodes),
            largest_activation_bytes=max(acts, default=0),
            depth=self.depth,
            input_shapes={
                k: list(self.tensors[k].shape or ()) for k in self.inputs if k in self.tensors
            },
            output_shapes={
                k: (list(s) if (s := self.tensors[k].shape) is not None else None)
                for k in self.outputs
                if k in self.tensors
            },
            op_counts=dict(sorted(Counter(n.op_type for n in self.nodes).items())),
            output_depends_on_input=self.output_depends_on_input,
            live_flops=sum(n.flops for n, lv in zip(self.nodes, self.live, strict=True) if lv),
            unknown_cost_nodes=sum(1 for n in self.nodes if not n.cost_known),
        )

    def features(self) -> dict[str, float]:
        """Graph-level features (totals, per-kind histograms, roofline shares...)."""
        from edgewise.graph._features import graph_features

        return graph_features(self)

    @classmethod
    def from_parts(
        cls,
        *,
        nodes: Sequence[tuple[str, str, Sequence[str], Sequence[str], Mapping[str, Any]]],
        tensors: Mapping[str, TensorInfo],
        inputs: Sequence[str],
        outputs: Sequence[str],
        name: str = "",
    ) -> Graph:
        """Build a graph from ``(name, op_type, inputs, outputs, attrs)`` tuples and tensors."""
        built = [
            _make_node(nm, op, tuple(ins), tuple(outs), dict(at), tensors)
            for nm, op, ins, outs, at in nodes
        ]
        return cls(
            nodes=tuple(built),
            tensors=dict(tensors),
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            name=name,
        )


def _make_node(
    name: str,
    op_type: str,
    inputs: tuple[str, ...],
    outputs: tuple[str, ...],
    attrs: dict[str, Any],
    tensors: Mapping[str, TensorInfo],
) -> Node:
    infos = [tensors.get(t) if t else None for t in inputs]
    in_shapes = tuple(i.shape if i is not None else None for i in infos)
    out_infos = [tensors.get(t) for t in outputs]
    out_shapes = tuple(i.shape if i is not None else None for i in out_infos)
    flops, macs, known = node_cost(op_type, attrs=attrs, in_shapes=in_shapes, out_shapes=out_shapes)
    params = {t: i for t, i in zip(inputs, infos, strict=True) if i is not None and i.is_param}
    view = op_type in VIEW_OPS
    read = (
        0
        if view
        else sum(
            i.nbytes
            for t, i in zip(inputs, infos, strict=True)
            if i is not None and t not in params
        )
    )
    write = 0 if view else sum(i.nbytes for i in out_infos if i is not None)
    zero_mul = op_type == "Mul" and any(i.is_zero for i in params.values())
    return Node(
        name=name,
        op_type=op_type,
        inputs=inputs,
        outputs=outputs,
        attrs=attrs,
        in_shapes=in_shapes,
        out_shapes=out_shapes,
        flops=flops,
        macs=macs,
        param_bytes=sum(i.nbytes for i in params.values()),
        read_bytes=read,
        write_bytes=write,
        cost_known=known,
        zero_mul=zero_mul,
    )


# -- ONNX loading ---------------------------------------------------------------------
def load_graph(
    model: str | Path | onnx.ModelProto | bytes,
    *,
    shapes: Mapping[str, Sequence[int] | int] | None = None,
    default_batch: int | None = 1,
) -> Graph:
    """Load an ONNX model into the IR, binding dynamic dims, and infer every shape.

    ``shapes`` maps an input name to its full shape, or a symbolic dim name (e.g.
    ``"batch"``) to a size. A symbolic first dim not bound otherwise takes
    ``default_batch``; any other unbound dynamic dim is a :class:`ShapeError`.

    >>> g = load_graph("model.onnx", shapes={"input": [1, 3, 224, 224]})  # doctest: +SKIP
    >>> g.summary().flops                                                  # doctest: +SKIP
    """
    import onnx

    proto = _read_model(model)
    name = proto.graph.name or (Path(model).stem if isinstance(model, str | Path) else "")
    bound = _bind_inputs(proto, shapes or {}, default_batch)
    try:
        inferred = onnx.shape_inference.infer_shapes(bound, strict_mode=False, data_prop=True)
    except Exception as exc:  # onnx raises several types for broken graphs
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"ONNX shape inference failed: {msg}") from exc
    return _graph_from_proto(inferred, name=name)


def _read_model(model: str | Path | onnx.ModelProto | bytes) -> onnx.ModelProto:
    import onnx

    if isinstance(model, onnx.ModelProto):
        copy = onnx.ModelProto()
        copy.CopyFrom(model)
        return copy
    try:
        if isinstance(model, bytes):
            return onnx.load_from_string(model)
        path = Path(model)
        if not path.is_file():
            raise ModelError(f"model file not found: {path}")
        return onnx.load(str(path), load_external_data=False)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"not a readable ONNX model: {model!s:.200}") from exc


def _bind_inputs(
    proto: onnx.ModelProto, shapes: Mapping[str, Sequence[int] | int], default_batch: int | None
) -> onnx.ModelProto:
    init_names = {t.name for t in proto.graph.initializer}
    graph_inputs = [i for i in proto.graph.input if i.name not in init_names]
    input_names = [i.name for i in graph_inputs]
    dim_params = {
        d.dim_param for i in graph_inputs for d in i.type.tensor_type.shape.dim if d.dim_param
    }
    shapes = {
        k: (
            int(v[0])
            if k in dim_params and k not in input_names and not isinstance(v, int) and len(v) == 1
            else v
        )
        for k, v in shapes.items()
    }
    for key, value in shapes.items():
        if key not in input_names and key not in dim_params:
            raise ShapeError(
                f"unknown input or dim {key!r}; inputs are {input_names}"
                + (f", dims {sorted(dim_params)}" if dim_params else "")
            )
        if key in input_names and isinstance(value, int):
            raise ShapeError(f"shape for input {key!r} must be a list of ints, got {value}")
        if key in dim_params and not isinstance(value, int):
            raise ShapeError(f"dim {key!r} takes one int, got {value!r}")
    for inp in graph_inputs:
        ttype = inp.type.tensor_type
        if not inp.type.HasField("tensor_type"):
            continue
        dims = ttype.shape.dim
        given = shapes.get(inp.name)
        if given is not None:
            given_l = [int(v) for v in given]  # type: ignore[union-attr]
            if ttype.HasField("shape") and len(dims) != len(given_l):
                raise ShapeError(f"input {inp.name!r} has rank {len(dims)}, got shape {given_l}")
            if any(v <= 0 for v in given_l):
                raise ShapeError(f"shape for input {inp.name!r} must be positive: {given_l}")
            if not ttype.HasField("shape"):
                for v in given_l:
                    ttype.shape.dim.add().dim_value = v
                continue
            for d, v in zip(dims, given_l, strict=True):
                if d.HasField("dim_value") and d.dim_value != v:
                    raise ShapeError(
                        f"input {inp.name!r} has a fixed shape "
                        f"{[x.dim_value or x.dim_param for x in dims]}; got {given_l}"
                    )
                d.ClearField("dim_param")
                d.dim_value = v
            continue
        for pos, d in enumerate(dims):
            if d.HasField("dim_value") and d.dim_value > 0:
                continue
            if d.dim_param and d.dim_param in shapes:
                value = int(shapes[d.dim_param])  # type: ignore[arg-type]
            elif pos == 0 and default_batch is not None:
                value = default_batch
            else:
                label = d.dim_param or "?"
                raise ShapeError(
                    f"input {inp.name!r} has a dynamic dim {label!r} at position {pos}: "
                    f"bind it with --shape {inp.name}=... (shapes={{{inp.name!r}: [...]}})"
                )
            if value <= 0:
                raise ShapeError(f"dim {d.dim_param!r} must be positive, got {value}")
            d.ClearField("dim_param")
            d.dim_value = value
    return proto


def _itemsize(elem_type: int) -> int:
    from onnx import helper

    try:
        return int(helper.tensor_dtype_to_np_dtype(elem_type).itemsize)
    except Exception:  # undefined or exotic type
        return 4


def _shape_of(ttype: Any) -> Shape | None:
    if not ttype.HasField("shape"):
        return None
    dims: list[int] = []
    for d in ttype.shape.dim:
        if not d.HasField("dim_value") or d.dim_value <= 0:
            return None
        dims.append(int(d.dim_value))
    return tuple(dims)


def _is_zero(tensor: Any) -> bool:
    from onnx import numpy_helper

    if math.prod(tensor.dims) > 1 << 16 or tensor.data_location == 1:
        return False
    try:
        arr = numpy_helper.to_array(tensor)
    except Exception:
        return False
    return bool(arr.size > 0 and not arr.any())


def _graph_from_proto(proto: onnx.ModelProto, *, name: str) -> Graph:
    from onnx import helper

    g = proto.graph
    tensors: dict[str, TensorInfo] = {}
    for init in g.initializer:
        tensors[init.name] = TensorInfo(
            shape=tuple(int(d) for d in init.dims),
            itemsize=_itemsize(init.data_type),
            is_param=True,
            is_zero=_is_zero(init),
        )
    for vi in [*g.input, *g.value_info, *g.output]:
        if vi.name in tensors or not vi.type.HasField("tensor_type"):
            continue
        tt = vi.type.tensor_type
        tensors[vi.name] = TensorInfo(shape=_shape_of(tt), itemsize=_itemsize(tt.elem_type))
    nodes: list[tuple[str, str, list[str], list[str], dict[str, Any]]] = []
    for idx, n in enumerate(g.node):
        attrs: dict[str, Any] = {}
        for a in n.attribute:
            if a.type in (a.GRAPH, a.GRAPHS):
                continue
            if a.type == a.TENSOR:
                if n.op_type == "Constant":
                    tensors[n.output[0]] = TensorInfo(
                        shape=tuple(int(d) for d in a.t.dims),
                        itemsize=_itemsize(a.t.data_type),
                        is_param=True,
                        is_zero=_is_zero(a.t),
                    )
                continue
            attrs[a.name] = helper.get_attribute_value(a)
            if isinstance(attrs[a.name], bytes):
                attrs[a.name] = attrs[a.name].decode("utf-8", "replace")
        if n.op_type == "Constant" and n.output and n.output[0] not in tensors:
            tensors[n.output[0]] = TensorInfo(shape=None, itemsize=4, is_param=True)
        nodes.append(
            (n.name or f"{n.op_type}_{idx}", n.op_type, list(n.input), list(n.output), attrs)
        )
    init_names = {t.name for t in g.initializer}
    inputs = [i.name for i in g.input if i.name not in init_names]
    graph = Graph.from_parts(
        nodes=_toposort(nodes, inputs, tensors),
        tensors=tensors,
        inputs=inputs,
        outputs=[o.name for o in g.output],
        name=name,
    )
    return graph


def _toposort(
    nodes: list[tuple[str, str, list[str], list[str], dict[str, Any]]],
    inputs: list[str],
    tensors: Mapping[str, TensorInfo],
) -> list[tuple[str, str, list[str], list[str], dict[str, Any]]]:
    """Nodes in a valid execution order (ONNX requires it, but not every exporter obeys)."""
    available = set(inputs) | {k for k, t in tensors.items() if t.is_param} | {""}
    pending = list(nodes)
    ordered: list[tuple[str, str, list[str], list[str], dict[str, Any]]] = []
    while pending:
        rest = []
        for n in pending:
            if all(t in available for t in n[2]):
                ordered.append(n)
                available.update(n[3])
            else:
                rest.append(n)
        if len(rest) == len(pending):
            missing = sorted({t for n in rest for t in n[2] if t not in available})[:3]
            raise ModelError(f"graph has a cycle or undefined inputs: {missing}")
        pending = rest
    return ordered
