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


def _rewrite(src: Path, dst: Path, edit, members: dict | None = None) -> Path:  # type: ignore[no-untyped-def]
    """``src`` with its manifest edited in place by ``edit`` (replaced by it if it is not
    callable) and the zip members in ``members`` replaced by their new bytes."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.namelist():
            data = (members or {}).get(item, zin.read(item))
            if item == "manifest.json":
                doc = json.loads(data)
                if callable(edit):
                    edit(doc)
                else:
                    doc = edit
                data = json.dumps(doc).encode()
            zout.writestr(item, data)
    return dst


def _first_device(doc: dict) -> dict:
    return doc["devices"][min(doc["devices"], key=lambda n: doc["devices"][n]["index"])]


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: d.update(format_version="2.0"), "format 2.0; this edgewise reads"),
        (lambda d: d.update(format="something-else"), "not an edgewise predictor"),
        (lambda d: d["feature_names"].pop(), "different feature set"),
        (lambda d: d["position_names"].pop(), "different feature set"),
        (lambda d: d.pop("devices"), "not a readable"),
        # hand-edited or damaged manifests were AttributeError or NumPy errors (exit 1)
        ([], "not an edgewise predictor"),
        (lambda d: d.update(devices=None), "not a readable"),
        (lambda d: d.update(params=None), "not a readable"),
        (lambda d: d.update(signatures=None), "not a readable"),
        (lambda d: d.update(feature_mask=None), "feature_mask has the wrong length"),
        (lambda d: _first_device(d).update(pipelines=None), "not a readable"),
        (lambda d: _first_device(d).update(weights=[1.0]), "1 weights for 4 members"),
        (lambda d: d.update(shared=None), "weighs shared factors the file lacks"),
        (lambda d: d["shared"]["booster_files"].pop(), "shared factors' sizes disagree"),
    ],
)
def test_incompatible_files_are_refused(saved: tuple, tmp_path: Path, edit, match: str) -> None:  # type: ignore[no-untyped-def]
    _, path, _ = saved
    bad = _rewrite(path, tmp_path / "bad.zip", edit)
    with pytest.raises(ModelError, match=match):
        load_predictor(bad)


@pytest.mark.parametrize(
    ("member", "text", "match"),
    [
        ("d0_p0", b"tree\nversion=v4\ngarbage", "doesn't specify the number of classes"),
        ("shared_0", b"tree\nversion=v4\ngarbage", "doesn't specify the number of classes"),
        ("shared_0", "d0_p0", "features, the predictor gives"),  # a booster of another width
    ],
)
def test_a_corrupt_booster_is_a_model_error_at_predict(  # type: ignore[no-untyped-def]
    saved: tuple, tmp_path: Path, xy, capfd, member: str, text: object, match: str
) -> None:
    # boosters are parsed at the first prediction: a corrupt one was a LightGBMError
    # (exit 1) with LightGBM's own "[LightGBM] [Fatal]" line on stderr
    _, path, test = saved
    with zipfile.ZipFile(path) as zf:
        data = zf.read(f"boosters/{text}.txt") if isinstance(text, str) else text

    def weigh(doc: dict) -> None:  # predict with the damaged member alone
        w = _first_device(doc)["weights"]
        w[:] = [0.0] * len(w)
        w[0 if member == "d0_p0" else -1] = 1.0

    bad = _rewrite(path, tmp_path / "bad.zip", weigh, {f"boosters/{member}.txt": data})
    pred = load_predictor(bad)  # lazy: the file loads
    device = min(pred.device_models_)
    x, _ = xy(test[test["device"] == device].head(3))
    capfd.readouterr()
    with pytest.raises(ModelError, match=f"bad.zip:boosters/{member}.txt is corrupt: .*{match}"):
        pred.predict(x)
    assert "[LightGBM]" not in capfd.readouterr().err


def test_a_corrupt_booster_exits_2_with_one_line(saved: tuple, tmp_path: Path) -> None:
    import subprocess
    import sys

    _, path, test = saved
    bad = _rewrite(
        path,
        tmp_path / "bad.zip",
        lambda doc: _first_device(doc)["weights"].__setitem__(slice(None), [1.0, 0, 0, 0, 0]),
        {"boosters/d0_p0.txt": b"tree\nversion=v4\ngarbage"},
    )
    device = min(load_predictor(bad).device_models_)
    out = subprocess.run(
        [sys.executable, "-m", "edgewise", "predict", "nasbench201:" + test["arch"].iloc[0]]
        + ["--device", device, "--predictor", str(bad)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines() == [
        "error: bad.zip:boosters/d0_p0.txt is corrupt: Model file doesn't specify the number "
        "of classes; retrain it with `edgewise predictor train`"
    ]


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
