"""Catalog importers: MLPerf Inference and Tiny results, the HELP latency dataset, the fleet.

Each reader returns an :class:`ImportBatch` of chips, results and the rows it could not
use, each with its file and line; nothing is dropped silently.

>>> batch = read_mlperf_tiny(data_dir() / "mlperf" / "mlperf_tiny_results.csv.gz")  # doctest: +SKIP
>>> batch.origin, len(batch.problems)  # doctest: +SKIP
('mlperf_tiny', 0)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgewise.errors import DataError, UnknownNameError
from edgewise.recommend._names import (
    CHIP_KINDS,
    canonical_benchmark,
    canonical_chip,
    canonical_scenario,
    infer_kind,
    infer_vendor,
)
from edgewise.recommend._specs import CHIP_SPECS
from edgewise.store import CatalogResultRecord, ChipRecord, Store

#: The scenarios whose runs report a per-query latency distribution.
LATENCY_SCENARIOS = ("SingleStream", "MultiStream", "Server", "Interactive")

MLPERF_STATS = "mlperf/mlperf_inference_latency_stats.csv.gz"
MLPERF_TIDY = "mlperf/mlperf_all_tidy.csv.gz"
MLPERF_TINY = "mlperf/mlperf_tiny_results.csv.gz"
LATENCY_DATASET = "latency/help.csv.gz"


@dataclass(frozen=True)
class RowProblem:
    """A row that could not be imported, and why."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class ImportBatch:
    """What one source contributes to the catalog."""

    origin: str
    files: tuple[str, ...]
    chips: tuple[ChipRecord, ...]
    results: tuple[CatalogResultRecord, ...]
    problems: tuple[RowProblem, ...]
    rows_read: int


class _Builder:
    """Collects chips, results and problems while a file is read."""

    def __init__(self, origin: str, files: Iterable[str]) -> None:
        self.origin = origin
        self.files = tuple(files)
        self.chips: dict[str, ChipRecord] = {}
        self.results: list[CatalogResultRecord] = []
        self.problems: list[RowProblem] = []
        self.rows = 0

    def chip(self, raw: str, *, hint: str = "", kind: str | None = None) -> str:
        name = canonical_chip(raw)
        if name not in self.chips:
            spec = CHIP_SPECS.get(name, {})
            self.chips[name] = ChipRecord(
                name=name,
                kind=kind if kind in CHIP_KINDS else infer_kind(raw, hint=hint),
                vendor=infer_vendor(raw),
                origins=(self.origin,),
                specs={k: v.as_dict() for k, v in spec.items()},
                aliases=(raw,) if raw != name else (),
            )
        elif raw != name and raw not in self.chips[name].aliases:
            old = self.chips[name]
            self.chips[name] = ChipRecord(
                name=old.name,
                kind=old.kind,
                vendor=old.vendor,
                origins=old.origins,
                specs=old.specs,
                aliases=(*old.aliases, raw),
            )
        return name

    def problem(self, file: str, line: int, reason: str) -> None:
        self.problems.append(RowProblem(file=file, line=line, reason=reason))

    def batch(self) -> ImportBatch:
        return ImportBatch(
            origin=self.origin,
            files=self.files,
            chips=tuple(self.chips.values()),
            results=tuple(self.results),
            problems=tuple(self.problems),
            rows_read=self.rows,
        )


def _read_csv(path: Path, required: Iterable[str]) -> Any:
    import pandas as pd

    if not path.is_file():
        raise DataError(f"catalog file not found: {path}")
    try:
        frame = pd.read_csv(path, low_memory=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read {path}: {str(exc).splitlines()[0]}") from exc
    missing = sorted(set(required) - set(frame.columns))
    if missing:
        raise DataError(f"{path.name} lacks columns: {', '.join(missing)}")
    return frame


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _positive(value: Any) -> float | None:
    out = _number(value)
    return out if out is not None and out > 0 else None


_STATS_COLS = (
    "round",
    "division",
    "submitter",
    "system",
    "model",
    "scenario",
    "category",
    "chip",
    "chip_kind",
    "framework",
    "location",
    "result_valid",
    "samples_per_second",
    "p50_latency_ns",
    "p90_latency_ns",
    "p99_latency_ns",
    "es_p90_estimate_ns",
    "es_p99_estimate_ns",
)


def read_mlperf_inference(stats_path: Path, tidy_path: Path | None = None) -> ImportBatch:
    """MLPerf Inference: latency percentiles and throughput per run, power where reported.

    Latencies come from the full LoadGen summaries (early-stopping estimates where LoadGen
    gives them, as MLPerf reports); measured system power comes from the tidy table.
    """
    frame = _read_csv(stats_path, _STATS_COLS)
    files = [stats_path.name] + ([tidy_path.name] if tidy_path is not None else [])
    b = _Builder("mlperf", files)
    for line, row in enumerate(frame.to_dict("records"), start=2):
        b.rows += 1
        _stats_row(b, stats_path.name, line, row)
    if tidy_path is not None:
        tidy = _read_csv(
            tidy_path,
            ("chip", "chip_kind", "benchmark", "scenario", "metric", "value", "units", "round"),
        )
        for line, row in enumerate(tidy.to_dict("records"), start=2):
            if _text(row["metric"]) != "system_power":
                continue
            b.rows += 1
            chip, bench = _text(row["chip"]), _text(row["benchmark"])
            value = _positive(row["value"])
            if not chip or not bench:
                b.problem(tidy_path.name, line, "missing chip or benchmark")
                continue
            if value is None or _text(row["units"]) != "W":
                b.problem(
                    tidy_path.name, line, f"bad system power {row['value']!r} {row['units']!r}"
                )
                continue
            b.results.append(
                _result(
                    b,
                    row,
                    chip=b.chip(chip, hint=_text(row["chip_kind"])),
                    bench=bench,
                    scenario=_text(row["scenario"]),
                    metric="system_power_w",
                    value=value,
                    units="W",
                    source=f"{tidy_path.name}:{line}",
                )
            )
    return b.batch()


def _result(
    b: _Builder,
    row: dict[str, Any],
    *,
    chip: str,
    bench: str,
    scenario: str,
    metric: str,
    value: float,
    units: str,
    source: str,
) -> CatalogResultRecord:
    return CatalogResultRecord(
        chip=chip,
        origin=b.origin,
        benchmark=canonical_benchmark(bench),
        scenario=scenario,
        metric=metric,
        value=value,
        units=units,
        system=_text(row.get("system")),
        submitter=_text(row.get("submitter")),
        round=_text(row.get("round")),
        division=_text(row.get("division")),
        category=_text(row.get("category")),
        software=_text(row.get("framework") or row.get("software")),
        source=source + (f" {_text(row.get('location'))}" if _text(row.get("location")) else ""),
    )


def _stats_row(b: _Builder, file: str, line: int, row: dict[str, Any]) -> None:
    chip, bench, scenario = _text(row["chip"]), _text(row["model"]), _text(row["scenario"])
    if not chip or not bench:
        b.problem(file, line, "missing chip or model")
        return
    if _text(row["result_valid"]) not in ("", "VALID"):
        b.problem(file, line, f"result is {row['result_valid']!r}, not VALID")
        return
    name = b.chip(chip, hint=_text(row["chip_kind"]))
    source = f"{file}:{line}"
    if scenario == "Offline":
        qps = _positive(row["samples_per_second"])
        if qps is None:
            b.problem(
                file,
                line,
                f"Offline run without a valid samples_per_second ({row['samples_per_second']!r})",
            )
            return
        b.results.append(
            _result(
                b,
                row,
                chip=name,
                bench=bench,
                scenario=scenario,
                metric="throughput_per_s",
                value=qps,
                units="samples/s",
                source=source,
            )
        )
        return
    if scenario not in LATENCY_SCENARIOS:
        b.problem(file, line, f"unknown scenario {scenario!r}")
        return
    values = {
        "latency_p50_ms": _positive(row["p50_latency_ns"]),
        "latency_p90_ms": _positive(row["es_p90_estimate_ns"]) or _positive(row["p90_latency_ns"]),
        "latency_p99_ms": _positive(row["es_p99_estimate_ns"]) or _positive(row["p99_latency_ns"]),
    }
    if all(v is None for v in values.values()):
        b.problem(file, line, "no valid latency percentile (p50/p90/p99 all missing or <= 0)")
        return
    for metric, ns in values.items():
        if ns is not None:
            b.results.append(
                _result(
                    b,
                    row,
                    chip=name,
                    bench=bench,
                    scenario=scenario,
                    metric=metric,
                    value=ns / 1e6,
                    units="ms",
                    source=source,
                )
            )
    qps = _positive(row["samples_per_second"])
    if qps is not None and scenario == "Server":
        b.results.append(
            _result(
                b,
                row,
                chip=name,
                bench=bench,
                scenario=scenario,
                metric="throughput_per_s",
                value=qps,
                units="samples/s",
                source=source,
            )
        )


_TINY_METRICS = {
    "latency_median": ("latency_p50_ms", "ms"),
    "energy_per_inference_median": ("energy_uj", "uJ"),
    "throughput_median": ("throughput_per_s", "inf/s"),
}


def read_mlperf_tiny(path: Path) -> ImportBatch:
    """MLPerf Tiny: median latency, energy per inference and throughput on microcontrollers."""
    frame = _read_csv(
        path,
        (
            "round",
            "system",
            "benchmark",
            "scenario",
            "metric",
            "value",
            "units",
            "chip",
            "chip_kind",
        ),
    )
    b = _Builder("mlperf_tiny", [path.name])
    for line, row in enumerate(frame.to_dict("records"), start=2):
        metric = _text(row["metric"])
        if metric.startswith("accuracy"):
            continue
        b.rows += 1
        chip, bench = _text(row["chip"]), _text(row["benchmark"])
        if not chip or not bench:
            b.problem(path.name, line, "missing chip or benchmark")
            continue
        if metric not in _TINY_METRICS:
            b.problem(path.name, line, f"unknown metric {metric!r}")
            continue
        name, units = _TINY_METRICS[metric]
        value = _positive(row["value"])
        if value is None:
            b.problem(path.name, line, f"{metric} must be a number > 0, got {row['value']!r}")
            continue
        if _text(row["units"]) != units:
            b.problem(path.name, line, f"{metric} in {row['units']!r}, expected {units!r}")
            continue
        if name == "energy_uj" and bench == "streaming_wakeword":
            name, units = "energy_uj_per_trial", "uJ/trial"  # per trial, not per inference
        b.results.append(
            _result(
                b,
                row,
                chip=b.chip(
                    chip,
                    hint=_text(row["chip_kind"]),
                    kind="mcu" if infer_kind(chip) == "unknown" else None,
                ),
                bench=bench,
                scenario=_text(row["scenario"]) or "SingleStream",
                metric=name,
                value=value,
                units=units,
                source=f"{path.name}:{line}",
            )
        )
    return b.batch()


def read_latency_dataset(path: Path, *, archs_per_space: int = 100) -> ImportBatch:
    """The HELP device dataset: ``archs_per_space`` evenly spaced architectures per space.

    Devices measured at several batch sizes (``1080ti_1``, ``1080ti_32``) become one chip
    with one scenario per batch size (``SingleStream``, ``batch-32``).
    """
    import numpy as np

    frame = _read_csv(path, ("space", "arch", "device", "latency_ms", "arch_idx", "batch_size"))
    b = _Builder("help", [path.name])
    if archs_per_space <= 0:
        return b.batch()
    frame = _whole_number_rows(b, path.name, frame)
    keep: set[tuple[str, int]] = set()
    for space, group in frame.groupby("space"):
        idx = np.unique(group["arch_idx"].to_numpy())
        pick = idx[
            np.unique(
                np.linspace(0, idx.size - 1, min(archs_per_space, idx.size)).round().astype(int)
            )
        ]
        keep.update((str(space), int(i)) for i in pick)
    bases: dict[str, set[int]] = {}
    for device, bs in frame[["device", "batch_size"]].drop_duplicates().itertuples(index=False):
        base = str(device).removesuffix(f"_{bs}")
        bases.setdefault(base, set()).add(int(bs))
    mask = [(s, int(i)) in keep for s, i in zip(frame["space"], frame["arch_idx"], strict=True)]
    sub = frame[mask]
    for line, row in zip(sub.index + 2, sub.to_dict("records"), strict=True):
        b.rows += 1
        device, bs = _text(row["device"]), int(row["batch_size"])
        base = device.removesuffix(f"_{bs}")
        chip_raw = base if len(bases.get(base, ())) > 1 else device
        value = _positive(row["latency_ms"])
        if not device:
            b.problem(path.name, int(line), "missing device")
            continue
        if value is None:
            b.problem(
                path.name,
                int(line),
                f"latency_ms must be > 0, got {row['latency_ms']!r} "
                f"({device}, {row['space']}/{row['arch_idx']})",
            )
            continue
        b.results.append(
            CatalogResultRecord(
                chip=b.chip(chip_raw),
                origin="help",
                benchmark=f"{row['space']}/{int(row['arch_idx'])}",
                scenario="SingleStream" if bs == 1 else f"batch-{bs}",
                metric="latency_ms",
                value=value,
                units="ms",
                system=_text(row["arch"]),
                source=f"{path.name}:{int(line)} {_text(row.get('source'))}".strip(),
            )
        )
    return b.batch()


def _whole_number_rows(b: _Builder, file: str, frame: Any) -> Any:
    """The rows whose ``arch_idx`` (>= 0) and ``batch_size`` (>= 1) are whole numbers.

    Every other row is reported as a problem: ``int()`` on an empty or non-numeric cell
    crashed the import, and one such cell also turned the whole column into floats or
    strings (``_1.0`` suffixes, arch indices sorted as text).
    """
    import numpy as np
    import pandas as pd

    parsed, ok = {}, {}
    for column, low in (("arch_idx", 0), ("batch_size", 1)):
        values = pd.to_numeric(frame[column], errors="coerce").astype(float)
        parsed[column] = values
        ok[column] = (
            np.isfinite(values) & (values == values.round()) & (values >= low) & (values < 2**53)
        )
    good = ok["arch_idx"] & ok["batch_size"]
    for i in frame.index[~good]:
        b.rows += 1
        column, low = ("arch_idx", 0) if not ok["arch_idx"][i] else ("batch_size", 1)
        b.problem(
            file,
            int(i) + 2,
            f"{column} must be a whole number >= {low}, got {_text(frame[column][i])!r} "
            f"({_text(frame['device'][i])})",
        )
    out = frame[good].copy()
    for column, values in parsed.items():
        out[column] = values[good].astype(int)
    return out


def read_fleet(store: Store) -> ImportBatch:
    """Every device and measurement in the store: the user's own fleet."""
    b = _Builder("fleet", ["store"])
    for m in store.list_measurements():
        b.rows += 1
        where = f"measurement/{m.id}"
        if m.device is None or m.model is None:
            b.problem("store", m.id or 0, f"{where} has no device or model")
            continue
        try:
            scenario = canonical_scenario(m.scenario)
        except UnknownNameError:  # keep the user's own spelling
            scenario = m.scenario
        lat = (m.summary or {}).get("latency_ms", {}) or {}
        values = {f"latency_{k}_ms": _positive(lat.get(k)) for k in ("p50", "p90", "p99")}
        if all(v is None for v in values.values()):
            b.problem("store", m.id or 0, f"{where} has no latency percentiles")
            continue
        chip = b.chip(m.device.name, hint=m.device.kind, kind=m.device.kind)
        for metric, value in values.items():
            if value is None:
                continue
            b.results.append(
                CatalogResultRecord(
                    chip=chip,
                    origin="fleet",
                    benchmark=f"onnx:{m.model.sha256[:16]}",
                    scenario=scenario,
                    metric=metric,
                    value=value,
                    units="ms",
                    system=m.model.name,
                    software=m.backend,
                    source=f"store:{where}",
                )
            )
    return b.batch()
