"""With no measurement, the gate uses a real trained predictor's 90% interval."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from edgewise.deploy import DOES_NOT_FIT, FITS, UNCERTAIN, gate, predicted_latency
from edgewise.store import Store

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


@pytest.fixture(scope="module")
def nb201_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An NB201 network as an ONNX file: a user's model the predictor has seen the like of."""
    import onnx

    from edgewise.graph.builders import nasbench201

    path = tmp_path_factory.mktemp("nb201") / "nb201.onnx"
    onnx.save(nasbench201(ARCH), str(path))
    return path


@pytest.fixture(scope="module")
def predictor_home(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small predictor trained on real NB201 rows of pixel3, at the default path."""
    from edgewise.data import LatencyTable
    from edgewise.predict import train_predictor

    frame = pd.read_csv(
        shared_data / "latency" / "help.csv.gz", usecols=["space", "arch", "device", "latency_ms"]
    )
    frame = frame[(frame["space"] == "nasbench201") & (frame["device"] == "pixel3")].head(200)
    home = tmp_path_factory.mktemp("home")
    out = home / "predictors" / "default.zip"
    train_predictor(
        LatencyTable.from_frame(frame.reset_index(drop=True)),
        out=out,
        params={"n_estimators": 20, "cv_folds": 3, "n_factors": 2},
    )
    return home


def test_gate_falls_back_to_the_predictor(
    predictor_home: Path,
    nb201_onnx: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_store: Store,
) -> None:
    monkeypatch.setenv("EDGEWISE_HOME", str(predictor_home))
    model = nb201_onnx
    est, lo, hi = predicted_latency(model, device="pixel3", percentile=99)  # type: ignore[misc]
    assert lo <= est <= hi and lo > 0
    fits = gate(model, device="pixel3", slo_ms=hi * 2, store=fresh_store)
    assert (
        fits.decision == FITS
        and fits.source == "predictor"
        and (fits.lo_ms, fits.hi_ms) == (lo, hi)
    )
    assert "not modelled" in fits.reason
    late = gate(model, device="pixel3", slo_ms=lo / 2, store=fresh_store)
    assert late.decision == DOES_NOT_FIT
    events = fresh_store.list_deployments(event="gate")
    assert [e.source for e in events] == ["predictor", "predictor"] and events[
        0
    ].predicted_hi_ms == hi
    assert predicted_latency(model, device="raspi4", percentile=99) is None  # not a trained device


def test_a_model_unlike_anything_trained_on_is_uncertain(
    predictor_home: Path,
    model_path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_store: Store,  # type: ignore[no-untyped-def]
) -> None:
    """cnn-small shares no kernel with NB201: no interval, so the gate cannot say fits."""
    from edgewise.predict import predict_model

    monkeypatch.setenv("EDGEWISE_HOME", str(predictor_home))
    pred = predict_model(str(model_path("cnn-small")), device="pixel3")
    assert pred.unseen_kernel_share == 1.0 and not pred.calibrated
    assert pred.interval90 == (0.0, float("inf"))
    result = gate(model_path("cnn-small"), device="pixel3", slo_ms=1e6, store=fresh_store)
    assert result.decision == UNCERTAIN and "no interval" in result.reason


def test_a_measured_gate_stores_the_prediction_beside_the_observation(
    predictor_home: Path,
    nb201_onnx: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_store: Store,
) -> None:
    """Measured on a device the predictor knows: observed_ms is the measurement, and
    predicted_ms the predictor's estimate (the pair the predictor learns from)."""
    from edgewise.profile import ProfileSettings, profile_model, save_result

    monkeypatch.setenv("EDGEWISE_HOME", str(predictor_home))
    model = nb201_onnx
    settings = ProfileSettings(
        duration_s=0.2, min_queries=100, warmup=5, threads=1, device_name="pixel3", operator_runs=0
    )
    save_result(profile_model(model, settings), fresh_store)
    result = gate(model, device="pixel3", slo_ms=1000.0, percentile=50, store=fresh_store)
    assert result.source == "measurement" and result.decision == FITS
    event = fresh_store.list_deployments(event="gate")[0]
    est, lo, hi = predicted_latency(model, device="pixel3", percentile=99)  # type: ignore[misc]
    assert event.observed_ms == result.estimate_ms
    assert (event.predicted_ms, event.predicted_lo_ms, event.predicted_hi_ms) == (est, lo, hi)
    assert event.detail["interval_ms"] == [result.lo_ms, result.hi_ms]


def test_a_dynamic_model_is_gated_with_its_shapes(
    predictor_home: Path, model_path, monkeypatch: pytest.MonkeyPatch, fresh_store: Store
) -> None:  # type: ignore[no-untyped-def]
    """gate told a dynamic model to "bind it with --shape", which it did not have."""
    from edgewise.errors import ShapeError

    monkeypatch.setenv("EDGEWISE_HOME", str(predictor_home))
    ocr = model_path("ocr-dynamic")
    with pytest.raises(ShapeError, match="--shape"):
        gate(ocr, device="pixel3", slo_ms=10.0, store=fresh_store)
    result = gate(ocr, device="pixel3", slo_ms=10.0, store=fresh_store, shapes={"width": (64,)})
    assert result.source == "predictor" and result.decision == UNCERTAIN  # unseen kernels
