"""`edgewise predictor evaluate|fewshot|train` and `edgewise predict` through CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgewise.cli import app
from edgewise.graph.builders import nasbench201

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    res = runner.invoke(app, list(args))
    return res.exit_code, res.stdout, res.stderr


@pytest.fixture(scope="module")
def trained(help_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "p.zip"
    code, stdout, stderr = run(
        "predictor",
        "train",
        "--data",
        str(help_csv),
        "--out",
        str(out),
        "--devices",
        "eyeriss,pixel3",
        "--n-estimators",
        "20",
        "--json",
    )
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert doc["devices"] == ["eyeriss", "pixel3"] and Path(doc["path"]) == out
    return out


def test_evaluate_json_fields(help_csv: Path) -> None:
    code, stdout, stderr = run(
        "predictor",
        "evaluate",
        "--data",
        str(help_csv),
        "--train-size",
        "100",
        "--seeds",
        "1",
        "--devices",
        "eyeriss",
        "--n-estimators",
        "20",
        "--json",
    )
    assert code == 0, stderr
    doc = json.loads(stdout)
    (dev,) = doc["devices"]
    assert set(dev) >= {
        "device",
        "n_train",
        "n_test",
        "acc5",
        "acc10",
        "rmse_ms",
        "mape",
        "spearman",
        "kendall",
        "coverage90",
        "width90_rel",
    }
    assert set(doc["summary"]) >= {"median_acc10", "mean_acc10", "mean_spearman", "mean_coverage90"}


def test_predict_arch_and_onnx_file_agree(trained: Path, tmp_path: Path) -> None:
    code, stdout, stderr = run(
        "predict",
        f"nasbench201:{ARCH}",
        "--device",
        "pixel3",
        "--predictor",
        str(trained),
        "--json",
    )
    assert code == 0, stderr
    by_arch = json.loads(stdout)
    lo, hi = by_arch["interval90"]
    assert lo < by_arch["latency_ms"] < hi and by_arch["output_connected"]
    onnx_path = tmp_path / "arch.onnx"
    onnx_path.write_bytes(nasbench201(ARCH).SerializeToString())
    code, stdout, _ = run(
        "predict", str(onnx_path), "--device", "pixel3", "--predictor", str(trained), "--json"
    )
    assert code == 0
    assert json.loads(stdout)["latency_ms"] == pytest.approx(by_arch["latency_ms"], rel=1e-9)
    code, stdout, _ = run(
        "predict", f"nasbench201:{ARCH}", "--device", "pixel3", "--predictor", str(trained)
    )
    assert code == 0 and "ms" in stdout and "90% interval" in stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--device", "pixle3"], "did you mean 'pixel3'"),
        (["--device", "pixel3", "--shape", "input"], "bad --shape"),
    ],
)
def test_predict_input_errors_exit_2(trained: Path, args: list[str], message: str) -> None:
    code, _, stderr = run("predict", f"nasbench201:{ARCH}", "--predictor", str(trained), *args)
    assert code == 2 and message in stderr and "Traceback" not in stderr


def test_predict_bad_model_and_missing_predictor(trained: Path, tmp_path: Path) -> None:
    code, _, stderr = run(
        "predict", "nasbench201:|bad|", "--device", "pixel3", "--predictor", str(trained)
    )
    assert code == 2 and "NAS-Bench-201" in stderr
    code, _, stderr = run("predict", f"nasbench201:{ARCH}", "--device", "pixel3")
    assert code == 2 and "predictor train" in stderr  # no default predictor yet
    code, _, stderr = run(
        "predict", str(tmp_path / "missing.onnx"), "--device", "pixel3", "--predictor", str(trained)
    )
    assert code == 2 and "not found" in stderr


def test_train_writes_the_default_file_and_predict_reads_it(help_csv: Path) -> None:
    code, stdout, stderr = run(
        "predictor",
        "train",
        "--data",
        str(help_csv),
        "--devices",
        "eyeriss",
        "--n-estimators",
        "10",
        "--max-per-device",
        "60",
    )
    assert code == 0, stderr
    assert "saved" in stdout and "default.zip" in stdout
    code, stdout, _ = run(
        "predict", f"fbnet:{'-'.join(['k3_e3'] * 22)}", "--device", "eyeriss", "--json"
    )
    assert code == 0 and json.loads(stdout)["unseen_kernel_share"] == 1.0


def test_fewshot_and_evaluate_errors(help_csv: Path, tmp_path: Path) -> None:
    code, _, stderr = run(
        "predictor",
        "fewshot",
        "--data",
        str(help_csv),
        "--target-device",
        "gold_6226",
        "--shots",
        "5",
        "--query",
        "nine-ten",
    )
    assert code == 2 and "bad --query" in stderr
    code, _, stderr = run(
        "predictor", "evaluate", "--data", str(tmp_path / "none.csv"), "--train-size", "10"
    )
    assert code == 2 and "not found" in stderr
    bad = tmp_path / "cols.csv"
    bad.write_text("a,b\n1,2\n")
    code, _, stderr = run("predictor", "train", "--data", str(bad))
    assert code == 2 and "needs columns" in stderr


def test_train_and_fewshot_on_one_training_model_exit_2(tmp_path: Path) -> None:
    # one (disconnected) architecture on every training device crashed both commands with
    # LightGBMError (exit 1): the shared factors trained a booster on one row
    none = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    table = tmp_path / "one.csv"
    table.write_text(
        f"space,arch,device,latency_ms\nnasbench201,{none},a,1.0\nnasbench201,{none},b,1.0\n"
    )
    code, _, stderr = run("predictor", "train", "--data", str(table), "--out", str(tmp_path / "p"))
    assert code == 2 and "at least two different models, got 1" in stderr
    assert len(stderr.strip().splitlines()) == 1 and not (tmp_path / "p").exists()
    ops = ("skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    target = [f"|{a}~0|+|{b}~0|{a}~1|+|{b}~0|{a}~1|{b}~2|" for a in ops for b in ops]
    with table.open("a") as f:
        f.writelines(f"nasbench201,{arch},c,{1 + i / 4}\n" for i, arch in enumerate(target))
    code, _, stderr = run(
        "predictor", "fewshot", "--data", str(table), "--target-device", "c", "--shots", "3"
    )
    assert code == 2 and "at least two different models, got 1" in stderr
    assert len(stderr.strip().splitlines()) == 1


@pytest.mark.filterwarnings("error::RuntimeWarning")  # pytest would swallow it otherwise
def test_a_one_model_test_set_has_no_rank_correlation_and_no_warning(help_csv: Path) -> None:
    """240 archs, 239 to train: Spearman is undefined (null), and NumPy's "Mean of empty
    slice" warning no longer reaches stderr."""
    code, stdout, stderr = run(
        "predictor",
        "evaluate",
        "--data",
        str(help_csv),
        "--train-size",
        "239",
        "--seeds",
        "1",
        "--devices",
        "eyeriss",
        "--n-estimators",
        "10",
        "--json",
    )
    assert code == 0 and "Warning" not in stderr, stderr
    doc = json.loads(stdout)
    assert doc["devices"][0]["n_test"] == 1 and doc["devices"][0]["spearman"] is None
    assert doc["summary"]["mean_spearman"] is None
