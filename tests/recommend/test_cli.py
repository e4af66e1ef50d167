"""``edgewise catalog`` and ``edgewise recommend`` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgewise.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    "argv",
    [
        ["catalog", "import", "--help"],
        ["catalog", "list", "--help"],
        ["catalog", "show", "--help"],
        ["recommend", "--help"],
        ["serve", "--help"],
    ],
)
def test_help(argv: list[str]) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code == 0 and "--json" in result.output


@pytest.fixture
def tiny_catalog(shared_data: Path) -> None:
    result = runner.invoke(
        app,
        ["catalog", "import", "--data-dir", str(shared_data), "--source", "mlperf_tiny", "--json"],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["sources"][0]["origin"] == "mlperf_tiny" and doc["results"] > 0


def test_catalog_list_and_show(tiny_catalog: None) -> None:
    chips = json.loads(runner.invoke(app, ["catalog", "list", "--json"]).stdout)
    assert chips and all(c["results"] > 0 for c in chips)
    mcus = json.loads(runner.invoke(app, ["catalog", "list", "--kind", "mcu", "--json"]).stdout)
    assert mcus and all(c["kind"] == "mcu" for c in mcus)
    upper = runner.invoke(app, ["catalog", "list", "--kind", "MCU", "--json"])
    assert upper.exit_code == 0 and json.loads(upper.stdout) == mcus
    shown = runner.invoke(app, ["catalog", "show", "cortex-m0+", "--json"])
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.stdout)
    assert doc["name"] == "32-bit Arm Cortex-M0+" and doc["latency"]
    human = runner.invoke(app, ["catalog", "show", "32-bit Arm Cortex-M0+"])
    assert human.exit_code == 0 and "latency figures" in human.output


def test_recommend_json_and_exit_codes(tiny_catalog: None) -> None:
    ok = runner.invoke(app, ["recommend", "keyword_spotting", "--slo-ms", "100", "--json"])
    assert ok.exit_code == 0, ok.output
    doc = json.loads(ok.stdout)
    assert doc["fits"] and doc["best"]["chip"] and doc["percentile"] == 50
    assert {o["source"] for o in doc["ranked"]} <= {"measured", "predicted"}
    human = runner.invoke(app, ["recommend", "keyword_spotting", "--slo-ms", "100"])
    assert human.exit_code == 0 and "best:" in human.output
    # nothing fits: exit 2, the answer still printed, a one-line error
    none = runner.invoke(app, ["recommend", "keyword_spotting", "--slo-ms", "0.0001", "--json"])
    assert none.exit_code == 2
    assert json.loads(none.stdout)["nearest_misses"]
    assert "no chip fits" in none.stderr and len(none.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["recommend", "keyword_spoting", "--slo-ms", "5"], "did you mean 'keyword_spotting'"),
        (
            ["recommend", "keyword_spotting", "--slo-ms", "5", "--percentile", "99"],
            "available percentiles",
        ),
        (
            ["recommend", "keyword_spotting", "--slo-ms", "5", "--chips", "cortex-m99"],
            "unknown chip",
        ),
        (["catalog", "show", "nonexistent-chip"], "unknown chip"),
        (["recommend", "missing.onnx", "--slo-ms", "5"], "model file not found"),
    ],
)
def test_bad_input_is_one_line_exit_2(tiny_catalog: None, argv: list[str], message: str) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_empty_catalog_and_bad_data_dir(tmp_path: Path) -> None:
    empty = runner.invoke(app, ["recommend", "resnet50", "--slo-ms", "1"])
    assert empty.exit_code == 2 and "catalog import" in empty.stderr
    bad = runner.invoke(app, ["catalog", "import", "--data-dir", str(tmp_path / "nope")])
    assert bad.exit_code == 2 and "not found" in bad.stderr


def test_a_dynamic_model_takes_shape(tiny_catalog: None, model_path) -> None:  # type: ignore[no-untyped-def]
    """recommend told a dynamic model to "bind it with --shape", which it did not have."""
    from edgewise.recommend._model_features import model_features

    ocr = model_path("ocr-dynamic")
    res = runner.invoke(app, ["recommend", str(ocr), "--slo-ms", "1000"])
    assert res.exit_code == 2 and "--shape" in res.stderr
    # bound, it gets past the graph (this catalog has nothing that ran such a model)
    res = runner.invoke(app, ["recommend", str(ocr), "--slo-ms", "1000", "--shape", "width=64"])
    assert res.exit_code == 2 and "--shape" not in res.stderr and "onnx:" in res.stderr
    small, big = (model_features(ocr, shapes={"width": (w,)}).macs for w in (64, 256))
    assert big > 3 * small
