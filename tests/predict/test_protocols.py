"""The evaluate and few-shot protocols on a real slice, and their input errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewise.data import LatencyTable
from edgewise.errors import ConfigError, DataError, UnknownNameError
from edgewise.predict import evaluate, fewshot, regression_metrics
from edgewise.predict._fewshot import parse_range


@pytest.fixture(scope="module")
def table(help_csv: Path) -> LatencyTable:
    return LatencyTable.from_path(help_csv)


def test_evaluate_reports_every_field(table: LatencyTable, tiny: dict) -> None:
    report = evaluate(
        table, train_size=120, seeds=1, devices=["eyeriss", "titan_rtx_1"], params=tiny
    )
    doc = report.to_dict()
    assert [d["device"] for d in doc["devices"]] == ["eyeriss", "titan_rtx_1"]
    for d in doc["devices"]:
        assert d["n_train"] == 120 and d["n_test"] == 120
        for key in (
            "acc5",
            "acc10",
            "rmse_ms",
            "mape",
            "spearman",
            "kendall",
            "coverage90",
            "width90_rel",
        ):
            assert np.isfinite(d[key])
        assert d["acc5"] <= d["acc10"]
    assert set(doc["summary"]) >= {"median_acc10", "mean_acc10", "mean_spearman", "mean_coverage90"}
    assert doc["devices"][0]["acc10"] > 0.9  # eyeriss


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"train_size": 1}, ConfigError, "--train-size"),
        ({"train_size": 240}, ConfigError, "--train-size"),
        ({"train_size": 10, "seeds": 0}, ConfigError, "--seeds"),
        ({"train_size": 10, "devices": ["pixle3"]}, UnknownNameError, "did you mean"),
        ({"train_size": 10, "space": "ofa"}, UnknownNameError, "unknown space"),
    ],
)
def test_evaluate_bad_options(
    table: LatencyTable, kwargs: dict, error: type, match: str, tiny: dict
) -> None:
    with pytest.raises(error, match=match):
        evaluate(table, params=tiny, **kwargs)


def test_fewshot_protocol(table: LatencyTable, tiny: dict) -> None:
    report = fewshot(
        table,
        target_device="gold_6226",
        shots=10,
        seeds=1,
        query=(100, 239),
        params=tiny,
        max_train_models=150,
    )
    assert report.measurements_used == 10
    assert report.train_devices == ["eyeriss", "pixel3", "titan_rtx_1"]
    assert 80 <= report.n_query <= 120  # 140 query models trimmed to the 10th-90th percentile
    assert report.n_train_models <= 150
    assert -1 <= report.spearman_mean <= 1 and 0 <= report.coverage90_mean <= 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"target_device": "nope", "shots": 5}, UnknownNameError, "unknown device"),
        ({"target_device": "gold_6226", "shots": 0}, ConfigError, "--shots"),
        ({"target_device": "gold_6226", "shots": 500}, DataError, "shots"),
        ({"target_device": "gold_6226", "shots": 5, "query": (5000, 6000)}, DataError, "query"),
    ],
)
def test_fewshot_bad_options(
    table: LatencyTable, kwargs: dict, error: type, match: str, tiny: dict
) -> None:
    with pytest.raises(error, match=match):
        fewshot(table, params=tiny, seeds=1, **kwargs)


def test_parse_range() -> None:
    assert parse_range("900-1899") == (900, 1899)
    for bad in ("x", "9-1", "-3"):
        with pytest.raises(ConfigError):
            parse_range(bad)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(min_value=0.1, max_value=100), min_size=3, max_size=40),
    st.floats(min_value=0.5, max_value=2.0),
)
def test_metrics_properties(ys: list[float], scale: float) -> None:
    y = np.array(ys)
    perfect = regression_metrics(y, y)
    assert perfect["acc5"] == perfect["acc10"] == 1.0 and perfect["rmse_ms"] == 0
    scaled = regression_metrics(y, y * scale)
    assert scaled["acc10"] == (1.0 if abs(scale - 1) <= 0.1 + 1e-9 else 0.0)
    assert scaled["acc5"] <= scaled["acc10"]
    assert np.isclose(scaled["mape"], 100 * abs(scale - 1))
    inside = regression_metrics(y, y, np.column_stack([y * 0.9, y * 1.1]))
    assert inside["coverage90"] == 1.0 and np.isclose(inside["width90_rel"], 0.2)


def test_multi_space_table_needs_a_space(help_nb201: pd.DataFrame, tiny: dict) -> None:
    two = pd.concat(
        [
            help_nb201.iloc[:30],
            pd.DataFrame(
                {
                    "space": ["fbnet"] * 3,
                    "arch": ["-".join(["k3_e1"] * 22)] * 3,
                    "device": ["eyeriss", "pixel3", "gold_6226"],
                    "latency_ms": [1.0, 2.0, 3.0],
                }
            ),
        ]
    )
    with pytest.raises(ConfigError, match="pick one with --space"):
        evaluate(LatencyTable.from_frame(two), train_size=10, params=tiny)


def test_fewshot_design_shots_do_not_depend_on_target_latencies(
    table: LatencyTable, tiny: dict
) -> None:
    """The designed shots come from the training devices only: scrambling the target's
    latencies leaves the chosen models (and so the measurement count) unchanged."""
    import dataclasses

    kwargs = {"target_device": "gold_6226", "shots": 6, "seeds": 1, "query": (100, 239)}
    a = fewshot(table, params=tiny, max_train_models=150, **kwargs)
    frame = table.frame.copy()
    tgt = frame["device"] == "gold_6226"
    rng = np.random.default_rng(0)
    frame.loc[tgt, "latency_ms"] = rng.permutation(frame.loc[tgt, "latency_ms"].to_numpy())
    b = fewshot(
        dataclasses.replace(table, frame=frame), params=tiny, max_train_models=150, **kwargs
    )
    assert a.shot_selection == b.shot_selection == "design"
    assert a.measurements_used == b.measurements_used == 6
    assert a.per_seed[0]["shot_models"] == b.per_seed[0]["shot_models"]


def test_fewshot_random_shot_selection(table: LatencyTable, tiny: dict) -> None:
    report = fewshot(
        table,
        target_device="gold_6226",
        shots=5,
        seeds=1,
        query=(100, 239),
        params=tiny,
        max_train_models=150,
        shot_selection="random",
    )
    assert report.shot_selection == "random" and report.measurements_used == 5
    with pytest.raises(ConfigError, match="shot_selection"):
        fewshot(table, target_device="gold_6226", shots=5, params=tiny, shot_selection="best")
