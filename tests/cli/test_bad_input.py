"""Bad input found by an audit of every command: one line on stderr, exit 2, nothing stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgewise.cli import app
from edgewise.shadow.gateway import parse_cpus
from edgewise.store import Store

CSV = "space,arch,device,latency_ms\n"


def _one_line_exit_2(args: list[str], needle: str) -> None:
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], lines


def test_a_store_file_that_is_not_a_database(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    bogus = tmp_path / "notes.db"
    bogus.write_text("not sqlite")
    monkeypatch.setenv("EDGEWISE_DB", f"sqlite:///{bogus}")
    _one_line_exit_2(["measurements", "list"], "is not a database")
    assert bogus.read_text() == "not sqlite"


def test_unwritable_or_folder_out_fails_before_any_work(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text(
        CSV + "nasbench201,|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|,d,1.0\n"
    )
    _one_line_exit_2(
        ["predictor", "train", "--data", str(table), "--out", str(tmp_path)], "is a folder"
    )
    blocker = tmp_path / "file"
    blocker.write_text("")
    _one_line_exit_2(
        ["demo", "--duration", "0.1", "--out", str(blocker / "sub" / "r.html")], "cannot write"
    )
    _one_line_exit_2(["demo", "--duration", "nan"], "--duration")
    assert Store().list_measurements() == []  # the demo did not run


def test_huge_ids_and_reversed_cpu_ranges() -> None:
    _one_line_exit_2(["measurements", "show", "99999999999999999999999"], "measurement_id")
    _one_line_exit_2(["shadow", "serve"], "give production")
    with pytest.raises(ValueError, match="backwards"):
        parse_cpus("1-0")
