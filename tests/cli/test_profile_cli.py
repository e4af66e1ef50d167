"""The CLI over the profiler: JSON interface, the store, and every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgewise.cli import app
from edgewise.store import Store
from tests.runtime.test_models import bad_models

runner = CliRunner()
FAST = ["--duration", "0.3", "--min-queries", "64", "--warmup", "3", "--threads", "1"]


def _store_is_empty() -> bool:
    store = Store()
    return not store.list_measurements() and not store.list_models() and not store.list_devices()


def test_profile_json_and_store(model_path) -> None:
    res = runner.invoke(app, ["profile", str(model_path("cnn-small")), *FAST, "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["valid"] is True and doc["measurement_id"] == 1
    assert doc["latency_ms"]["ci95"]["p99"][0] <= doc["latency_ms"]["p99"]
    listed = json.loads(runner.invoke(app, ["measurements", "list", "--json"]).stdout)
    assert [m["measurement_id"] for m in listed] == [1]
    assert listed[0]["latency_ms"]["p50"] == doc["latency_ms"]["p50"]
    shown = json.loads(runner.invoke(app, ["measurements", "show", "1", "--json"]).stdout)
    assert len(shown["latencies_ms"]) == doc["queries"]
    assert "Result is : VALID" in shown["loadgen_summary"]
    human = runner.invoke(app, ["measurements", "show", "1"])
    assert human.exit_code == 0 and "cnn-small" in human.stdout


def test_no_save_and_human_output(model_path) -> None:
    res = runner.invoke(app, ["profile", str(model_path("mlp-tiny")), *FAST, "--no-save"])
    assert res.exit_code == 0, res.output
    assert "latency (ms)" in res.stdout and "p99.9" in res.stdout
    assert _store_is_empty()


def test_shape_option_on_a_dynamic_model(model_path) -> None:
    res = runner.invoke(
        app,
        [
            "profile",
            str(model_path("ocr-dynamic")),
            *FAST,
            "--no-save",
            "--shape",
            "line=1x1x32x128",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["settings"]["shapes"] == {"line": [1, 1, 32, 128]}


def test_inputs_option(model_path, tmp_path: Path) -> None:
    np.savez(tmp_path / "in.npz", x=np.ones((1, 256), np.float32))
    res = runner.invoke(
        app,
        [
            "profile",
            str(model_path("mlp-tiny")),
            *FAST,
            "--no-save",
            "--inputs",
            str(tmp_path / "in.npz"),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output


def _huge_and_broken(tmp_path: Path) -> tuple[Path, Path]:
    """A model whose fixed input is 4 TB, and one whose Reshape cannot run."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def write(name: str, x_shape: list[int], y_shape: list[int], target: list[int]) -> Path:
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)
        shape = numpy_helper.from_array(np.array(target, dtype=np.int64), "s")
        graph = helper.make_graph(
            [helper.make_node("Reshape", ["x", "s"], ["y"])], "g", [x], [y], [shape]
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
        onnx.save(model, tmp_path / name)
        return tmp_path / name

    big = [100_000, 100_000, 100]
    return write("huge.onnx", big, [-1], [-1]), write("broken.onnx", [1, 4], [5, 5], [5, 5])


def _string_model(tmp_path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("s", TensorProto.STRING, [1, 3])
    y = helper.make_tensor_value_info("y", TensorProto.STRING, [1, 3])
    graph = helper.make_graph([helper.make_node("Identity", ["s"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, tmp_path / "text.onnx")
    return tmp_path / "text.onnx"


def _bad_cli_cases(tmp_path: Path, model_path) -> dict[str, tuple[list[str], str]]:
    cases = {
        label: ([str(path)], msg)
        for label, (path, msg) in bad_models(tmp_path, model_path("cnn-small")).items()
    }
    ocr, mlp, multi = (str(model_path(n)) for n in ("ocr-dynamic", "mlp-tiny", "multi-input"))
    np.savez(tmp_path / "wrong_name.npz", y=np.ones((1, 256), np.float32))
    np.savez(tmp_path / "wrong_rank.npz", x=np.ones((256,), np.float32))
    np.savez(tmp_path / "wrong_dtype.npz", x=np.ones((1, 256), np.float64))
    np.save(tmp_path / "plain.npy", np.ones((1, 256), np.float32))
    huge, broken = _huge_and_broken(tmp_path)
    text = _string_model(tmp_path)
    np.savez(tmp_path / "text.npz", s=np.array([["a", "b", "c"]]))
    cases |= {
        # the bracketed shape is printed as text, not swallowed as rich markup
        "unset dynamic dim": ([ocr], r"\[batch,1,32,width\] has unset dynamic dimension"),
        "shape unknown name": ([ocr, "--shape", "img=1x1x32x64"], "unknown input 'img'"),
        "shape wrong rank": ([ocr, "--shape", "line=1x32x64"], "rank 3"),
        "shape fixed dim": ([multi, "--shape", "gate=1x9"], "fixed to 8"),
        "inputs wrong name": ([mlp, "--inputs", str(tmp_path / "wrong_name.npz")], "unknown input"),
        "inputs wrong rank": ([mlp, "--inputs", str(tmp_path / "wrong_rank.npz")], "rank 1"),
        "inputs wrong dtype": (
            [mlp, "--inputs", str(tmp_path / "wrong_dtype.npz")],
            "dtype float64",
        ),
        "inputs missing file": ([mlp, "--inputs", str(tmp_path / "none.npz")], "not found"),
        # found by a hunt: tracebacks (exit 1) before
        "inputs a .npy": ([mlp, "--inputs", str(tmp_path / "plain.npy")], "single array"),
        "inputs and shape": (
            [ocr, "--inputs", str(tmp_path / "wrong_name.npz"), "--shape", "line=1x1x32x64"],
            "drop --shape",
        ),
        "fixed dims of TiBs": ([str(huge)], "1,000,000,000,000 elements"),
        "runs into an error": ([str(broken)], "loads but cannot run"),
        # it said "pass values with --inputs", which then could not work either
        "string input": ([str(text)], "is a string tensor"),
        "string input from a file": (
            [str(text), "--inputs", str(tmp_path / "text.npz")],
            "is a string tensor",
        ),
        "server latency bound": (
            [mlp, "--scenario", "server", "--latency-bound-ms", "0.000001"],
            "impossible server target",
        ),
        "server qps": (
            [mlp, "--scenario", "server", "--target-qps", "1e9"],
            "impossible server target",
        ),
        "server negative qps": (
            [mlp, "--scenario", "server", "--target-qps", "-1"],
            "impossible server target",
        ),
        "qps without server": ([mlp, "--target-qps", "10"], "only applies to --scenario server"),
        "unknown backend": ([mlp, "--backend", "tensorrt"], "unknown backend"),
    }
    return cases


def test_every_bad_input_exits_2_with_one_line_and_stores_nothing(
    tmp_path: Path, model_path
) -> None:
    for label, (args, message) in _bad_cli_cases(tmp_path, model_path).items():
        res = runner.invoke(app, ["profile", *args, *FAST])
        assert res.exit_code == 2, f"{label}: exit {res.exit_code}: {res.output}"
        err = res.stderr.strip()
        assert len(err.splitlines()) == 1, f"{label}: {err!r}"
        assert "Traceback" not in res.output
        assert __import__("re").search(message, err), f"{label}: {err!r}"
        assert _store_is_empty(), label


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://nobody@127.0.0.1:1/nothing", "mysql://x", "sqlite:////proc/nope/x.db"],
)
def test_unreachable_store_exits_2_before_measuring(url: str, model_path, monkeypatch) -> None:
    monkeypatch.setenv("EDGEWISE_DB", url)
    res = runner.invoke(app, ["profile", str(model_path("mlp-tiny")), *FAST])
    assert res.exit_code == 2, res.output
    assert len(res.stderr.strip().splitlines()) == 1 and "store" in res.stderr


def test_unknown_measurement_id() -> None:
    res = runner.invoke(app, ["measurements", "show", "42"])
    assert res.exit_code == 2 and "unknown measurement '42'" in res.stderr
