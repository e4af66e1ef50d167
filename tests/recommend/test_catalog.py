"""import_catalog into a real store, the fleet source, the demo stage and the evaluation."""

from __future__ import annotations

from pathlib import Path

from edgewise.recommend import Catalog, demo_section, evaluate_heldout, import_catalog, recommend
from edgewise.store import DeviceRecord, MeasurementRecord, ModelRecord, Store


def _measure(store: Store, *, device: str, sha: str, p90: float) -> None:
    summary = {"latency_ms": {"p50": p90 * 0.8, "p90": p90, "p99": p90 * 1.3}}
    store.add_measurement(
        MeasurementRecord(
            scenario="SingleStream",
            backend="onnxruntime",
            settings={},
            queries=100,
            valid=True,
            summary=summary,
            environment={},
            latencies_ms=(p90,),
            histogram={},
            loadgen_summary="",
            loadgen_detail="",
        ),
        model=ModelRecord(
            sha256=sha, name="mine.onnx", format="onnx", size_bytes=1, input_signature=[]
        ),
        device=DeviceRecord(name=device, kind="gpu", fingerprint_sha="x", fingerprint={}),
    )


def test_import_tiny_and_fleet(fresh_store: Store, shared_data: Path, tmp_path: Path) -> None:
    _measure(fresh_store, device="NVIDIA Jetson AGX Orin", sha="ab" * 32, p90=3.0)
    report = import_catalog(fresh_store, data=shared_data, sources=("mlperf_tiny", "fleet"))
    assert [s.origin for s in report.sources] == ["mlperf_tiny", "fleet"]
    fleet = fresh_store.catalog_results(origin="fleet")
    assert {r.metric for r in fleet} == {"latency_p50_ms", "latency_p90_ms", "latency_p99_ms"}
    assert fleet[0].benchmark == "onnx:" + "ab" * 8 and fleet[0].system == "mine.onnx"
    again = import_catalog(fresh_store, data=shared_data, sources=("mlperf_tiny", "fleet"))
    assert len(fresh_store.catalog_results()) == again.results == report.results


def test_users_own_measurement_is_measured(mlperf_catalog: Catalog, tmp_path: Path) -> None:
    """A model the user measured on a catalog chip shows as measured there."""
    from edgewise.recommend._model_features import model_features
    from edgewise.store import CatalogResultRecord
    from edgewise.zoo import write_example

    path = write_example("cnn-small", tmp_path)
    sha = model_features(path).sha256
    mine = CatalogResultRecord(
        chip="NVIDIA Jetson AGX Orin",
        origin="fleet",
        benchmark=f"onnx:{sha[:16]}",
        scenario="SingleStream",
        metric="latency_p90_ms",
        value=0.5,
        units="ms",
    )
    cat = Catalog.from_records(mlperf_catalog.chips.values(), [*mlperf_catalog.results, mine])
    rec = recommend(path, slo_ms=5.0, catalog=cat)
    orin = next(o for o in rec.ranked if o.chip == "NVIDIA Jetson AGX Orin")
    assert orin.measured and orin.latency_ms == 0.5
    assert any(not o.measured for o in rec.ranked)


def test_demo_section(shared_data: Path, tmp_path: Path) -> None:
    section = demo_section(workdir=tmp_path, store=Store("sqlite://"), data=shared_data)
    assert "resnet50" in section.title and section.table_rows
    assert section.figures_html and "plotly" in section.figures_html[0].lower()
    missing = demo_section(workdir=tmp_path, store=Store("sqlite://"), data=tmp_path / "none")
    assert missing.lines[0].startswith("skipped") and not missing.figures_html


def test_heldout_evaluation_runs(mlperf_catalog: Catalog) -> None:
    """A short run of the benchmark's evaluation (the numbers live in benchmarks/)."""
    ev = evaluate_heldout(mlperf_catalog, seeds=(0,), folds=3, calibration_folds=2, n_iter=15)
    s = ev.summary
    assert s["predicted"] > 0 and s["predicted"] + s["unpredictable"] == s["heldout"]
    assert 0 <= s["acc_at_25pct"] <= 1 and s["median_ape"] >= 0
    assert 0 <= s["interval_coverage"] <= 1
    assert ev.per_benchmark and all(-1 <= r["spearman"] <= 1 for r in ev.per_benchmark)
    assert ev.feasibility["queries"] >= ev.feasibility["answered"] > 0
