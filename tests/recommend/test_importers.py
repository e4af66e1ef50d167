"""Importers on the shipped data, and bad rows reported row by row."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from edgewise.errors import DataError
from edgewise.recommend import import_catalog
from edgewise.recommend._importers import (
    LATENCY_DATASET,
    read_latency_dataset,
    read_mlperf_tiny,
)


def test_mlperf_inference_on_shipped_data(mlperf_batches: tuple) -> None:
    inference, tiny = mlperf_batches
    assert inference.origin == "mlperf" and tiny.origin == "mlperf_tiny"
    names = {c.name for c in inference.chips}
    assert "NVIDIA L4" in names and "NVIDIA Jetson AGX Orin" in names
    assert "Tesla T4" not in names  # folded into its canonical name
    t4 = next(c for c in inference.chips if c.name == "NVIDIA T4")
    assert "Tesla T4" in t4.aliases and t4.specs["tdp_w"]["source"]
    benchmarks = {r.benchmark for r in inference.results}
    assert "resnet50" in benchmarks and "bert" in benchmarks
    assert not any(b.endswith(("-99", "-99.9")) for b in benchmarks)
    metrics = {r.metric for r in inference.results}
    assert {"latency_p90_ms", "latency_p99_ms", "throughput_per_s"} <= metrics
    assert all(r.value > 0 and r.source for r in inference.results)
    # the shipped stats file has runs without a chip: each is reported with its line
    assert inference.problems
    for p in inference.problems:
        assert p.file.endswith(".csv.gz") and p.line >= 2 and p.reason
    assert len(inference.results) > 0 and inference.rows_read >= len(inference.problems)


def test_mlperf_tiny(mlperf_batches: tuple) -> None:
    _, tiny = mlperf_batches
    assert {c.kind for c in tiny.chips} <= {"mcu", "dsp", "npu", "fpga", "cpu", "gpu"}
    wakeword = [r for r in tiny.results if r.benchmark == "streaming_wakeword"]
    assert wakeword and not any(r.metric == "energy_uj" for r in wakeword)
    assert {r.metric for r in tiny.results} >= {"latency_p50_ms", "energy_uj"}


def test_latency_dataset_subsample(shared_data: Path) -> None:
    batch = read_latency_dataset(shared_data / LATENCY_DATASET, archs_per_space=5)
    spaces = {r.benchmark.split("/")[0] for r in batch.results}
    assert spaces == {"nasbench201", "fbnet", "ofa_mbv3"}
    assert len({r.benchmark for r in batch.results}) == 15
    chips = {c.name for c in batch.chips}
    assert "1080ti" in chips and "1080ti_1" not in chips  # batch sizes fold into one chip
    assert "essential_ph_1" in chips  # a phone name that merely ends in _1
    assert "titanxp" in chips and "titan_xp" not in chips
    scen = {r.scenario for r in batch.results if r.chip == "1080ti"}
    assert "SingleStream" in scen and "batch-32" in scen


_TINY_HEADER = (
    "round,division,category,submitter,system,platform,accelerator,"
    "accelerator_count,host_processor,processor_freq,software,benchmark,scenario,"
    "location,source,metric,value,units,chip,chip_kind\n"
)


def _tiny_file(folder: Path, rows: list[str]) -> Path:
    (folder / "mlperf").mkdir(parents=True, exist_ok=True)
    path = folder / "mlperf" / "mlperf_tiny_results.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write(_TINY_HEADER + "".join(rows))
    return path


_ROW = "tiny_v1.1,closed,tiny,Acme,Board,Board,,1,,,,{bench},SingleStream,x,r,{metric},{value},{units},{chip},accelerator\n"  # noqa: E501


def test_bad_rows_are_reported_row_by_row(tmp_path: Path, fresh_store) -> None:
    rows = [
        _ROW.format(
            bench="keyword_spotting",
            metric="latency_median",
            value="1.5",
            units="ms",
            chip="Arm Cortex-M4F",
        ),
        _ROW.format(
            bench="keyword_spotting",
            metric="latency_median",
            value="-3",
            units="ms",
            chip="Arm Cortex-M4F",
        ),
        _ROW.format(
            bench="keyword_spotting",
            metric="latency_median",
            value="2",
            units="s",
            chip="Arm Cortex-M4F",
        ),
        _ROW.format(bench="", metric="latency_median", value="2", units="ms", chip="X"),
        _ROW.format(
            bench="anomaly_detection",
            metric="latency_median",
            value="abc",
            units="ms",
            chip="Arm Cortex-M4F",
        ),
    ]
    batch = read_mlperf_tiny(_tiny_file(tmp_path, rows))
    assert len(batch.results) == 1
    assert [p.line for p in batch.problems] == [3, 4, 5, 6]
    assert "> 0" in batch.problems[0].reason and "expected 'ms'" in batch.problems[1].reason
    with pytest.raises(DataError, match="4 bad rows, nothing imported"):
        import_catalog(fresh_store, data=tmp_path, sources=("mlperf_tiny",), strict=True)
    assert fresh_store.list_chips() == []
    report = import_catalog(fresh_store, data=tmp_path, sources=("mlperf_tiny",))
    assert report.results == 1 and len(report.problems) == 4
    assert report.to_dict()["sources"][0]["problems"][0]["line"] == 3


def test_missing_columns_and_folder(tmp_path: Path, fresh_store) -> None:
    (tmp_path / "mlperf").mkdir()
    with gzip.open(tmp_path / "mlperf" / "mlperf_tiny_results.csv.gz", "wt") as f:
        f.write("round,chip\nx,y\n")
    with pytest.raises(DataError, match="lacks columns"):
        import_catalog(fresh_store, data=tmp_path, sources=("mlperf_tiny",))
    with pytest.raises(DataError, match="not found"):
        import_catalog(fresh_store, data=tmp_path / "nope", sources=("mlperf",))


def test_zero_archs_per_space_is_refused_before_anything_is_replaced(fresh_store) -> None:  # type: ignore[no-untyped-def]
    from edgewise.errors import ConfigError

    with pytest.raises(ConfigError, match="--archs-per-space"):
        import_catalog(fresh_store, sources=("latency",), archs_per_space=0)


_NB201 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"  # noqa: E501


def test_latency_rows_without_a_whole_arch_idx_or_batch_size_are_problems(
    tmp_path: Path, fresh_store
) -> None:  # type: ignore[no-untyped-def]
    # int() on an empty batch_size or a non-numeric arch_idx crashed the import (exit 1),
    # and one such cell made the column floats or text for every other row too
    (tmp_path / "latency").mkdir()
    rows = [
        f"nasbench201,{_NB201},raspi4,10.5,0,\n",  # empty batch_size
        f"nasbench201,{_NB201},raspi4,10.5,abc,1\n",
        f"nasbench201,{_NB201},raspi4,10.5,2.5,1\n",
        f"nasbench201,{_NB201},raspi4,10.5,3,0\n",
        f"nasbench201,{_NB201},raspi4,10.5,4,1\n",  # the one good row
    ]
    with gzip.open(tmp_path / LATENCY_DATASET, "wt") as f:
        f.write("space,arch,device,latency_ms,arch_idx,batch_size\n" + "".join(rows))
    batch = read_latency_dataset(tmp_path / LATENCY_DATASET)
    assert [(r.chip, r.benchmark, r.scenario) for r in batch.results] == [
        ("raspi4", "nasbench201/4", "SingleStream")
    ]
    assert [p.line for p in batch.problems] == [2, 3, 4, 5]
    assert "batch_size must be a whole number >= 1, got ''" in batch.problems[0].reason
    assert "arch_idx must be a whole number >= 0, got 'abc'" in batch.problems[1].reason
    assert "got '2.5'" in batch.problems[2].reason and "batch_size" in batch.problems[3].reason
    assert batch.rows_read == 5
    report = import_catalog(fresh_store, data=tmp_path, sources=("latency",))
    assert report.results == 1 and len(report.problems) == 4
