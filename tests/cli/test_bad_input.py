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
    # the profiler's limit, before the demo builds anything or prints a step
    res = CliRunner().invoke(app, ["demo", "--duration", "1e9"])
    assert res.exit_code == 2 and "up to" in res.stderr and "profiling" not in res.output
    assert Store().list_measurements() == []  # the demo did not run


def test_huge_ids_and_reversed_cpu_ranges() -> None:
    _one_line_exit_2(["measurements", "show", "99999999999999999999999"], "measurement_id")
    _one_line_exit_2(["shadow", "serve"], "give production")
    huge = str(2**63)  # overflowed SQLite's integer (a traceback) before
    for verb in (["measurements", "list"], ["deployments", "list"], ["shadow", "runs"]):
        res = CliRunner().invoke(app, [*verb, "--limit", huge])
        assert res.exit_code == 2 and "--limit" in res.output, (verb, res.output)
    with pytest.raises(ValueError, match="backwards"):
        parse_cpus("1-0")


def test_a_model_prefix_is_not_a_pattern(model_path) -> None:  # type: ignore[no-untyped-def]
    """``--model _`` or ``%`` matched every row (the prefix went into SQL LIKE as is)."""
    from edgewise.profile import ProfileSettings, profile_model, save_result

    fast = ProfileSettings(duration_s=0.2, min_queries=20, warmup=1, operator_runs=0)
    with Store() as store:
        result = save_result(profile_model(model_path("mlp-tiny"), fast), store)
    sha = result.model.sha256
    for prefix, n in ((sha[:6], 1), ("_", 0), ("%", 0), (sha[:3] + "%", 0)):
        res = CliRunner().invoke(app, ["measurements", "list", "--model", prefix, "--json"])
        assert res.exit_code == 0 and len(__import__("json").loads(res.stdout)) == n, prefix


def test_stored_names_that_look_like_markup_print_as_text(model_path) -> None:  # type: ignore[no-untyped-def]
    """A device called "[/d]" saved its measurement, then crashed every listing that
    showed it (rich read the name as a closing tag)."""
    from edgewise.profile import ProfileSettings, profile_model, save_result

    model = model_path("mlp-tiny")
    fast = ProfileSettings(
        duration_s=0.2, min_queries=20, warmup=1, operator_runs=0, device_name="[/d]"
    )
    with Store() as store:
        save_result(profile_model(model, fast), store)
    for args in (
        ["measurements", "list"],
        ["measurements", "show", "1"],
        ["gate", str(model), "--device", "[/d]", "--slo-ms", "1000"],
        ["deployments", "list"],
    ):
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 0, (args, res.output)
        assert "[/d]" in res.stdout or args[0] == "gate", args  # the gate names no device
