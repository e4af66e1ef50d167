"""The chip catalog: import it into the store, and read it back as a latency matrix.

>>> from edgewise.store import Store
>>> store = Store("sqlite://")
>>> report = import_catalog(store, sources=("fleet",))
>>> report.results
0
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgewise._paths import data_dir
from edgewise.errors import ConfigError, DataError, UnknownNameError
from edgewise.recommend._importers import (
    LATENCY_DATASET,
    MLPERF_STATS,
    MLPERF_TIDY,
    MLPERF_TINY,
    ImportBatch,
    RowProblem,
    read_fleet,
    read_latency_dataset,
    read_mlperf_inference,
    read_mlperf_tiny,
)
from edgewise.recommend._names import CHIP_KINDS, resolve
from edgewise.store import CatalogResultRecord, ChipRecord, Store

#: Catalog sources, in import order.
SOURCES = ("mlperf", "mlperf_tiny", "latency", "fleet")
#: Where a chip's results came from (the ``latency`` source's are ``help``).
ORIGINS = ("mlperf", "mlperf_tiny", "help", "fleet")

#: Result metrics that are latencies (one matrix column family each).
LATENCY_METRICS = ("latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "latency_ms")


@dataclass(frozen=True)
class SourceSummary:
    """What one source added: counts and the rows it could not use."""

    origin: str
    files: tuple[str, ...]
    rows_read: int
    chips: int
    results: int
    problems: tuple[RowProblem, ...]


@dataclass(frozen=True)
class ImportReport:
    """The outcome of :func:`import_catalog`."""

    sources: tuple[SourceSummary, ...]

    @property
    def chips(self) -> int:
        return sum(s.chips for s in self.sources)

    @property
    def results(self) -> int:
        return sum(s.results for s in self.sources)

    @property
    def problems(self) -> tuple[RowProblem, ...]:
        return tuple(p for s in self.sources for p in s.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "chips": self.chips,
            "results": self.results,
            "problem_count": len(self.problems),
            "sources": [
                {
                    "origin": s.origin,
                    "files": list(s.files),
                    "rows_read": s.rows_read,
                    "chips": s.chips,
                    "results": s.results,
                    "problems": [
                        {"file": p.file, "line": p.line, "reason": p.reason} for p in s.problems
                    ],
                }
                for s in self.sources
            ],
        }


def import_catalog(
    store: Store,
    *,
    data: Path | None = None,
    sources: Sequence[str] = SOURCES,
    archs_per_space: int = 100,
    strict: bool = False,
) -> ImportReport:
    """Read every source and write it to the store, one transaction per source.

    Bad rows are skipped and listed in the report (``strict=True`` refuses to write any).
    """
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise UnknownNameError("catalog source", unknown[0], SOURCES)
    if archs_per_space < 1:  # 0 would replace the stored HELP results with nothing
        raise ConfigError(f"--archs-per-space must be at least 1, got {archs_per_space}")
    root = data if data is not None else data_dir()
    needs_files = any(s != "fleet" for s in sources)
    if needs_files and root.is_file():
        raise DataError(f"--data-dir {root} is a file: give the folder with mlperf/ and latency/")
    if needs_files and not root.is_dir():
        raise DataError(f"data folder {root} not found; pass --data-dir (or set EDGEWISE_DATA_DIR)")
    batches: list[ImportBatch] = []
    for source in sources:
        if source == "mlperf":
            batches.append(read_mlperf_inference(root / MLPERF_STATS, root / MLPERF_TIDY))
        elif source == "mlperf_tiny":
            batches.append(read_mlperf_tiny(root / MLPERF_TINY))
        elif source == "latency":
            batches.append(
                read_latency_dataset(root / LATENCY_DATASET, archs_per_space=archs_per_space)
            )
        else:
            batches.append(read_fleet(store))
    problems = [p for b in batches for p in b.problems]
    if strict and problems:
        raise DataError(f"{len(problems)} bad rows, nothing imported; first: {problems[0]}")
    summaries = []
    for b in batches:
        n_chips, n_results = store.replace_catalog(
            origin=b.origin, chips=b.chips, results=b.results
        )
        summaries.append(
            SourceSummary(b.origin, b.files, b.rows_read, n_chips, n_results, b.problems)
        )
    return ImportReport(tuple(summaries))


@dataclass(frozen=True)
class LatencyCell:
    """The catalog's figure for one (chip, benchmark, scenario, metric): median of results."""

    chip: str
    benchmark: str
    scenario: str
    metric: str
    value_ms: float
    min_ms: float
    max_ms: float
    n_results: int
    categories: tuple[str, ...]
    origins: tuple[str, ...]

    @property
    def column(self) -> str:
        return column_key(self.benchmark, self.scenario, self.metric)


def _log_median(sorted_vals: list[float]) -> float:
    """The median in log space: the middle value, or the geometric mean of the two."""
    n = len(sorted_vals)
    if n % 2:
        return sorted_vals[n // 2]
    lo, hi = sorted_vals[n // 2 - 1], sorted_vals[n // 2]
    return min(max(math.sqrt(lo * hi), lo), hi)


def column_key(benchmark: str, scenario: str, metric: str) -> str:
    return f"{benchmark}|{scenario}|{metric}"


@dataclass(frozen=True)
class Catalog:
    """An in-memory view of the store's catalog."""

    chips: dict[str, ChipRecord]
    results: tuple[CatalogResultRecord, ...]
    _cells: list[LatencyCell] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def from_store(cls, store: Store) -> Catalog:
        """Load chips and results from ``store``."""
        chips = {c.name: c for c in store.list_chips()}
        return cls(chips=chips, results=tuple(store.catalog_results()))

    @classmethod
    def from_records(
        cls, chips: Iterable[ChipRecord], results: Iterable[CatalogResultRecord]
    ) -> Catalog:
        return cls(chips={c.name: c for c in chips}, results=tuple(results))

    def require_nonempty(self) -> None:
        if not self.results:
            raise ConfigError("the chip catalog is empty: run `edgewise catalog import` first")

    def benchmarks(self) -> list[str]:
        return sorted({r.benchmark for r in self.results})

    def filter_chips(self, *, kind: str | None = None, origin: str | None = None) -> list[Any]:
        """The chips of ``kind`` from ``origin`` (None: any); unknown values are errors,
        so a typo does not look like an empty catalog."""
        kind = kind.strip().lower() if kind is not None else None  # GPU is gpu
        origin = origin.strip().lower() if origin is not None else None
        if kind is not None and kind not in CHIP_KINDS:
            raise UnknownNameError("chip kind", kind, CHIP_KINDS)
        if origin is not None and origin not in ORIGINS:
            raise UnknownNameError("origin", origin, ORIGINS)
        return [
            c
            for c in self.chips.values()
            if (kind is None or c.kind == kind) and (origin is None or origin in c.origins)
        ]

    def resolve_chip(self, name: str) -> str:
        aliases = {a: c.name for c in self.chips.values() for a in c.aliases}
        if name in aliases:
            return aliases[name]
        return resolve("chip", name, self.chips)

    def resolve_benchmark(self, name: str) -> str:
        return resolve("benchmark", name, self.benchmarks())

    def scenarios(self, benchmark: str) -> list[str]:
        return sorted({r.scenario for r in self.results if r.benchmark == benchmark})

    def latency_cells(self) -> list[LatencyCell]:
        """One cell per (chip, benchmark, scenario, latency metric), cached."""
        if self._cells:
            return self._cells
        groups: dict[tuple[str, str, str, str], list[CatalogResultRecord]] = defaultdict(list)
        for r in self.results:
            if r.metric in LATENCY_METRICS and r.value > 0:
                groups[(r.chip, r.benchmark, r.scenario, r.metric)].append(r)
        for (chip, bench, scen, metric), rs in sorted(groups.items()):
            vals = sorted(r.value for r in rs)
            self._cells.append(
                LatencyCell(
                    chip=chip,
                    benchmark=bench,
                    scenario=scen,
                    metric=metric,
                    value_ms=_log_median(vals),
                    min_ms=vals[0],
                    max_ms=vals[-1],
                    n_results=len(rs),
                    categories=tuple(sorted({r.category for r in rs if r.category})),
                    origins=tuple(sorted({r.origin for r in rs})),
                )
            )
        return self._cells

    def chip_power_w(self, chip: str) -> tuple[float | None, str]:
        """Power of ``chip`` from its curated spec (TDP), or ``(None, "")`` when unknown."""
        spec = self.chips[chip].specs.get("tdp_w") if chip in self.chips else None
        if spec is not None:
            return float(spec["value"]), "TDP (spec)"
        return None, ""

    def tiny_energy_uj(self, chip: str, benchmark: str) -> float | None:
        vals = [
            r.value
            for r in self.results
            if r.chip == chip and r.benchmark == benchmark and r.metric == "energy_uj"
        ]
        return float(np.median(vals)) if vals else None
