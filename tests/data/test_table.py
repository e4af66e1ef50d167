"""Latency tables: validation with reasons and line numbers, and import into the store."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from edgewise.cli import app
from edgewise.data import LatencyTable, import_table
from edgewise.errors import DataError, UnknownNameError
from edgewise.graph.builders import nasbench201
from edgewise.store import Store

GOOD = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|"
FB = "-".join(["k3_e1"] * 22)


def _frame(tmp_path: Path) -> pd.DataFrame:
    onnx_path = tmp_path / "m.onnx"
    onnx_path.write_bytes(nasbench201(GOOD).SerializeToString())
    rows = [
        ("nasbench201", GOOD, "", "pixel3", 12.5),  # line 2: ok
        ("nasbench201", GOOD, "", "pixel3", 13.0),  # 3: duplicate of 2
        ("nasbench201", "|bogus~0|", "", "pixel3", 1.0),  # 4: bad arch
        ("ofa_resnet", "{}", "", "pixel3", 1.0),  # 5: unknown space
        ("fbnet", FB, "", "pixel3", 0.0),  # 6: non-positive
        ("fbnet", FB, "", "pixel3", float("nan")),  # 7: not a number
        ("fbnet", FB, "", "", 3.0),  # 8: missing device
        ("fbnet", FB, "", "raspi4", 30.0),  # 9: ok
        ("", "", str(onnx_path), "raspi4", 2.0),  # 10: ok (model path)
        ("", "", "missing.onnx", "raspi4", 2.0),  # 11: bad model file
        (" NB201 ", f" {GOOD} ", "", "raspi4", 7.0),  # 12: ok (alias, whitespace)
        ("fbnet", FB, "", "pixel2", 1e308),  # 13: implausible (finite, but > 1 day)
    ]
    return pd.DataFrame(rows, columns=["space", "arch", "model", "device", "latency_ms"])


def test_validation_reports_every_bad_row(tmp_path: Path) -> None:
    t = LatencyTable.from_frame(_frame(tmp_path), base_dir=tmp_path)
    assert len(t.frame) == 4
    got = {(p.line, p.reason) for p in t.problems}
    assert got == {
        (3, "duplicate"),
        (4, "bad architecture"),
        (5, "unknown space"),
        (6, "non-positive latency"),
        (7, "latency not a number"),
        (8, "missing device"),
        (11, "bad model file"),
        (13, "implausible latency"),
    }
    dup = next(p for p in t.problems if p.reason == "duplicate")
    assert "13 vs 12.5 ms" in dup.detail  # a conflicting duplicate says so
    assert t.devices == ["pixel3", "raspi4"] and t.spaces == ["fbnet", "nasbench201"]
    onnx_row = t.frame[t.frame["space"] == ""].iloc[0]
    assert len(onnx_row["model_sha256"]) == 64 and onnx_row["model"].endswith("m.onnx")
    assert t.select(space="onnx").frame.shape[0] == 1
    with pytest.raises(UnknownNameError):
        t.select(devices=["raspi5"])


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_formats_read_the_same(tmp_path: Path, suffix: str) -> None:
    df = _frame(tmp_path)
    path = tmp_path / f"t{suffix}"
    df.to_parquet(path) if suffix == ".parquet" else df.to_csv(path, index=False)
    t = LatencyTable.from_path(path)
    assert len(t.frame) == 4 and len(t.problems) == 8


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        LatencyTable.from_path(tmp_path / "nope.csv")
    (tmp_path / "cols.csv").write_text("arch,latency\nx,1\n")
    with pytest.raises(DataError, match="needs columns"):
        LatencyTable.from_path(tmp_path / "cols.csv")
    (tmp_path / "bin.parquet").write_bytes(b"\x00\x01garbage")
    with pytest.raises(DataError, match="cannot read"):
        LatencyTable.from_path(tmp_path / "bin.parquet")
    # found by a hunt: taken silently before
    (tmp_path / "twice.csv").write_text(
        f"space,arch,device,latency_ms,latency_ms\nnb201,{GOOD},d,1,2\n"
    )
    with pytest.raises(DataError, match="'latency_ms' appears more than once"):
        LatencyTable.from_path(tmp_path / "twice.csv")
    flags = pd.DataFrame(
        {"space": ["nb201"], "arch": [GOOD], "device": ["d"], "latency_ms": [True]}
    )
    flags.to_parquet(tmp_path / "bool.parquet")
    with pytest.raises(DataError, match="true/false"):
        LatencyTable.from_path(tmp_path / "bool.parquet")


def test_a_file_name_that_is_not_utf8_still_imports(tmp_path: Path, fresh_store: Store) -> None:
    """The name labels the rows; a non-UTF-8 byte in it failed the store's insert."""
    import os

    name = os.fsdecode(b"lat\xff.csv")
    pd.DataFrame(
        {"space": ["nasbench201"], "arch": [GOOD], "device": ["d"], "latency_ms": [1.0]}
    ).to_csv(tmp_path / name, index=False)
    assert import_table(tmp_path / name, store=fresh_store).rows_imported == 1
    assert fresh_store.latency_records()[0].source == "lat\ufffd.csv"


def test_import_into_any_store(tmp_path: Path, any_store: Store) -> None:
    path = tmp_path / "t.csv"
    _frame(tmp_path).to_csv(path, index=False)
    report = import_table(path, store=any_store, source="unit")
    assert report.rows_read == 12 and report.rows_imported == 4
    assert report.problem_counts["duplicate"] == 1
    stored = any_store.latency_records()
    assert len(stored) == 4 and {r.source for r in stored} == {"unit"}
    again = import_table(path, store=any_store)  # re-import replaces, never duplicates
    assert again.rows_imported == 4 and len(any_store.latency_records()) == 4


def test_no_usable_rows_stores_nothing(tmp_path: Path, fresh_store: Store) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame(
        {"space": ["nasbench201"], "arch": ["bad"], "device": ["x"], "latency_ms": [1.0]}
    ).to_csv(path, index=False)
    with pytest.raises(DataError, match="no usable rows"):
        import_table(path, store=fresh_store)
    assert fresh_store.latency_records() == []


def test_cli_import(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    _frame(tmp_path).to_csv(path, index=False)
    res = CliRunner().invoke(app, ["data", "import", str(path), "--json"])
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["rows_imported"] == 4 and doc["rows_rejected"] == 8
    assert {p["reason"] for p in doc["problems"]} >= {"bad architecture", "duplicate"}
    assert len(Store().latency_records()) == 4
    res = CliRunner().invoke(app, ["data", "import", str(path)])
    assert res.exit_code == 0 and "rows left out" in res.stdout
    res = CliRunner().invoke(app, ["data", "import", str(tmp_path / "missing.csv")])
    assert res.exit_code == 2 and "not found" in res.stderr


def test_strict_refuses_the_whole_file(tmp_path: Path, fresh_store: Store) -> None:
    path = tmp_path / "t.csv"
    _frame(tmp_path).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"8 of 12 rows .* nothing imported") as err:
        import_table(path, store=fresh_store, strict=True)
    assert "first: line 3" in str(err.value)  # the duplicate of line 2
    assert fresh_store.latency_records() == []
    res = CliRunner().invoke(app, ["data", "import", str(path), "--strict"])
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1
    assert Store().latency_records() == []
    clean = tmp_path / "clean.csv"
    frame = _frame(tmp_path)
    frame.iloc[[0, 7]].to_csv(clean, index=False)  # lines 2 and 9: both usable
    assert import_table(clean, store=fresh_store, strict=True).rows_imported == 2


def test_two_copies_of_one_model_file_are_one_model(tmp_path: Path, fresh_store: Store) -> None:
    """A hunt found the store refusing the second copy with a crash (its key is the
    file's sha256, the table's was its path): the copy is now a reported duplicate."""
    first = tmp_path / "a.onnx"
    first.write_bytes(nasbench201(GOOD).SerializeToString())
    (tmp_path / "b.onnx").write_bytes(first.read_bytes())
    path = tmp_path / "copies.csv"
    pd.DataFrame(
        {"model": ["a.onnx", "b.onnx"], "device": ["phone", "phone"], "latency_ms": [1.5, 1.6]}
    ).to_csv(path, index=False)
    report = import_table(path, store=fresh_store)
    assert report.rows_imported == 1 and report.problem_counts == {"duplicate": 1}
    assert "sha256" in report.problems[0].detail and "line 2" in report.problems[0].detail
    assert [r.latency_ms for r in fresh_store.latency_records()] == [1.5]


def test_export_makes_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    _frame(tmp_path).to_csv(path, index=False)
    assert CliRunner().invoke(app, ["data", "import", str(path)]).exit_code == 0
    out = tmp_path / "new" / "folder" / "store.parquet"
    res = CliRunner().invoke(app, ["data", "export", str(out)])
    assert res.exit_code == 0, res.output
    assert len(LatencyTable.from_path(out).frame) == 4
