"""The store as a training table: profile runs, shadow replicas and imported rows."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from edgewise.cli import app
from edgewise.data import LatencyTable, import_table, store_table
from edgewise.errors import ConfigError, DataError
from edgewise.profile import ProfileSettings, profile_model, save_result
from edgewise.store import DeploymentRecord, ShadowPairRecord, ShadowRunRecord, Store

GOOD = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|"
FAST = {"duration_s": 0.5, "min_queries": 64, "warmup": 5, "threads": 1, "operator_runs": 3}


def _pairs(cand: str, prod_ms: float, cand_ms: float | None, seqs: range) -> list[ShadowPairRecord]:
    return [
        ShadowPairRecord(
            candidate=cand,
            seq=s,
            outcome="ok" if cand_ms is not None else "timeout",
            production_ms=prod_ms,
            candidate_ms=cand_ms,
            agree=True,
        )
        for s in seqs
    ]


def _fill(store: Store, tmp_path: Path, model_path) -> dict[str, object]:  # type: ignore[no-untyped-def]
    mlp, cnn = model_path("mlp-tiny"), model_path("cnn-small")
    # the same graph in another file (another sha256: byte-identical copies are one model)
    import onnx

    twin = onnx.load(cnn)
    twin.doc_string = "a retrained cnn-small"
    copy = tmp_path / "cnn-copy.onnx"
    onnx.save(twin, copy)
    # measured: a real profile run
    measured = save_result(
        profile_model(mlp, ProfileSettings(**FAST, device_name="edge-box")), store
    )
    assert measured.valid, f"LoadGen said INVALID: {measured.loadgen}"  # else it is left out
    # a newer, valid offline run: its latencies are times since the batch was issued,
    # not a query's own (a walkthrough found its p50, 33 s, exported as the model's
    # latency). Stored as a record: a real 0.2 s offline run is not always VALID.
    import dataclasses

    m, model, device = measured.to_records()
    slow = tuple(1000 * x for x in m.latencies_ms)
    offline = dataclasses.replace(m, scenario="offline", valid=True, latencies_ms=slow)
    store.add_measurement(offline, model=model, device=device)
    # imported: two space rows, an ONNX row, and a row the measurement outranks
    table = tmp_path / "t.csv"
    pd.DataFrame(
        {
            "space": ["nasbench201", "", ""],
            "arch": [GOOD, "", ""],
            "model": ["", str(copy), str(mlp)],
            "device": ["pixel3", "edge-box", "edge-box"],
            "latency_ms": [12.5, 2.0, 99.0],
        }
    ).to_csv(table, index=False)
    import_table(table, store=store)
    # shadow: production's times count until the run's first promotion
    run_id = store.add_shadow_run(
        ShadowRunRecord(
            name="cnn-small",
            device="gw-box",
            production={"name": "production", "path": str(cnn), "sha256": "x"},
            candidates=[{"name": "fast", "path": str(copy), "sha256": "y"}],
        )
    )
    store.add_shadow_pairs(run_id, _pairs("fast", 3.0, 1.0, range(40)))
    store.add_shadow_pairs(run_id, _pairs("fast", 3.0, None, range(40, 45)))  # censored
    store.add_deployment(
        DeploymentRecord(
            event="promote",
            model_name="fast",
            model_sha256="y",
            device="gw-box",
            verdict="PASS",
            reason="test",
            source="shadow",
            run_id=run_id,
        )
    )
    store.add_shadow_pairs(run_id, _pairs("other", 50.0, 1.0, range(45, 60)))  # new production
    return {"measured": measured, "copy": copy, "mlp": mlp, "cnn": cnn, "run": run_id}


def test_the_store_reads_back_as_one_table(tmp_path: Path, fresh_store: Store, model_path) -> None:  # type: ignore[no-untyped-def]
    made = _fill(fresh_store, tmp_path, model_path)
    table = store_table(fresh_store)
    rows = {(r.model, r.device): r for r in table.frame.itertuples()}
    mlp = rows[(str(Path(str(made["mlp"])).resolve()), "edge-box")]
    assert mlp.latency_ms == pytest.approx(made["measured"].latency.p50_ms)  # type: ignore[attr-defined]
    assert mlp.source == f"measurement #{made['measured'].measurement_id}"  # type: ignore[attr-defined]
    # the imported 99 ms for the same model and device is outranked, and said so; the
    # offline run is left out, and said so
    assert sorted(p.reason for p in table.problems) == ["duplicate", "not a single-stream run"]
    dup = next(p for p in table.problems if p.reason == "duplicate")
    assert dup.detail.startswith("t.csv: same model") and "and device as" in dup.detail
    # the imported ONNX row is found again by its sha256 (data import kept the file)
    assert rows[(str(Path(str(made["copy"])).resolve()), "edge-box")].latency_ms == 2.0
    assert rows[(f"nasbench201:{GOOD}", "pixel3")].latency_ms == 12.5
    # shadow: production's median before the promotion (3.0, not the 50.0 after it), the
    # candidate's over its answered copies
    assert rows[(str(Path(str(made["cnn"])).resolve()), "gw-box")].latency_ms == 3.0
    assert rows[(str(Path(str(made["copy"])).resolve()), "gw-box")].latency_ms == 1.0
    assert len(table.frame) == 5
    # sources pick; a model file that has gone is reported, not trained on
    only = store_table(fresh_store, sources=["imported"])
    assert set(only.frame["source"]) == {"t.csv"} and not only.problems
    Path(str(made["copy"])).unlink()
    gone = store_table(fresh_store, sources=["imported", "shadow"])
    assert sorted(p.reason for p in gone.problems) == ["bad model file"] * 2
    with pytest.raises(ConfigError, match="--sources takes"):
        store_table(fresh_store, sources=["everything"])
    with pytest.raises(DataError, match="no latencies in the store"):
        store_table(Store("sqlite://"))


def test_export_then_train_from_the_store(tmp_path: Path, model_path) -> None:  # type: ignore[no-untyped-def]
    store = Store()  # EDGEWISE_DB: the CLI's store
    made = _fill(store, tmp_path, model_path)
    store.close()
    out = tmp_path / "store.csv"
    res = CliRunner().invoke(app, ["data", "export", str(out), "--json"])
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["by_source"] == {"measured": 1, "shadow": 2, "imported": 2}, doc
    assert doc["rows"] == 5
    assert {p["reason"] for p in doc["problems"]} == {"duplicate", "not a single-stream run"}
    again = LatencyTable.from_path(out)  # what `predictor train|evaluate --data` read
    assert len(again.frame) == 5 and not again.problems
    assert sorted(again.frame["latency_ms"]) == sorted(store_table(Store()).frame["latency_ms"])
    res = CliRunner().invoke(
        app,
        [
            "predictor",
            "train",
            "--from-store",
            "--sources",
            "measured,imported",
            "--out",
            str(tmp_path / "p.zip"),
            "--n-estimators",
            "10",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.stderr
    assert sorted(json.loads(res.stdout)["devices"]) == ["edge-box", "pixel3"]
    res = CliRunner().invoke(app, ["predictor", "train", "--from-store", "--data", str(out)])
    assert res.exit_code == 2 and "one of --data FILE and --from-store" in res.stderr
    res = CliRunner().invoke(app, ["data", "export", str(tmp_path / "x.json")])
    assert res.exit_code == 2 and ".csv or .parquet" in res.stderr
    assert made["run"] is not None
