"""The catalog's latency model: every known (chip, column) cell plus a fitted completer.

>>> model = CatalogModel.fit(catalog)              # doctest: +SKIP
>>> model.estimate("NVIDIA L4", "resnet50|SingleStream|latency_p90_ms")  # doctest: +SKIP
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from edgewise.recommend._catalog import Catalog, LatencyCell
from edgewise.recommend._completion import LowRankCompleter
from edgewise.recommend._names import base_model, is_int8
from edgewise.recommend._specs import MODEL_FEATURES

#: Scenarios whose latency is a property of the chip. MLPerf Server/Interactive p99 is tuned
#: to the benchmark's latency bound at the highest passing load, so it measures the bound,
#: not the chip: those cells are shown as measured but never used to predict others.
PREDICTABLE_SCENARIOS_EXCLUDE = ("Server", "Interactive", "Offline")


def predictable(cell: LatencyCell) -> bool:
    return cell.scenario not in PREDICTABLE_SCENARIOS_EXCLUDE


def family(benchmark: str) -> str:
    """The model family of a benchmark: variants of one network share it.

    >>> family("mobilenet-v2-0.75-160-int8"), family("nasbench201/12"), family("bert")
    ('mobilenet-v2', 'nasbench201', 'bert')
    """
    head = benchmark.split("/")[0]
    m = re.match(r"^(mobilenet-v\d|efficientnet)", head)
    return m.group(1) if m else head


def column_features(
    benchmark: str, scenario: str, metric: str, *, macs: float | None = None
) -> list[float] | None:
    """[log MACs (millions), int8, MultiStream, p99, p50] or None when MACs are unknown."""
    if macs is None:
        feat = MODEL_FEATURES.get(base_model(benchmark), {}).get("macs_m")
        if feat is None:
            return None
        macs_m = feat.value
    else:
        macs_m = macs / 1e6
    if macs_m <= 0:
        return None
    return [
        math.log(macs_m),
        float(is_int8(benchmark)),
        float(scenario == "MultiStream"),
        float(metric == "latency_p99_ms"),
        float(metric in ("latency_p50_ms", "latency_ms")),
    ]


@dataclass(frozen=True)
class Estimate:
    """A chip's latency on a column: measured (median of results) or predicted."""

    chip: str
    column: str
    latency_ms: float
    lower_ms: float
    upper_ms: float
    measured: bool
    n_results: int
    support: int


class _Components:
    """Connected components of the chip-column bipartite graph (union-find)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.parent: dict[str, str] = {}
        for chip, col in pairs:
            self.union("r:" + chip, "c:" + col)

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb


class CatalogModel:
    """Measured cells plus a :class:`LowRankCompleter` fitted on all of them."""

    def __init__(
        self,
        cells: Sequence[LatencyCell],
        completer: LowRankCompleter,
        extra_columns: Mapping[str, Sequence[float]],
    ) -> None:
        self.cells = {(c.chip, c.column): c for c in cells}
        self.completer = completer
        self.extra_columns = dict(extra_columns)
        train = [c for c in cells if predictable(c)]
        self._components = _Components((c.chip, c.column) for c in train)
        featured = {c.column for c in train if _features_of(c) is not None}
        self._featured_roots = {self._components.find("c:" + col) for col in featured}
        self.chips = sorted({c.chip for c in cells})
        self._trained_chips = sorted({c.chip for c in train})

    @classmethod
    def fit(
        cls,
        catalog: Catalog,
        *,
        extra_columns: Mapping[str, Sequence[float]] | None = None,
        cells: Sequence[LatencyCell] | None = None,
        **params: Any,
    ) -> CatalogModel:
        """Fit the completer on the catalog's latency cells (or on ``cells``)."""
        every = list(catalog.latency_cells() if cells is None else cells)
        use = [c for c in every if predictable(c)]
        extra = dict(extra_columns or {})
        feats: dict[str, list[float]] = {}
        for c in use:
            f = _features_of(c)
            if f is not None:
                feats[c.column] = f
        feats.update({k: list(v) for k, v in extra.items()})
        completer = LowRankCompleter(**params).fit(
            [c.chip for c in use],
            [c.column for c in use],
            [c.value_ms for c in use],
            groups=[f"{c.chip}|{c.benchmark}|{c.scenario}" for c in use],
            col_features=feats,
            col_families={c.column: family(c.benchmark) for c in use}
            | {k: family(k.split("|")[0]) for k in extra},
        )
        return cls(every, completer, extra)

    def candidates(self, column: str) -> list[str]:
        """Chips with a figure for ``column``: measured, or predictable (same component)."""
        measured = {ch for (ch, col) in self.cells if col == column}
        comp = self._components
        if ("c:" + column) in comp.parent:
            roots = {comp.find("c:" + column)}
        else:
            roots = set()
        if column in self.extra_columns:
            roots |= self._featured_roots
        measured |= {ch for ch in self._trained_chips if comp.find("r:" + ch) in roots}
        return sorted(measured)

    def estimate(
        self, chips: Sequence[str], column: str, *, confidence: float = 0.9
    ) -> list[Estimate]:
        """Measured figures where the catalog has them, predictions elsewhere."""
        out: list[Estimate] = []
        todo = [ch for ch in chips if (ch, column) not in self.cells]
        pred: dict[str, tuple[float, float, float, int]] = {}
        if todo:
            cols = [column] * len(todo)
            mid = self.completer.predict(todo, cols)
            lo, hi = self.completer.predict_interval(todo, cols, confidence=confidence)
            sup = self.completer.support(todo, cols)
            for i, ch in enumerate(todo):
                pred[ch] = (float(mid[i]), float(lo[i]), float(hi[i]), int(sup[i]))
        for ch in chips:
            cell = self.cells.get((ch, column))
            if cell is not None:
                out.append(
                    Estimate(
                        ch,
                        column,
                        cell.value_ms,
                        cell.min_ms,
                        cell.max_ms,
                        True,
                        cell.n_results,
                        cell.n_results,
                    )
                )
            else:
                m, lo_, hi_, s = pred[ch]
                out.append(Estimate(ch, column, m, lo_, hi_, False, 0, s))
        return out

    def row_observations(self, chip: str) -> int:
        return int(self.completer.row_count_[self.completer.row_index_[chip]])

    def column_observations(self, column: str) -> int:
        idx = self.completer.col_index_.get(column)
        return 0 if idx is None else int(self.completer.col_count_[idx])


def _features_of(cell: LatencyCell) -> list[float] | None:
    return column_features(cell.benchmark, cell.scenario, cell.metric)
