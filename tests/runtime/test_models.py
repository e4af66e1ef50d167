"""The one model-loading path on real-world-shaped models, and its bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from edgewise.errors import ConfigError, ModelError, ShapeError, UnknownNameError
from edgewise.runtime import (
    BackendConfig,
    load_model_info,
    load_npz,
    open_backend,
    parse_shape_overrides,
    resolve_shapes,
    synthesize,
)
from edgewise.zoo import EXAMPLES

RUNNABLE = [n for n in EXAMPLES if n != "ocr-dynamic"]


@pytest.mark.parametrize("name", RUNNABLE)
def test_every_example_runs_on_synthesised_inputs(name: str, model_path) -> None:
    info = load_model_info(model_path(name))
    assert len(info.sha256) == 64 and info.size_bytes > 0
    backend = open_backend(info, config=BackendConfig(threads=1))
    shapes = resolve_shapes(info.inputs)
    backend.prepare(shapes)
    feeds = synthesize(
        info.inputs, shapes, rng=np.random.default_rng(0), int_high=backend.int_input_bounds()
    )
    outputs = backend.run(feeds)
    assert len(outputs) == len(info.outputs)
    io_in, compute, io_out = backend.timed_run(feeds)
    assert compute > 0 and io_in >= 0 and io_out >= 0
    io_in, compute, io_out = backend.sample_runner(feeds)()
    assert compute > 0 and io_in >= 0 and io_out >= 0


def test_a_sample_runner_runs_its_own_sample_after_the_caller_lets_go(model_path) -> None:
    """The runner wraps the sample's memory once; it must keep that memory alive and bound."""
    import gc

    info = load_model_info(model_path("mlp-tiny"))
    backend = open_backend(info, config=BackendConfig(threads=1))
    feeds = synthesize(info.inputs, resolve_shapes(info.inputs), rng=np.random.default_rng(1))
    expected = backend.run(feeds)
    runner = backend.sample_runner({k: v.copy() for k, v in feeds.items()})
    other = backend.sample_runner({k: -v for k, v in feeds.items()})
    gc.collect()
    for _ in range(3):
        other()
        runner()
        got = backend._binding().copy_outputs_to_cpu()
        np.testing.assert_allclose(got[0], expected[0], rtol=1e-6)


def test_signatures_cover_the_hard_cases(model_path) -> None:
    dtypes = {s.name: s.dtype for s in load_model_info(model_path("multi-input")).inputs}
    assert dtypes == {"tokens": "int64", "features": "float32", "gate": "float32"}
    assert load_model_info(model_path("float16")).inputs[0].dtype == "float16"
    assert load_model_info(model_path("quantized")).inputs[0].dtype == "uint8"
    assert load_model_info(model_path("if-branch")).inputs[0].dtype == "bool"
    gru = load_model_info(model_path("gru-stateful"))
    assert {s.name for s in gru.inputs} == {"audio", "state"}
    assert load_model_info(model_path("fc-tflite")).format == "tflite"


def test_token_ids_stay_inside_the_vocabulary(model_path) -> None:
    info = load_model_info(model_path("multi-input"))
    backend = open_backend(info)
    assert backend.int_input_bounds() == {"tokens": 100}
    feeds = synthesize(
        info.inputs,
        resolve_shapes(info.inputs),
        rng=np.random.default_rng(0),
        int_high=backend.int_input_bounds(),
    )
    assert feeds["tokens"].max() < 100


def test_state_can_be_fed_back(model_path) -> None:
    info = load_model_info(model_path("gru-stateful"))
    backend = open_backend(info)
    feeds = synthesize(info.inputs, resolve_shapes(info.inputs), rng=np.random.default_rng(0))
    _, state = backend.run(feeds)
    _, state2 = backend.run({**feeds, "state": state})
    assert state2.shape == state.shape and not np.allclose(state, state2)


def test_dynamic_width_needs_a_shape_and_says_which(model_path) -> None:
    info = load_model_info(model_path("ocr-dynamic"))
    with pytest.raises(ShapeError, match=r"line.*dynamic dimension\(s\) 0 \(batch\), 3 \(width\)"):
        resolve_shapes(info.inputs)
    backend = open_backend(info)
    for width in (64, 160):
        shapes = resolve_shapes(info.inputs, parse_shape_overrides([f"line=1x1x32x{width}"]))
        out = backend.run(synthesize(info.inputs, shapes, rng=np.random.default_rng(0)))
        assert out[0].shape == (1, width, 37)
    by_symbol = resolve_shapes(info.inputs, parse_shape_overrides(["batch=2", "width=100"]))
    assert by_symbol == {"line": (2, 1, 32, 100)}


@pytest.mark.parametrize(
    "items, message",
    [
        (["line"], "expected NAME="),
        (["line=1xAx3"], "integers"),
        (["line=1x0x32x8"], "positive"),
        (["nope=1x1x32x8"], "unknown input 'nope'"),
        (["line=1x32x8"], "rank 3"),
        (["line=1x3x32x8"], "dimension 1 is fixed to 1"),
        (["line=1x1x32x8", "line=1x1x32x9"], "given twice"),
        (["line=1x1x1000000000000x8"], "elements is more than"),
    ],
)
def test_bad_shapes(items: list[str], message: str, model_path) -> None:
    info = load_model_info(model_path("ocr-dynamic"))
    with pytest.raises(ShapeError, match=message):
        resolve_shapes(info.inputs, parse_shape_overrides(items))


def test_npz_inputs(tmp_path: Path, model_path) -> None:
    info = load_model_info(model_path("multi-input"))
    good = {
        "tokens": np.zeros((1, 12), np.int64),
        "features": np.ones((1, 16), np.float32),
        "gate": np.ones((1, 8), np.float32),
    }
    np.savez(tmp_path / "good.npz", **good)
    assert set(load_npz(tmp_path / "good.npz", info.inputs)) == set(good)
    cases = {
        "name": ({**good, "extra": good["gate"]}, "unknown input"),
        "missing": ({k: v for k, v in good.items() if k != "gate"}, "missing input"),
        "rank": ({**good, "gate": np.ones((8,), np.float32)}, "rank 1"),
        "dim": ({**good, "gate": np.ones((1, 9), np.float32)}, "dimension 1 must be 8"),
        "dtype": ({**good, "tokens": np.zeros((1, 12), np.int32)}, "dtype int32"),
    }
    for label, (arrays, message) in cases.items():
        np.savez(tmp_path / f"{label}.npz", **arrays)
        with pytest.raises(ShapeError, match=message):
            load_npz(tmp_path / f"{label}.npz", info.inputs)
    (tmp_path / "junk.npz").write_text("junk")
    with pytest.raises(ShapeError, match="not a readable"):
        load_npz(tmp_path / "junk.npz", info.inputs)


def _write(path: Path, model: onnx.ModelProto) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


def bad_models(tmp_path: Path, good: Path) -> dict[str, tuple[Path, str]]:
    """Bad model files, each with the message it must produce."""
    (tmp_path / "notes.txt").write_text("hello, I am not a model")
    (tmp_path / "random.onnx").write_bytes(bytes(range(256)) * 4)
    data = good.read_bytes()
    (tmp_path / "truncated.onnx").write_bytes(data[: len(data) // 3])
    (tmp_path / "empty.onnx").write_bytes(b"")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    future = helper.make_model(
        helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y]),
        opset_imports=[helper.make_opsetid("", 99)],
    )
    unknown_op = helper.make_model(
        helper.make_graph([helper.make_node("FrobnicateTensor", ["x"], ["y"])], "g", [x], [y]),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    custom_op = helper.make_model(
        helper.make_graph(
            [helper.make_node("Frob", ["x"], ["y"], domain="com.example")], "g", [x], [y]
        ),
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)],
    )
    (tmp_path / "tflite_junk.tflite").write_bytes(b"\x00\x00\x00\x00TFL3" + b"\x00" * 32)
    return {
        "missing": (tmp_path / "missing.onnx", "not found"),
        "not a model": (tmp_path / "notes.txt", "not a model"),
        "random bytes": (tmp_path / "random.onnx", "not a valid ONNX model"),
        "truncated": (tmp_path / "truncated.onnx", "not a valid ONNX model|invalid ONNX model"),
        "empty": (tmp_path / "empty.onnx", "empty file"),
        "future opset": (_write(tmp_path / "future.onnx", future), "unsupported opset 99"),
        "unknown op": (_write(tmp_path / "unknown_op.onnx", unknown_op), "FrobnicateTensor"),
        "custom op": (_write(tmp_path / "custom.onnx", custom_op), "cannot load this model"),
        "bad tflite": (tmp_path / "tflite_junk.tflite", "not a valid TFLite model"),
    }


def test_bad_models_raise_model_errors(tmp_path: Path, model_path) -> None:
    for label, (path, message) in bad_models(tmp_path, model_path("cnn-small")).items():
        with pytest.raises(ModelError, match=message):
            info = load_model_info(path)
            open_backend(info)
        assert label  # every case raised


def test_backend_choice_is_checked(model_path) -> None:
    info = load_model_info(model_path("mlp-tiny"))
    with pytest.raises(UnknownNameError, match="did you mean 'onnxruntime'"):
        open_backend(info, backend="onnxruntim")
    with pytest.raises(ConfigError, match="cannot run"):
        open_backend(info, backend="litert")
    with pytest.raises(UnknownNameError, match="execution provider"):
        open_backend(info, config=BackendConfig(providers=("NoSuchAccelerator",)))


def test_operator_profile_sums_to_one(model_path) -> None:
    info = load_model_info(model_path("cnn-small"))
    backend = open_backend(info, config=BackendConfig(threads=1))
    feeds = synthesize(info.inputs, resolve_shapes(info.inputs), rng=np.random.default_rng(0))
    ops = backend.profile_operators(feeds, runs=3)
    assert ops and sum(o.share for o in ops) == pytest.approx(1.0)
    assert ops[0].op_type == "Conv" and ops == sorted(ops, key=lambda o: -o.total_ms)
