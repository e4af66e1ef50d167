"""The LatencyPredictor contract: sklearn API, errors, intervals, disconnected graphs."""

from __future__ import annotations

import copy
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from edgewise.errors import ConfigError, DataError, NotFittedError, UnknownNameError
from edgewise.predict import LatencyPredictor, regression_metrics

DISCONNECTED = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|none~0|none~1|none~2|"


@pytest.fixture(scope="module")
def split(help_nb201: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    train = help_nb201[help_nb201["arch_idx"] < 160]
    test = help_nb201[help_nb201["arch_idx"] >= 160]
    return train, test


@pytest.fixture(scope="module")
def fitted(split: tuple[pd.DataFrame, pd.DataFrame], xy, tiny) -> LatencyPredictor:  # type: ignore[no-untyped-def]
    x, y = xy(split[0])
    return LatencyPredictor(**tiny).fit(x, y)


def test_init_only_stores_params_and_clone_round_trips() -> None:
    est = LatencyPredictor(n_estimators=7, share=False)
    params = est.get_params()
    assert params["n_estimators"] == 7 and params["share"] is False
    assert not [k for k in vars(est) if k.endswith("_")]
    twin = clone(est).set_params(n_estimators=9)
    assert twin.get_params()["n_estimators"] == 9 and est.n_estimators == 7


def test_predict_before_fit_raises_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        LatencyPredictor().predict([("nasbench201:" + DISCONNECTED, "pixel3")])


def test_fit_returns_self_and_learned_attributes_end_in_underscore(
    fitted: LatencyPredictor,
) -> None:
    learned = [k for k in vars(fitted) if k.endswith("_")]
    assert {"devices_", "device_models_", "feature_mask_", "vocab_", "shared_"} <= set(learned)
    assert fitted.devices == sorted(["eyeriss", "gold_6226", "pixel3", "titan_rtx_1"])


def test_predictions_are_accurate_on_unseen_architectures(
    fitted: LatencyPredictor,
    split: tuple[pd.DataFrame, pd.DataFrame],
    xy,  # type: ignore[no-untyped-def]
) -> None:
    test = split[1]
    x, y = xy(test)
    pred = fitted.predict(x)
    interval = fitted.predict_interval(x, alpha=0.1)
    assert np.all(np.isfinite(pred)) and np.all(pred > 0)
    assert np.all(interval[:, 0] <= pred) and np.all(pred <= interval[:, 1])
    dev = x["device"].to_numpy()
    eyeriss = regression_metrics(
        y[dev == "eyeriss"].to_numpy(), pred[dev == "eyeriss"], interval[dev == "eyeriss"]
    )
    # eyeriss is a deterministic simulator: 160 training graphs are plenty
    assert eyeriss["acc10"] >= 0.9 and eyeriss["spearman"] >= 0.95
    overall = np.mean((interval[:, 0] <= y) & (y <= interval[:, 1]))
    assert 0.75 <= overall <= 1.0
    assert fitted.score(x, y) > 0.5  # RegressorMixin's R^2 works


def test_wider_alpha_gives_narrower_intervals(fitted: LatencyPredictor) -> None:
    x = [("nasbench201:" + DISCONNECTED.replace("none~2", "skip_connect~2"), "titan_rtx_1")]
    wide, narrow = fitted.predict_interval(x, alpha=0.05), fitted.predict_interval(x, alpha=0.5)
    assert wide[0, 0] <= narrow[0, 0] and narrow[0, 1] <= wide[0, 1]


def test_disconnected_graphs_are_handled_per_device(fitted: LatencyPredictor) -> None:
    modes = {d: m.disconnected for d, m in fitted.device_models_.items()}
    assert modes["pixel3"] == "pruned"  # HW-NAS-Bench reports ~0 ms for most of them
    assert modes["titan_rtx_1"] == "computed"  # PyTorch still runs the dead convolutions
    connected = DISCONNECTED.replace("none~2", "skip_connect~2")
    p = fitted.predict(
        [
            ("nasbench201:" + DISCONNECTED, "pixel3"),
            ("nasbench201:" + connected, "pixel3"),
            ("nasbench201:" + DISCONNECTED, "titan_rtx_1"),
        ]
    )
    assert p[0] < 0.5 * p[1]
    assert p[2] > 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pipelines": ("bogus",)}, "pipelines"),
        ({"cv_folds": 1}, "cv_folds"),
        ({"pipelines": (), "share": False}, "pipelines"),
        # found by a hunt: LightGBMError ([LightGBM] [Fatal] on stderr), NumPy's ValueError
        # or a TypeError, each after the features were computed
        ({"learning_rate": 0}, "learning_rate must be a positive finite number, got 0"),
        ({"learning_rate": -1}, "learning_rate must be a positive finite number, got -1"),
        ({"learning_rate": float("nan")}, "learning_rate must be .* got nan"),
        ({"learning_rate": "0.1"}, "learning_rate must be .* got '0.1'"),
        ({"num_leaves": 1}, "num_leaves must be between 2 and 131,072, got 1"),
        ({"num_leaves": 0}, "num_leaves must be between 2 and 131,072, got 0"),
        ({"num_leaves": 131073}, "num_leaves must be between 2 and 131,072, got 131073"),
        ({"n_estimators": 2.5}, "n_estimators must be an integer, got 2.5"),
        ({"n_estimators": True}, "n_estimators must be an integer, got True"),
        ({"n_factors": 0}, "n_factors must be at least 1, got 0"),
        ({"random_state": -1}, "random_state must be at least 0, got -1"),
        ({"random_state": None}, "random_state must be an integer, got None"),
        ({"cv_folds": "5"}, "cv_folds must be an integer, got '5'"),
        ({"share": "no"}, "share must be True or False, got 'no'"),
        ({"positions": 1}, "positions must be True or False, got 1"),
        ({"pipelines": None}, "pipelines must be a tuple of names"),
        ({"pipelines": "gbm"}, "pipelines must be a tuple of names .* got 'gbm'"),
    ],
)
def test_bad_hyperparameters_are_config_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        LatencyPredictor(**kwargs).fit([("nasbench201:" + DISCONNECTED, "a")], [1.0])
    # sklearn's contract: set_params and clone take any value; fit refuses it
    twin = clone(LatencyPredictor().set_params(**kwargs))
    with pytest.raises(ConfigError, match=match):
        twin.fit([("nasbench201:" + DISCONNECTED, "a")], [1.0])


def test_numpy_integers_and_a_list_of_pipelines_are_good_hyperparameters(tiny: dict) -> None:
    other = "|nor_conv_1x1~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    x = [("nasbench201:" + a, d) for a in (DISCONNECTED, other) for d in ("a", "b")]
    est = LatencyPredictor(
        n_estimators=np.int64(5),
        cv_folds=np.int32(2),
        num_leaves=np.int64(4),
        random_state=np.uint32(3),
        learning_rate=np.float32(0.1),
        pipelines=["gbm_l1"],
        share=np.bool_(True),
    )
    assert np.all(np.isfinite(est.fit(x, [1.0, 2.0, 3.0, 4.0]).predict(x)))


@pytest.mark.parametrize("alpha", [None, "0.1", 0, 1, float("nan"), True])
def test_a_bad_alpha_is_a_config_error(fitted: LatencyPredictor, alpha: object) -> None:
    x = [("nasbench201:" + DISCONNECTED, "pixel3")]
    with pytest.raises(ConfigError, match=re.escape(f"alpha must be in (0, 1), got {alpha!r}")):
        fitted.predict_interval(x, alpha=alpha)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="alpha must be in"):
        fitted.interval_half_width("pixel3", alpha=alpha)  # type: ignore[arg-type]


@pytest.mark.parametrize("device", ["", "  ", "\t", None])
def test_adapt_refuses_a_blank_device_name(
    fitted: LatencyPredictor, help_nb201: pd.DataFrame, device: object
) -> None:
    est = copy.deepcopy(fitted)
    shots = help_nb201[help_nb201["device"] == "gold_6226"].iloc[:5]
    with pytest.raises(
        ConfigError, match=re.escape(f"device must be a non-blank name, got {device!r}")
    ):
        est.adapt(("nasbench201:" + shots["arch"]).tolist(), shots["latency_ms"], device=device)  # type: ignore[arg-type]
    assert est.devices == fitted.devices


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        ([("nasbench201:" + DISCONNECTED, "a")], [1.0, 2.0], "rows but y has"),
        ([("nasbench201:" + DISCONNECTED, "a")], [-1.0], "positive"),
        ([("nasbench201:" + DISCONNECTED, "a")], [float("nan")], "finite"),
        ([], [], "no training rows"),
        (["just-a-string"], [1.0], "pairs"),
        (pd.DataFrame({"arch": ["x"], "device": ["a"]}), [1.0], "'model' column"),
    ],
)
def test_bad_training_data_is_a_data_error(x: object, y: list, match: str, tiny: dict) -> None:
    with pytest.raises(DataError, match=match):
        LatencyPredictor(**tiny).fit(x, y)


@pytest.mark.parametrize("arch", [DISCONNECTED, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"])
def test_one_model_on_every_device_is_a_data_error(arch: str, tiny: dict) -> None:
    # the shared factors trained a LightGBM on one row: LightGBMError (num_data > 0), exit 1
    with pytest.raises(DataError, match="at least two different models, got 1"):
        LatencyPredictor(**tiny).fit(
            [("nasbench201:" + arch, "a"), ("nasbench201:" + arch, "b")], [1.0, 2.0]
        )


def test_two_models_fit_although_each_fold_trains_on_one(tiny: dict) -> None:
    # a fold holding one model out leaves one to train the shared factors on: skipped
    other = "|nor_conv_1x1~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    x = [("nasbench201:" + a, d) for a in (DISCONNECTED, other) for d in ("a", "b")]
    est = LatencyPredictor(**tiny).fit(x, [1.0, 2.0, 3.0, 4.0])
    assert np.all(np.isfinite(est.predict(x)))


def test_unknown_device_and_bad_model_are_input_errors(fitted: LatencyPredictor) -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'pixel3'"):
        fitted.predict([("nasbench201:" + DISCONNECTED, "pixle3")])
    from edgewise.errors import ModelError

    with pytest.raises(ModelError):
        fitted.predict([("nasbench201:|oops|", "pixel3")])
    with pytest.raises(ModelError, match="not a model"):
        fitted.predict([("resnet50", "pixel3")])


def test_few_shot_adaptation_to_an_unseen_device(
    fitted: LatencyPredictor,
    help_nb201: pd.DataFrame,
    xy,
    tiny,  # type: ignore[no-untyped-def]
) -> None:
    import copy

    est = copy.deepcopy(fitted)
    target = help_nb201[help_nb201["device"] == "gold_6226"]
    shots, rest = target.iloc[:10], target.iloc[10:]
    est.adapt(("nasbench201:" + shots["arch"]).tolist(), shots["latency_ms"], device="new_cpu")
    assert "new_cpu" in est.devices
    x = [("nasbench201:" + a, "new_cpu") for a in rest["arch"]]
    m = regression_metrics(rest["latency_ms"].to_numpy(), est.predict(x), est.predict_interval(x))
    assert m["spearman"] > 0.8
    with pytest.raises(DataError):
        est.adapt([], [], device="other")
    with pytest.raises(ConfigError, match="sharing"):
        no_share = LatencyPredictor(**tiny, share=False)
        no_share.fit(*xy(help_nb201[help_nb201["device"] == "eyeriss"].iloc[:40]))
        no_share.adapt(["nasbench201:" + DISCONNECTED], [1.0], device="x")


def test_design_shots_is_deterministic_nested_and_skips_disconnected(
    fitted: LatencyPredictor, help_nb201: pd.DataFrame
) -> None:
    candidates = ["nasbench201:" + a for a in help_nb201["arch"].unique()[160:240]]
    candidates.append("nasbench201:" + DISCONNECTED)
    ten = fitted.design_shots(candidates, 10)
    assert ten == fitted.design_shots(candidates, 10)  # deterministic
    assert fitted.design_shots(candidates, 4) == ten[:4]  # nested: a prefix of the larger design
    assert len(set(ten)) == 10 and set(ten) <= set(candidates)
    assert "nasbench201:" + DISCONNECTED not in ten
    with pytest.raises(DataError, match="cannot choose"):
        fitted.design_shots(candidates[:3], 5)


@pytest.mark.parametrize("k", [2.5, True, "3", None])
def test_design_shots_refuses_a_k_that_is_not_an_integer(
    fitted: LatencyPredictor, help_nb201: pd.DataFrame, k: object
) -> None:
    # 2.5 was said to be too many shots, True chose 1, "3" and None raised a TypeError
    candidates = ["nasbench201:" + a for a in help_nb201["arch"].unique()[160:170]]
    with pytest.raises(
        ConfigError, match=re.escape(f"k must be an integer number of shots, got {k!r}")
    ):
        fitted.design_shots(candidates, k)  # type: ignore[arg-type]


def test_design_shots_never_reads_the_target_device(
    fitted: LatencyPredictor, help_nb201: pd.DataFrame
) -> None:
    import copy

    candidates = ["nasbench201:" + a for a in help_nb201["arch"].unique()[160:240]]
    before = fitted.design_shots(candidates, 8)
    # Adapting to a new device (its latencies) changes nothing in the design.
    est = copy.deepcopy(fitted)
    est.adapt(candidates[:5], [1.0, 2.0, 3.0, 4.0, 5.0], device="new_board")
    assert est.design_shots(candidates, 8) == before


def test_position_features_leave_the_shared_factors_and_few_shot_unchanged(
    split: tuple[pd.DataFrame, pd.DataFrame],
    fitted: LatencyPredictor,
    xy,
    tiny,  # type: ignore[no-untyped-def]
) -> None:
    train, test = split
    without = LatencyPredictor(**tiny, positions=False).fit(*xy(train))
    assert fitted.position_mask_.any() and not without.position_mask_.any()
    models = ("nasbench201:" + test["arch"].drop_duplicates()).tolist()[:40]
    assert fitted.design_shots(models, 6) == without.design_shots(models, 6)
    shots = models[:6]
    ms = np.linspace(2.0, 4.0, 6)
    fitted.adapt(shots, ms, device="board-a")
    without.adapt(shots, ms, device="board-a")
    rows = [(m, "board-a") for m in models]
    np.testing.assert_allclose(fitted.predict(rows), without.predict(rows), rtol=1e-12)
    # the per-device models do see them
    trained = [d for d in fitted.devices if fitted.device_models_[d].pipelines]
    gaps = [
        np.max(np.abs(np.log(fitted.predict(r) / without.predict(r))))
        for r in ([(m, d) for m in models] for d in trained)
    ]
    assert max(gaps) > 1e-3


def test_members_with_zero_weight_are_not_run_and_change_nothing(
    split: tuple[pd.DataFrame, pd.DataFrame], fitted: LatencyPredictor
) -> None:
    est = copy.deepcopy(fitted)
    d = "titan_rtx_1"  # disconnected graphs computed: every row goes through the members
    dm = est.device_models_[d]
    models = ("nasbench201:" + split[1]["arch"].drop_duplicates()).tolist()[:60]
    fb, f, s = est._features(models)
    fo = est._own(fb, f)
    cols = [p.predict(fo, est._sig(s, p)) for p in dm.pipelines]
    if len(dm.weights) > len(cols):
        cols.append(est.shared_.predict(est.shared_.factors(f), d))
    dm.weights = np.zeros(len(cols))
    dm.weights[0] = 1.0
    expected = np.column_stack(cols) @ dm.weights

    class Unrunnable:
        def predict(self, *_: object) -> np.ndarray:
            raise AssertionError("a member with weight 0 was run")

    dm.pipelines[1:] = [Unrunnable() for _ in dm.pipelines[1:]]
    est.shared_.factors = Unrunnable().predict  # type: ignore[method-assign]
    np.testing.assert_array_equal(est._log_predict([(m, d) for m in models])[0], expected)


def test_too_many_signatures_leave_out_the_additive_members(
    split: tuple[pd.DataFrame, pd.DataFrame], xy, tiny, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """A table whose kernel signatures barely repeat (OFA's vary with the resolution)
    trains on the boosters and shared factors alone, and saves and loads like any."""
    from edgewise.predict import _estimator, load_predictor

    monkeypatch.setattr(_estimator, "MAX_ADDITIVE_SIGNATURES", 10)
    x, y = xy(split[0])
    est = LatencyPredictor(**tiny).fit(x, y)
    assert set(est.skipped_pipelines_) == set(est.devices_)
    assert all(set(v) == {"kernel", "kernel_used"} for v in est.skipped_pipelines_.values())
    for dm in est.device_models_.values():
        assert not {p.name for p in dm.pipelines} & {"kernel", "kernel_used"}
    xt, yt = xy(split[1])
    pred = est.predict(xt)
    assert np.all(np.isfinite(pred)) and regression_metrics(yt, pred)["acc10"] > 0.5
    est.save(tmp_path / "p.zip")
    np.testing.assert_allclose(load_predictor(tmp_path / "p.zip").predict(xt), pred)


def test_why_a_device_cannot_be_predicted_is_said(help_nb201: pd.DataFrame, xy) -> None:  # type: ignore[no-untyped-def]
    """The message blamed the row count even when rows were plenty (a hunt's find)."""
    one = help_nb201[help_nb201["device"] == help_nb201["device"].iloc[0]]
    with pytest.raises(DataError, match=r"has 3 usable rows, and needs at least"):
        LatencyPredictor(share=False, n_estimators=5).fit(*xy(one.head(3)))
    with pytest.raises(DataError, match="no pipelines were given"):
        LatencyPredictor(pipelines=(), n_estimators=5).fit(*xy(one.head(40)))  # one device


def test_adapt_keeps_a_trained_device_unless_told(
    fitted: LatencyPredictor, help_nb201: pd.DataFrame
) -> None:
    """adapt(device=<a trained device>) silently swapped its trained model for a
    3-shot one (a hunt saw ~10 ms predictions become 1.87 ms)."""
    est = copy.deepcopy(fitted)
    trained = next(d for d in est.devices if d in set(help_nb201["device"]))
    shots = help_nb201[help_nb201["device"] == trained].iloc[:5]
    models = ("nasbench201:" + shots["arch"]).tolist()
    before = est.predict(pd.DataFrame({"model": models, "device": trained}))
    with pytest.raises(ConfigError, match="pass replace=True"):
        est.adapt(models, shots["latency_ms"], device=trained)
    np.testing.assert_array_equal(
        est.predict(pd.DataFrame({"model": models, "device": trained})), before
    )
    est.adapt(models, shots["latency_ms"], device=trained, replace=True)
    est.adapt(models, shots["latency_ms"], device="board")
    est.adapt(models, shots["latency_ms"], device="board")  # a few-shot device: again is fine
