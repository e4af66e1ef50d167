from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from edgewise.cli import app
from edgewise.errors import StoreError, StoreUnavailableError
from edgewise.store import DeviceRecord, LatencyRecord, MeasurementRecord, ModelRecord, Store


def _model(sha: str = "a" * 64) -> ModelRecord:
    return ModelRecord(
        sha256=sha,
        name="tiny",
        format="onnx",
        size_bytes=123,
        input_signature=[{"name": "x", "dtype": "float32", "shape": [1, 4]}],
        path="/tmp/tiny.onnx",
    )


def _device(name: str = "box") -> DeviceRecord:
    return DeviceRecord(name=name, kind="cpu", fingerprint_sha="f" * 64, fingerprint={"cores": 2})


def _measurement(p50: float = 1.0) -> MeasurementRecord:
    return MeasurementRecord(
        scenario="single-stream",
        backend="onnxruntime",
        settings={"threads": 1},
        queries=3,
        valid=True,
        summary={"latency_ms": {"p50": p50, "p99": p50 * 2}},
        environment={"load_avg_1m": 0.1},
        latencies_ms=(1.0, 1.5, 2.0),
        histogram={"edges_ms": [1, 2], "counts": [3]},
        loadgen_summary="Result is : VALID",
        loadgen_detail=":::MLLOG {}",
    )


def test_measurement_round_trip(any_store: Store) -> None:
    mid = any_store.add_measurement(_measurement(), model=_model(), device=_device())
    got = any_store.get_measurement(mid)
    assert got is not None
    assert got.latencies_ms == pytest.approx((1.0, 1.5, 2.0))
    assert got.model is not None and got.model.sha256 == "a" * 64
    assert got.device is not None and got.device.name == "box"
    assert got.valid is True and got.loadgen_summary == "Result is : VALID"
    listed = any_store.list_measurements()
    assert [m.id for m in listed] == [mid]
    assert listed[0].latencies_ms == ()


def test_models_and_devices_are_upserted(any_store: Store) -> None:
    any_store.add_measurement(_measurement(), model=_model(), device=_device())
    any_store.add_measurement(_measurement(2.0), model=_model(), device=_device())
    assert len(any_store.list_models()) == 1
    assert len(any_store.list_devices()) == 1
    assert [m.p50_ms for m in any_store.list_measurements()] == [2.0, 1.0]
    assert any_store.list_measurements(model_sha256="aaaa", limit=1)[0].p50_ms == 2.0
    assert any_store.list_measurements(device="nope") == []


def test_an_existing_device_is_updated_and_an_existing_model_kept(any_store: Store) -> None:
    first = any_store.add_device(_device())
    newer = DeviceRecord(name="box", kind="gpu", fingerprint_sha="e" * 64, fingerprint={"g": 1})
    assert any_store.add_device(newer) == first
    (got,) = any_store.list_devices()
    assert got.id == first and got.kind == "gpu"
    assert (got.fingerprint_sha, got.fingerprint) == ("e" * 64, {"g": 1})
    any_store.add_measurement(_measurement(), model=_model(), device=_device())
    renamed = ModelRecord(**{**_model().__dict__, "name": "other", "path": "/elsewhere.onnx"})
    any_store.add_measurement(_measurement(), model=renamed, device=_device())
    (model,) = any_store.list_models()
    assert (model.name, model.path) == ("tiny", "/tmp/tiny.onnx")


def test_failed_write_leaves_nothing(any_store: Store) -> None:
    bad = MeasurementRecord(**{**_measurement().__dict__, "summary": {"latency_ms": {}}})
    with pytest.raises(KeyError):
        any_store.add_measurement(bad, model=_model("b" * 64), device=_device("other"))
    assert any_store.list_models() == []
    assert any_store.list_devices() == []


def test_latency_records_replace_duplicates(any_store: Store) -> None:
    rows = [LatencyRecord(device="d1", latency_ms=1.0, space="s", arch="a", source="t")]
    assert any_store.add_latency_records(rows) == 1
    any_store.add_latency_records([LatencyRecord(device="d1", latency_ms=3.0, space="s", arch="a")])
    got = any_store.latency_records(device="d1")
    assert [r.latency_ms for r in got] == [3.0]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://nobody@127.0.0.1:1/none",
        "not a url",
        "sqlite:////proc/forbidden/dir/x.db",
    ],
)
def test_unreachable_store_is_an_input_error(url: str) -> None:
    with pytest.raises(StoreUnavailableError):
        Store(url)


def test_a_store_file_gone_after_opening_is_still_an_input_error(tmp_path: Path) -> None:
    db = tmp_path / "gone" / "x.db"
    store = Store(f"sqlite:///{db}")
    store.engine.dispose()
    shutil.rmtree(db.parent)
    with pytest.raises(StoreUnavailableError, match="unable to open database file"):
        store.list_devices()


def test_a_failed_statement_is_a_store_error_not_a_bad_url(tmp_path: Path) -> None:
    # A table that no migration made (once, a process racing the first migration made it)
    db = tmp_path / "x.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE devices (id INTEGER)")
    conn.close()
    with pytest.raises(StoreError, match="table devices already exists") as info:
        Store(f"sqlite:///{db}")
    assert not isinstance(info.value, StoreUnavailableError)
    res = CliRunner().invoke(app, ["measurements", "list"], env={"EDGEWISE_DB": f"sqlite:///{db}"})
    assert res.exit_code == 1 and res.stderr.startswith("failed: store error:"), res.stderr


def test_reopen_is_migrated_once(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    Store(url).add_device(_device())
    assert [d.name for d in Store(url).list_devices()] == ["box"]


@given(st.lists(st.floats(min_value=1e-4, max_value=1e5), max_size=500))
def test_latency_packing_round_trips(values: list[float]) -> None:
    from edgewise.store._records import pack_latencies, unpack_latencies

    got = unpack_latencies(pack_latencies(values))
    assert len(got) == len(values)
    assert all(abs(a - b) <= 1e-6 * max(1.0, abs(b)) for a, b in zip(got, values, strict=True))


def test_the_default_store_lives_in_the_edgewise_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EDGEWISE_HOME moves the default store with the rest (a walkthrough found it did
    not: isolating a session took EDGEWISE_DB as well); EDGEWISE_DB still wins."""
    from edgewise.store import default_url

    monkeypatch.delenv("EDGEWISE_DB")
    monkeypatch.setenv("EDGEWISE_HOME", str(tmp_path / "elsewhere"))
    assert default_url() == f"sqlite:///{tmp_path / 'elsewhere' / 'edgewise.db'}"
    Store().add_device(_device())
    assert (tmp_path / "elsewhere" / "edgewise.db").is_file()
    monkeypatch.setenv("EDGEWISE_DB", "sqlite:///" + str(tmp_path / "named.db"))
    assert default_url().endswith("named.db")
