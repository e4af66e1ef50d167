"""Safe, versioned save/load: JSON + LightGBM text + .npy, no pickle, clear refusals."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edgewise.errors import InputError, ModelError
from edgewise.predict import FORMAT_VERSION, LatencyPredictor, load_predictor


@pytest.fixture(scope="module")
def saved(
    help_nb201: pd.DataFrame,
    tmp_path_factory: pytest.TempPathFactory,
    xy,
    tiny,  # type: ignore[no-untyped-def]
) -> tuple:
    train = help_nb201[help_nb201["arch_idx"] < 120]
    est = LatencyPredictor(**tiny).fit(*xy(train))
    path = est.save(tmp_path_factory.mktemp("p") / "predictor.zip")
    return est, path, help_nb201[help_nb201["arch_idx"] >= 200]


def test_round_trip_gives_identical_predictions(saved: tuple, xy) -> None:  # type: ignore[no-untyped-def]
    est, path, test = saved
    x, _ = xy(test)
    again = load_predictor(path)
    np.testing.assert_allclose(again.predict(x), est.predict(x), rtol=1e-12)
    np.testing.assert_allclose(again.predict_interval(x), est.predict_interval(x), rtol=1e-12)
    assert again.get_params() == est.get_params()


def test_file_holds_no_pickle(saved: tuple) -> None:
    _, path, _ = saved
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert all(n.endswith((".json", ".txt", ".npy")) for n in names)
        for n in names:
            if n.endswith(".npy"):
                import io

                np.load(io.BytesIO(zf.read(n)), allow_pickle=False)  # raises on object arrays
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["format_version"] == FORMAT_VERSION


def _rewrite(src: Path, dst: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "manifest.json":
                doc = json.loads(data)
                edit(doc)
                data = json.dumps(doc).encode()
            zout.writestr(item, data)
    return dst


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: d.update(format_version="2.0"), "format 2.0; this edgewise reads"),
        (lambda d: d.update(format="something-else"), "not an edgewise predictor"),
        (lambda d: d["feature_names"].pop(), "different feature set"),
        (lambda d: d["position_names"].pop(), "different feature set"),
        (lambda d: d.pop("devices"), "not a readable"),
    ],
)
def test_incompatible_files_are_refused(saved: tuple, tmp_path: Path, edit, match: str) -> None:  # type: ignore[no-untyped-def]
    _, path, _ = saved
    bad = _rewrite(path, tmp_path / "bad.zip", edit)
    with pytest.raises(ModelError, match=match):
        load_predictor(bad)


def test_missing_and_garbage_files(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        load_predictor(tmp_path / "nope.zip")
    with pytest.raises(ModelError, match="predictor train"):
        load_predictor()  # the default path under EDGEWISE_HOME does not exist yet
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    with pytest.raises(InputError):
        load_predictor(junk)


def test_a_missing_predictor_is_reported_before_the_heavy_imports(tmp_path: Path) -> None:
    """`edgewise predict` without a trained predictor said so after 4.7 s, 2.4 of them
    importing scikit-learn (scipy.stats, pandas) to load a file that was not there."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from edgewise.predict import load_predictor\n"
        "try:\n"
        f"    load_predictor({str(tmp_path / 'nope.zip')!r})\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, 'sklearn' in sys.modules, 'lightgbm' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["ModelError", "False", "False"], out.stdout + out.stderr


def test_designed_shot_scores_round_trip_and_1_0_files_still_load(
    saved: tuple, tmp_path: Path
) -> None:
    est, path, test = saved
    assert est.fewshot_design_scores_  # calibrated on simulated designed shots
    again = load_predictor(path)
    assert sorted(again.fewshot_design_scores_) == sorted(est.fewshot_design_scores_)

    def as_1_0(doc: dict) -> None:
        doc.update(format_version="1.0")
        doc.pop("fewshot_design_shots")

    old = load_predictor(_rewrite(path, tmp_path / "old.zip", as_1_0))
    assert old.fewshot_design_scores_ == {}
    models = ("nasbench201:" + test["arch"].drop_duplicates()).tolist()[:8]
    old.adapt(models, np.linspace(1.0, 2.0, 8), device="board", designed=True)  # falls back
    lo, hi = old.predict_interval([(models[0], "board")])[0]
    assert 0 < lo < hi < np.inf


def test_1_1_files_without_position_features_still_predict(
    help_nb201: pd.DataFrame,
    tmp_path: Path,
    xy,
    tiny,  # type: ignore[no-untyped-def]
) -> None:
    # a 1.1 file holds per-device models trained without position features
    def as_1_1(doc: dict) -> None:
        doc.update(format_version="1.1")
        doc.pop("position_names")
        doc.pop("position_mask")
        doc["params"].pop("positions")

    est, old, x = _as_older_file(help_nb201, tmp_path, xy, {**tiny, "positions": False}, as_1_1)
    assert not est.position_mask_.any()
    assert old.position_mask_ is None and old.get_params()["positions"] is False
    np.testing.assert_allclose(old.predict(x), est.predict(x), rtol=1e-12)


def test_1_2_files_without_used_dead_signatures_still_predict(
    help_nb201: pd.DataFrame,
    tmp_path: Path,
    xy,
    tiny,  # type: ignore[no-untyped-def]
) -> None:
    # a 1.2 file has no kernel_used member and no o:/d: signatures in its vocabulary;
    # the kernel member then reads every column, which are the a:/l: ones it was fit on
    def as_1_2(doc: dict) -> None:
        doc.update(format_version="1.2")
        doc["signatures"] = [n for n in doc["signatures"] if not n.startswith(("o:", "d:"))]

    params = {**tiny, "pipelines": ("gbm", "kernel")}
    est, old, x = _as_older_file(help_nb201, tmp_path, xy, params, as_1_2)
    assert any(n.startswith(("o:", "d:")) for n in est.vocab_.names)
    assert old.vocab_.columns(("a:", "l:")) is None
    np.testing.assert_array_equal(old.predict(x), est.predict(x))


def _as_older_file(help_nb201, tmp_path, xy, params, edit):  # type: ignore[no-untyped-def]
    """(fitted predictor, the same saved and rewritten by ``edit`` then loaded, test X)."""
    est = LatencyPredictor(**params).fit(*xy(help_nb201[help_nb201["arch_idx"] < 120]))
    path = est.save(tmp_path / "p.zip")
    old = load_predictor(_rewrite(path, tmp_path / "old.zip", edit))
    return est, old, xy(help_nb201[help_nb201["arch_idx"] >= 200])[0]


def test_position_features_reach_the_device_models_only(saved: tuple) -> None:
    est, _, _ = saved
    assert est.get_params()["positions"] is True and est.position_mask_.any()
    n_own = est.n_features_in_ + int(est.position_mask_.sum())
    gbm = [p for dm in est.device_models_.values() for p in dm.pipelines if p.name == "gbm"]
    assert gbm and all(p.booster.num_feature() == n_own for p in gbm)
    assert all(b.num_feature() == est.n_features_in_ for b in est.shared_.boosters)
