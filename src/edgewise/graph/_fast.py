"""Fast features for architecture spaces: thousands of graphs per second, no ONNX per arch.

The ONNX path builds a model, infers shapes and fuses kernels: tens of milliseconds
(OFA-MobileNetV3: a quarter of a second). Here each space is built through ONNX once,
for a few reference architectures, and the per-kernel feature vectors are cached by
the cell or block they belong to:

- FBNet: blocks are in series and fusion never crosses a block, so an architecture is
  the skeleton plus one cached row per (position, block).
- OFA-MobileNetV3: the same, per input resolution (built the first time a batch holds
  it): the skeleton plus one row per (stage, first block of the stage or not, kernel
  size, expand ratio).
- NB201: fusion happens inside a cell, so each cell is replayed through the same
  builder code with a light recorder, fused and checked for liveness by the same
  functions as the ONNX path, and its kernels are looked up per stage.

Tests check that both paths give the same features.

>>> fz = NB201Featurizer()
>>> raw = fz.batch(["|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"])
>>> raw.features.shape[0]
1
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from edgewise.graph import _fusion
from edgewise.graph._features import (
    RAW_NAMES,
    finalize,
    graph_positions,
    graph_raw,
    kernel_signatures,
    kernel_vector,
)
from edgewise.graph._ir import Graph, Node, TensorInfo, load_graph
from edgewise.graph._kernels import kernel_from_nodes
from edgewise.graph._position import (
    HEAVY_OPS,
    PLACED_OPS,
    POSITION_NAMES,
    bucket,
    node_positions,
    on_path,
    position_index,
    position_key,
)
from edgewise.graph.builders import _nb201
from edgewise.graph.builders._fbnet import FBNET_BLOCKS, FBNET_LAYERS, fbnet, parse_fbnet
from edgewise.graph.builders._ofa import (
    MAX_DEPTH,
    OFA_EXPANDS,
    OFA_KERNELS,
    OFA_STAGES,
    OfaArch,
    ofa_mbv3,
    parse_ofa_mbv3,
)

_ZERO = "zero"


@dataclass(frozen=True)
class RawBatch:
    """Features of many graphs: ``features`` is ``(n, F)``, ``positions`` ``(n, P)``
    (:data:`POSITION_NAMES`); one signature Counter each."""

    features: np.ndarray
    signatures: list[Counter[str]]
    positions: np.ndarray


class _LightWriter:
    """Stands in for :class:`OnnxWriter`: records ``(name, op, inputs, outputs)`` only,
    with ``prefix`` taken off every name it makes."""

    def __init__(self, shape: tuple[int, ...], prefix: str = "") -> None:
        self._shape = shape
        self._prefix = prefix
        self.nodes: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]] = []

    def shape(self, tensor: str) -> tuple[int, ...]:
        return self._shape

    def _node(
        self, op: str, inputs: tuple[str, ...], name: str, params: tuple[str, ...] = ()
    ) -> str:
        name = name.removeprefix(self._prefix)
        out = f"{name}:0"
        self.nodes.append((name, op, (*inputs, *(f"{name}.{p}" for p in params)), (out,)))
        return out

    def relu(self, x: str, *, name: str) -> str:
        return self._node("Relu", (x,), name)

    def conv(self, x: str, cout: int, k: int, *, name: str, **_: Any) -> str:
        return self._node("Conv", (x,), name, ("weight",))

    def bn(self, x: str, *, name: str) -> str:
        return self._node("BatchNormalization", (x,), name, ("scale", "bias", "mean", "var"))

    def add(self, a: str, b: str, *, name: str) -> str:
        return self._node("Add", (a, b), name)

    def mul_zero(self, x: str, *, name: str) -> str:
        return self._node("Mul", (x, _ZERO), name)

    def avgpool(self, x: str, k: int, *, name: str, **_: Any) -> str:
        return self._node("AveragePool", (x,), name)


def _is_light_param(tensor: str) -> bool:
    return tensor == _ZERO or (":" not in tensor and tensor != "x0")


@dataclass(frozen=True)
class _Cell:
    names: tuple[str, ...]
    light: list[tuple[str, tuple[str, ...], tuple[str, ...]]]
    groups: list[tuple[int, ...]]
    live: tuple[bool, ...]
    depth: int
    out: str
    used: tuple[bool, ...]  # the cell's output uses the node's result
    # a runtime reads the cell's input: the cell is connected, or a zero multiply folds
    # into a convolution that reads it (_fusion.folded_zero_muls), so every cell and
    # the skeleton run even when the output does not depend on the input
    runs_input: bool
    # the next cell reads this cell's output only through zero multiplies that fold into
    # a convolution of this cell: with a disconnected output, the cells of the last
    # stage still run one after the other
    chained: bool

    @property
    def connected(self) -> bool:
        return any(self.live)


class NB201Featurizer:
    """NAS-Bench-201 features from architecture strings (same as the ONNX path)."""

    def __init__(self, **builder_kwargs: Any) -> None:
        self._kwargs = builder_kwargs
        self._cells_per_stage = int(builder_kwargs.get("cells_per_stage", 5))
        refs = {
            op: load_graph(_nb201.nasbench201([op] * 6, **builder_kwargs))
            for op in ("nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3", "none")
        }
        base = refs["nor_conv_3x3"]
        self._universe: list[dict[str, Node]] = [{}, {}, {}]
        self._tensors: list[dict[str, TensorInfo]] = [{}, {}, {}]
        for stage in range(3):
            prefix = f"cell{stage * self._cells_per_stage}/"
            for ref in refs.values():
                for node in ref.nodes:
                    if not node.name.startswith(prefix):
                        continue
                    rel = node.name[len(prefix) :]
                    self._universe[stage][rel] = node
                    for t in node.inputs:
                        info = ref.tensors.get(t)
                        if info is not None and info.is_param:
                            key = _ZERO if node.op_type == "Mul" else t[len(prefix) :]
                            self._tensors[stage][key] = info
            first = self._universe[stage]["n1/e0/nor_conv_3x3/relu"]
            act = base.tensors[first.inputs[0]]
            for rel in self._universe[stage]:
                self._tensors[stage][f"{rel}:0"] = act
            self._tensors[stage]["x0"] = act
        self._skeleton = _skeleton_raw(base, lambda n: not n.startswith("cell"))
        # a cell whose output ignores its input cuts the graph: the output uses no node
        # before the last cell (all-`none` cells show which skeleton kernels remain)
        cut = _skeleton_raw(refs["none"], lambda n: not n.startswith("cell"))[2]
        sig = self._skeleton[2]
        every = Counter({k: v for k, v in sig.items() if k[:2] == "a:"})
        self._skeleton_sigs = (  # disconnected, disconnected but all run, connected
            every + Counter({k: v for k, v in cut.items() if k[:2] in ("o:", "d:")}),
            every + Counter({k: v for k, v in sig.items() if k[:2] in ("o:", "d:")}),
            sig,
        )
        self._skeleton_pos = graph_positions(base, keep=lambda n: not n.startswith("cell"))
        ref_cell = self._cell(("nor_conv_3x3",) * 6)
        n_cells = 3 * self._cells_per_stage
        self._skeleton_depth = base.depth - n_cells * ref_cell.depth
        _, _, scalars = graph_raw(base)
        self._largest, self._input_bytes = float(scalars[1]), float(scalars[2])
        self._kernel_ids: dict[tuple[Any, ...], int] = {}
        self._vectors: list[np.ndarray] = []
        self._kernel_sigs: list[str | None] = []
        self._kernel_keys: list[str | None] = []
        self._matrix: np.ndarray | None = None
        self._arch_cache: dict[tuple[str, ...], _ArchCounts] = {}
        #: ops that build the same nodes as another (see _plan); {} plans every cell alone
        self._canonical: dict[str, str] = {"nor_conv_1x1": "nor_conv_3x3"}
        self._plans: dict[tuple[str, ...], _Plan] = {}
        self._edge_cache: dict[tuple[str, ...], dict[str, str | None]] = {}

    def _cell(self, ops: tuple[str, ...]) -> _Cell:
        lw = _LightWriter((1, 1, 1, 1), prefix="c/")
        x3 = _nb201._cell(lw, ops, "x0", name="c")  # type: ignore[arg-type]
        names = tuple(n[0] for n in lw.nodes)
        light = [(op, ins, outs) for _, op, ins, outs in lw.nodes]
        params = {t for _, ins, _ in light for t in ins if _is_light_param(t)}
        groups = _fusion.fuse(light, params=params, graph_outputs={x3})
        zero_mul = [op == "Mul" for op, _, _ in light]
        live = _fusion.liveness(light, zero_mul=zero_mul, graph_inputs={"x0"}, graph_outputs={x3})
        used = _fusion.reaches_output(light, zero_mul=zero_mul, graph_outputs={x3}, params=params)
        depth = _fusion.depth(light, groups)
        readers = [
            (z, u) for z, u, (_, ins, _) in zip(zero_mul, used, light, strict=True) if "x0" in ins
        ]
        runs_input = any(u and not z for z, u in readers)
        probe = [*light, ("Mul", (x3, _ZERO), ("next:0",))]
        chained = all(z for z, _ in readers) and bool(
            _fusion.folded_zero_muls(probe, zero_mul=[*zero_mul, True], params=params)[-1]
        )
        return _Cell(names, light, groups, tuple(live), depth, x3, tuple(used), runs_input, chained)

    def _plan(self, ops: tuple[str, ...]) -> _Plan:
        """What ``ops`` share with every cell of the same topology: a 1x1 and a 3x3
        convolution build the same nodes (Relu, Conv, BatchNormalization), so fusion,
        liveness, depth and positions are computed once per topology (at most 4^6) and
        only the kernel lookups are per architecture."""
        topo = tuple(self._canonical.get(op, op) for op in ops)
        plan = self._plans.get(topo)
        if plan is not None:
            return plan
        cell = self._cell(topo)
        connected = cell.connected
        edge_index = {f"n{j}/e{i}": k for k, (j, i) in enumerate(_nb201.NB201_EDGES)}
        groups = []
        for group in cell.groups:
            inside = {t for i in group for t in cell.light[i][2]}
            ext = len(
                {
                    t
                    for i in group
                    for t in cell.light[i][1]
                    if t not in inside and not _is_light_param(t)
                }
            )
            live = connected and any(cell.live[i] for i in group)
            heavy = cell.light[group[0]][0] in HEAVY_OPS
            edges = 0  # bit k: the group has a node of edge k
            for i in group:
                k = edge_index.get(_edge_of(cell.names[i]), -1)
                edges |= (1 << k) if k >= 0 else 0
            names = tuple(cell.names[i] for i in group)
            used = any(cell.used[i] for i in group)
            groups.append(_Group(group, names, edges, ext, live, heavy, used))
        by_edge = self._edge_positions(topo, cell)
        placed = tuple(
            (i, op == "Mul", by_edge[_edge_of(cell.names[i])])
            for i, (op, _, _) in enumerate(cell.light)
            if op in PLACED_OPS
        )
        plan = _Plan(topo, cell, tuple(groups), placed, {})
        self._plans[topo] = plan
        return plan

    def _kernel_id(
        self, stage: int, names: tuple[str, ...], ext: int, live: bool, real: Any
    ) -> int:
        """The id of a kernel; a new one is built from ``real()``, the architecture's own
        cell (its tensors name its ops)."""
        key = (stage, names, ext, live)
        kid = self._kernel_ids.get(key)
        if kid is None:
            cell = real()
            where = {n: i for i, n in enumerate(cell.names)}
            group = tuple(where[n] for n in names)
            nodes = [
                dataclasses.replace(
                    self._universe[stage][cell.names[i]],
                    inputs=cell.light[i][1],
                    outputs=cell.light[i][2],
                )
                for i in group
            ]
            k = kernel_from_nodes(nodes, self._tensors[stage], indices=group, live=live)
            kid = len(self._vectors)
            self._vectors.append(kernel_vector(k))
            self._kernel_sigs.append(None if k.kind == "view" else k.signature)
            self._kernel_keys.append(position_key(k.kind, k.kernel_size))
            self._kernel_ids[key] = kid
            self._matrix = None
        return kid

    def _counts(self, ops: tuple[str, ...]) -> _ArchCounts:
        """Kernel-id counts (all, live) of the 15 cells, the cell depth, connectivity and
        the cells' position features."""
        cached = self._arch_cache.get(ops)
        if cached is not None:
            return cached
        plan = self._plan(ops)
        cell = plan.cell
        renamed = 0  # bit k: edge k holds another op than the plan's (a 1x1 convolution)
        if ops != plan.topo:
            for k, (op, t) in enumerate(zip(ops, plan.topo, strict=True)):
                renamed |= (1 << k) if op != t else 0
        # the architecture's own cell, built only if a kernel is new (once at most)
        real = (lambda: cell) if not renamed else functools.cache(lambda: self._cell(ops))
        kids_all: list[int] = []
        kids_live: list[int] = []
        kids_used: list[int] = []
        kids_unused: list[int] = []
        keys: dict[int, str | None] = {}
        for gi, g in enumerate(plan.groups):
            mask = g.edges & renamed
            kids = plan.kids.get((gi, mask))
            if kids is None:
                names = tuple(_rename(x, plan.topo, ops) for x in g.names) if mask else g.names
                kids = tuple(self._kernel_id(st, names, g.ext, g.live, real) for st in (0, 1, 2))
                plan.kids[(gi, mask)] = kids
            kids_all += kids
            if g.live:
                kids_live += kids
            if g.used:
                kids_used += kids
            else:
                kids_unused += kids
            if g.heavy:
                keys[g.nodes[0]] = self._kernel_keys[kids[2]]
        n = self._cells_per_stage
        all_ids = {kid: m * n for kid, m in Counter(kids_all).items()}
        live_ids = {kid: m * n for kid, m in Counter(kids_live).items()}
        # what the graph output uses: every used kernel of every cell when the cell's
        # input reaches its output; otherwise only the last cell's (nothing before it is),
        # or the last stage's when each cell's output folds into the next cell's zero
        # multiplies (the reduction block before the stage does not fold)
        if cell.connected or cell.runs_input:
            used_ids = {kid: m * n for kid, m in Counter(kids_used).items()}
            dead_ids = {kid: m * n for kid, m in Counter(kids_unused).items()}
        else:
            last = n if cell.chained else 1
            # the stage-2 kernel of each used group
            used_ids = {kid: m * last for kid, m in Counter(kids_used[2::3]).items()}
            dead_ids = {k: m - used_ids.get(k, 0) for k, m in all_ids.items()}
        positions = np.zeros(len(POSITION_NAMES))
        for i, is_mul, where in plan.placed:
            j = position_index("mul" if is_mul else keys.get(i), where)
            if j is not None:
                positions[j] += 1
        if len(self._arch_cache) > 20_000:
            self._arch_cache.clear()
        out = _ArchCounts(
            all_ids,
            live_ids,
            cell.depth,
            cell.connected,
            3 * n * positions,
            used_ids,
            dead_ids,
            2 if cell.connected else 1 if cell.runs_input else 0,
        )
        self._arch_cache[ops] = out
        return out

    def _edge_positions(self, ops: tuple[str, ...], cell: _Cell) -> dict[str, str | None]:
        """Position bucket of the placed node on each cell edge (``"n2/e1"``).

        Every cell is a block between two cuts (its input and output), so its positions
        in the whole graph are its positions on its own. They depend only on which edges
        hold a convolution or pool (one placed node each), a zero multiply or nothing, so
        they are computed once per such pattern (3^6) and looked up per edge.
        """
        pattern = tuple(_EDGE_PATTERN.get(op, "placed") for op in ops)
        hit = self._edge_cache.get(pattern)
        if hit is None:
            params = {t for _, ins, _ in cell.light for t in ins if _is_light_param(t)}
            flow = on_path(cell.light, inputs={"x0"}, outputs={cell.out})
            hit = {
                _edge_of(cell.names[i]): bucket(pos)
                for i, pos in enumerate(node_positions(cell.light, flow, params=params))
                if pos is not None
            }
            self._edge_cache[pattern] = hit
        return hit

    def batch(self, archs: Sequence[str], *, signatures: bool = True) -> RawBatch:
        """Features (and kernel-signature counts) of many NB201 strings.

        Raises ModelError on a bad string.
        """
        from scipy import sparse

        counts = [self._counts(_nb201.parse_nasbench201(a)) for a in archs]
        rows_a: list[int] = []
        cols_a: list[int] = []
        vals_a: list[float] = []
        rows_l: list[int] = []
        cols_l: list[int] = []
        vals_l: list[float] = []
        for r, (all_ids, live_ids, *_) in enumerate(counts):
            rows_a += [r] * len(all_ids)
            cols_a += all_ids.keys()
            vals_a += all_ids.values()
            rows_l += [r] * len(live_ids)
            cols_l += live_ids.keys()
            vals_l += live_ids.values()
        if self._matrix is None:
            self._matrix = (
                np.vstack(self._vectors) if self._vectors else np.zeros((0, len(RAW_NAMES)))
            )
        n, k = len(archs), len(self._vectors)
        c_all = sparse.csr_matrix((vals_a, (rows_a, cols_a)), shape=(n, k), dtype=np.float64)
        c_live = sparse.csr_matrix((vals_l, (rows_l, cols_l)), shape=(n, k), dtype=np.float64)
        connected = np.array([c[3] for c in counts], dtype=np.float64)
        raw_all = self._skeleton[0] + c_all @ self._matrix
        raw_live = connected[:, None] * self._skeleton[1] + c_live @ self._matrix
        depth = self._skeleton_depth + 3 * self._cells_per_stage * np.array(
            [c[2] for c in counts], dtype=np.float64
        )
        scalars = np.column_stack(
            [depth, np.full(n, self._largest), np.full(n, self._input_bytes), connected]
        )
        feats = finalize(raw_all, raw_live, scalars)
        pos = self._skeleton_pos + np.array([c.positions for c in counts]).reshape(
            n, len(POSITION_NAMES)
        )
        sigs: list[Counter[str]] = []
        if signatures:
            a_names, l_names, o_names, d_names = (
                [None if x is None else prefix + x for x in self._kernel_sigs]
                for prefix in ("a:", "l:", "o:", "d:")
            )
            for cnt in counts:
                c: Counter[str] = Counter(self._skeleton_sigs[cnt.skeleton])
                get = c.get
                for names, ids in (
                    (a_names, cnt.all_ids),
                    (l_names, cnt.live_ids),
                    (o_names, cnt.used_ids),
                    (d_names, cnt.dead_ids),
                ):
                    for kid, m in ids.items():
                        key = names[kid]
                        if key is not None and m:
                            c[key] = get(key, 0) + m
                sigs.append(c)
        return RawBatch(features=feats, signatures=sigs, positions=pos)


class _Group(NamedTuple):
    """A fused kernel of a cell plan."""

    nodes: tuple[int, ...]
    names: tuple[str, ...]  # of the nodes, as built with the plan's ops
    edges: int  # bit k: a node of edge k (NB201_EDGES order) is in it
    ext: int  # inputs from outside the kernel
    live: bool
    heavy: bool  # starts with a convolution, matmul or pool
    used: bool  # the cell's output uses its result


class _Plan(NamedTuple):
    topo: tuple[str, ...]  # the ops the cell was built with
    cell: _Cell
    groups: tuple[_Group, ...]
    placed: tuple[tuple[int, bool, str | None], ...]  # (node, is a zero Mul, position)
    kids: dict[tuple[int, int], tuple[int, ...]]  # (group, renamed edges) -> id per stage


def _rename(name: str, built: tuple[str, ...], ops: tuple[str, ...]) -> str:
    """``name`` of a node built with ``built`` as it is named in a cell of ``ops``:
    ``"n2/e1/nor_conv_3x3/conv"`` -> ``"n2/e1/nor_conv_1x1/conv"``."""
    if name[3] != "e":  # an Add ("n2/add1") belongs to no edge
        return name
    k = _nb201.NB201_EDGES.index((int(name[1]), int(name[4])))
    return name.replace(built[k], ops[k], 1)


class _ArchCounts(NamedTuple):
    all_ids: dict[int, int]
    live_ids: dict[int, int]
    depth: int
    connected: bool
    positions: np.ndarray
    used_ids: dict[int, int]  # kernels whose result the graph output uses
    dead_ids: dict[int, int]  # the others
    skeleton: int  # which skeleton signatures (NB201Featurizer._skeleton_sigs) apply


#: What an NB201 edge op puts in the cell, as far as positions go (any other op builds
#: exactly one placed node: a convolution or a pool).
_EDGE_PATTERN = {"none": "mul", "skip_connect": "skip"}


def _edge_of(node_name: str) -> str:
    """``"n2/e1/nor_conv_3x3/conv"`` -> ``"n2/e1"``."""
    return "/".join(node_name.split("/")[:2])


def _skeleton_raw(graph: Graph, keep: Any) -> tuple[np.ndarray, np.ndarray, Counter[str]]:
    """Raw features (all, live) and :func:`kernel_signatures` of the kernels whose
    nodes ``keep`` accepts."""
    raw_all = np.zeros(len(RAW_NAMES))
    raw_live = np.zeros(len(RAW_NAMES))
    kept = []
    for k in graph.kernels:
        names = [graph.nodes[i].name for i in k.node_indices]
        inside = [keep(n) for n in names]
        if any(inside) != all(inside):
            raise RuntimeError(f"kernel {k.name} crosses a cell boundary")
        if not all(inside) or k.kind == "view":
            continue
        vec = kernel_vector(k)
        raw_all += vec
        if k.live:
            raw_live += vec
        kept.append(k)
    return raw_all, raw_live, kernel_signatures(graph, kept)


def _block_depth(graph: Graph, idx: list[int]) -> int:
    """Fused depth of the nodes ``idx`` of ``graph`` on their own (a block in series)."""
    remap = {old: new for new, old in enumerate(idx)}
    groups = [tuple(remap[i] for i in g) for g in graph.kernel_groups if g[0] in remap]
    return _fusion.depth([graph.light_nodes[i] for i in idx], groups)


class FBNetFeaturizer:
    """FBNet features from 22-block strings: skeleton plus one row per (position, block)."""

    def __init__(self, **builder_kwargs: Any) -> None:
        n_pos, n_blocks = len(FBNET_LAYERS), len(FBNET_BLOCKS)
        self._table = np.zeros((n_pos, n_blocks, len(RAW_NAMES)))
        self._depth = np.zeros((n_pos, n_blocks))
        self._largest_table = np.zeros((n_pos, n_blocks))
        self._sigs: list[list[Counter[str]]] = [
            [Counter() for _ in FBNET_BLOCKS] for _ in range(n_pos)
        ]
        self._pos_table = np.zeros((n_pos, n_blocks, len(POSITION_NAMES)))
        skeleton_depths = set()
        for b, block in enumerate(FBNET_BLOCKS):
            ref = load_graph(fbnet([block] * n_pos, **builder_kwargs))
            if b == 0:
                self._skeleton = _skeleton_raw(ref, lambda n: not n.startswith("layer"))
                self._skeleton_pos = graph_positions(ref, keep=lambda n: not n.startswith("layer"))
                _, _, scalars = graph_raw(ref)
                self._input_bytes = float(scalars[2])
                self._largest = max(
                    (
                        ref.tensors[t].nbytes
                        for n in ref.nodes
                        if not n.name.startswith("layer")
                        for t in [*n.outputs, *n.inputs]
                        if t in ref.tensors and not ref.tensors[t].is_param
                    ),
                    default=0,
                )
            total_depth = 0
            for pos in range(n_pos):
                prefix = f"layer{pos}/"
                raw, _, sig = _skeleton_raw(ref, lambda n, p=prefix: n.startswith(p))
                if any(k[:2] == "d:" for k in sig):  # no zero multiply: every block is used
                    raise RuntimeError(f"FBNet block {block} at {pos} has unused kernels")
                self._table[pos, b] = raw
                self._sigs[pos][b] = Counter({k[2:]: v for k, v in sig.items() if k[:2] == "a:"})
                self._pos_table[pos, b] = graph_positions(
                    ref, keep=lambda n, p=prefix: n.startswith(p)
                )
                idx = [i for i, n in enumerate(ref.nodes) if n.name.startswith(prefix)]
                self._depth[pos, b] = _block_depth(ref, idx)
                self._largest_table[pos, b] = max(
                    (
                        ref.tensors[t].nbytes
                        for i in idx
                        for t in ref.nodes[i].outputs
                        if t in ref.tensors and not ref.tensors[t].is_param
                    ),
                    default=0,
                )
                total_depth += int(self._depth[pos, b])
            skeleton_depths.add(ref.depth - total_depth)
        if len(skeleton_depths) != 1:
            raise RuntimeError(f"FBNet skeleton depth is not constant: {skeleton_depths}")
        self._skeleton_depth = skeleton_depths.pop()
        self._block_index = {b: i for i, b in enumerate(FBNET_BLOCKS)}

    def batch(self, archs: Sequence[str]) -> RawBatch:
        """Features and signatures of many FBNet strings (ModelError on a bad one)."""
        idx = np.array(
            [[self._block_index[b] for b in parse_fbnet(a)] for a in archs], dtype=np.intp
        ).reshape(len(archs), len(FBNET_LAYERS))
        pos = np.arange(len(FBNET_LAYERS))
        raw = self._skeleton[0] + self._table[pos, idx].sum(axis=1)
        depth = self._skeleton_depth + self._depth[pos, idx].sum(axis=1)
        n = len(archs)
        largest = np.maximum(self._largest, self._largest_table[pos, idx].max(axis=1))
        scalars = np.column_stack([depth, largest, np.full(n, self._input_bytes), np.ones(n)])
        feats = finalize(raw, raw, scalars)
        positions = self._skeleton_pos + self._pos_table[pos, idx].sum(axis=1)
        sigs = []
        for row in idx:
            c: Counter[str] = Counter()
            for p, b in enumerate(row):
                c.update(self._sigs[p][b])
            out = Counter({"a:" + k: v for k, v in c.items()})
            out.update({"l:" + k: v for k, v in c.items()})
            out.update({"o:" + k: v for k, v in c.items()})
            out.update(self._skeleton[2])
            sigs.append(out)
        return RawBatch(features=feats, signatures=sigs, positions=positions)


#: OFA block rows of one resolution: (stage, first block of the stage?, kernel, expand).
_OFA_ROWS = len(OFA_STAGES) * 2 * len(OFA_KERNELS) * len(OFA_EXPANDS)
_OFA_K = {k: i for i, k in enumerate(OFA_KERNELS)}
_OFA_E = {e: i for i, e in enumerate(OFA_EXPANDS)}


def _ofa_row(stage: int, first: bool, k: int, e: int) -> int:
    """Row of a block in a resolution's :class:`_OfaTables`."""
    kind = 2 * stage + (0 if first else 1)
    return (kind * len(OFA_KERNELS) + _OFA_K[k]) * len(OFA_EXPANDS) + _OFA_E[e]


@dataclass(frozen=True)
class _OfaTables:
    """One resolution's rows: one per OFA block (:func:`_ofa_row`) and a zero row last
    (padding for shallow archs), plus the skeleton's (stem, first block, head)."""

    raw: np.ndarray  # (_OFA_ROWS + 1, R)
    depth: np.ndarray
    largest: np.ndarray
    positions: np.ndarray
    sigs: list[list[tuple[str, int]]]  # prefixed as by kernel_signatures; zero row: []
    skeleton_raw: np.ndarray
    skeleton_depth: int
    skeleton_largest: float
    skeleton_positions: np.ndarray
    skeleton_sigs: Counter[str]
    input_bytes: float


#: A batch builds a resolution's OFA table once it holds this many models of it; fewer
#: are built as ONNX one by one (0.2 s each, against ~2 s for a table).
OFA_TABLE_MIN = 8


class OFAFeaturizer:
    """OFA-MobileNetV3 features from HELP's JSON: per resolution, the skeleton plus one
    row per (stage, first block?, kernel, expand), built from nine reference graphs
    the first time a batch holds :data:`OFA_TABLE_MIN` models of the resolution (a
    second or two each); fewer go through the ONNX route (same features to ~1e-12)."""

    def __init__(self, *, table_min: int = OFA_TABLE_MIN, **builder_kwargs: Any) -> None:
        self._kwargs = builder_kwargs
        self._table_min = table_min
        self._tables: dict[int, _OfaTables] = {}

    def _build(self, r: int) -> _OfaTables:
        """Rows of resolution ``r`` from one reference per (kernel, expand), every stage
        two blocks deep: block 0 is the first of its stage, block 1 is like any later
        one (same input shape; tests compare deeper stages with the ONNX path)."""
        n_raw, n_pos = len(RAW_NAMES), len(POSITION_NAMES)
        raw = np.zeros((_OFA_ROWS + 1, n_raw))
        depth = np.zeros(_OFA_ROWS + 1)
        largest = np.zeros(_OFA_ROWS + 1)
        positions = np.zeros((_OFA_ROWS + 1, n_pos))
        sigs: list[list[tuple[str, int]]] = [[] for _ in range(_OFA_ROWS + 1)]
        n = len(OFA_STAGES) * MAX_DEPTH
        skeleton_depths = set()
        for k in OFA_KERNELS:
            for e in OFA_EXPANDS:
                arch = OfaArch((k,) * n, (e,) * n, (2,) * len(OFA_STAGES), r)
                ref = load_graph(ofa_mbv3(arch, **self._kwargs))
                if not all(ref.live) or not all(ref.reaches_output):
                    raise RuntimeError(f"OFA reference {arch} has dead nodes")
                total_depth = 0
                for stage in range(len(OFA_STAGES)):
                    for j in (0, 1):
                        prefix = f"stage{stage}/block{j}/"
                        row = _ofa_row(stage, j == 0, k, e)
                        raw[row], _, sig = _skeleton_raw(ref, lambda x, p=prefix: x.startswith(p))
                        sigs[row] = list(sig.items())
                        positions[row] = graph_positions(
                            ref, keep=lambda x, p=prefix: x.startswith(p)
                        )
                        idx = [i for i, x in enumerate(ref.nodes) if x.name.startswith(prefix)]
                        depth[row] = _block_depth(ref, idx)
                        largest[row] = max(
                            (
                                ref.tensors[t].nbytes
                                for i in idx
                                for t in ref.nodes[i].outputs
                                if t in ref.tensors and not ref.tensors[t].is_param
                            ),
                            default=0,
                        )
                        total_depth += int(depth[row])
                skeleton_depths.add(ref.depth - total_depth)
        if len(skeleton_depths) != 1:
            raise RuntimeError(f"OFA skeleton depth is not constant: {skeleton_depths}")

        # the skeleton is the same in every reference: read it from the last
        def outside(x: str) -> bool:
            return not x.startswith("stage")

        skeleton_raw, _, skeleton_sigs = _skeleton_raw(ref, outside)
        skeleton_largest = max(
            (
                ref.tensors[t].nbytes
                for x in ref.nodes
                if outside(x.name)
                for t in [*x.outputs, *x.inputs]
                if t in ref.tensors and not ref.tensors[t].is_param
            ),
            default=0,
        )
        return _OfaTables(
            raw=raw,
            depth=depth,
            largest=largest,
            positions=positions,
            sigs=sigs,
            skeleton_raw=skeleton_raw,
            skeleton_depth=skeleton_depths.pop(),
            skeleton_largest=float(skeleton_largest),
            skeleton_positions=graph_positions(ref, keep=outside),
            skeleton_sigs=skeleton_sigs,
            input_bytes=float(graph_raw(ref)[2][2]),
        )

    def batch(self, archs: Sequence[str]) -> RawBatch:
        """Features and signatures of many OFA-MobileNetV3 JSON strings (ModelError on a
        bad one)."""
        parsed = [parse_ofa_mbv3(a) for a in archs]
        n = len(parsed)
        ids = np.full((n, len(OFA_STAGES) * MAX_DEPTH), _OFA_ROWS, dtype=np.intp)
        for i, a in enumerate(parsed):
            j = 0
            for stage, d in enumerate(a.depths):
                for b in range(d):
                    kk, ee = a.kernels[stage * MAX_DEPTH + b], a.expands[stage * MAX_DEPTH + b]
                    ids[i, j] = _ofa_row(stage, b == 0, kk, ee)
                    j += 1
        res = np.array([a.resolution for a in parsed], dtype=np.intp)
        raw = np.zeros((n, len(RAW_NAMES)))
        scalars = np.zeros((n, 4))
        positions = np.zeros((n, len(POSITION_NAMES)))
        sigs: list[Counter[str]] = [Counter()] * n
        for r in np.unique(res).tolist():
            rows = np.flatnonzero(res == r)
            t = self._tables.get(r)
            if t is None and rows.size < self._table_min:
                # a table costs about 9 model builds: for a few models, build those instead
                for i in rows.tolist():
                    g = load_graph(ofa_mbv3(parsed[i], **self._kwargs))
                    raw[i], _, scalars[i] = graph_raw(g)
                    positions[i] = graph_positions(g)
                    sigs[i] = kernel_signatures(g)
                continue
            if t is None:
                t = self._tables[r] = self._build(r)
            sub = ids[rows]
            raw[rows] = t.skeleton_raw + t.raw[sub].sum(axis=1)
            scalars[rows, 0] = t.skeleton_depth + t.depth[sub].sum(axis=1)
            scalars[rows, 1] = np.maximum(t.skeleton_largest, t.largest[sub].max(axis=1))
            scalars[rows, 2] = t.input_bytes
            positions[rows] = t.skeleton_positions + t.positions[sub].sum(axis=1)
            for i, blocks in zip(rows.tolist(), sub.tolist(), strict=True):
                c: Counter[str] = Counter(t.skeleton_sigs)
                get = c.get
                for row, m in Counter(blocks).items():
                    for key, v in t.sigs[row]:  # the zero row has none
                        c[key] = get(key, 0) + v * m
                sigs[i] = c
        scalars[:, 3] = 1.0  # no zero multiply: every kernel is live
        feats = finalize(raw, raw, scalars)
        return RawBatch(features=feats, signatures=sigs, positions=positions)
