"""Save and load a predictor: a zip of JSON, LightGBM model text and ``.npy`` arrays.

Nothing is pickled: loading reads JSON, parses LightGBM text and NumPy arrays with
``allow_pickle=False``. The manifest carries a format version; a file from another
major version is refused with a clear message.

>>> save_predictor(predictor, "p.zip"); p2 = load_predictor("p.zip")  # doctest: +SKIP
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgewise.errors import ModelError

if TYPE_CHECKING:
    from edgewise.predict._estimator import LatencyPredictor

FORMAT = "edgewise-latency-predictor"
#: Bump the major number when old files can no longer be read. 1.1 adds the few-shot
#: interval scores of designed shots (``fewshot_design_*``); 1.2 the position features of
#: the per-device models (``position_names``, ``position_mask``); 1.3 the ``kernel_used``
#: pipeline and the ``o:``/``d:`` signatures; 1.4 moves to ``o:`` the kernels a zero
#: multiply folds into (:func:`edgewise.graph._fusion.folded_zero_muls`), with no change
#: to the file's layout. 1.0 and 1.1 files still load: their per-device models predict
#: without position features; 1.2 files predict as before (their vocabulary has no
#: ``o:``/``d:`` columns); 1.3 files load and their ``kernel_used`` member reads the 1.4
#: split (retrain for the costs learned on it).
FORMAT_VERSION = "1.4"


def default_path() -> Path:
    """Where ``edgewise predictor train`` writes and ``edgewise predict`` reads by default."""
    from edgewise._paths import home

    return home() / "predictors" / "default.zip"


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(arr, dtype=np.float64), allow_pickle=False)
    return buf.getvalue()


def save_predictor(predictor: LatencyPredictor, path: str | Path) -> Path:
    """Write ``predictor`` to ``path`` (a zip) atomically; returns the path."""
    import edgewise
    from edgewise.graph import FEATURE_NAMES
    from edgewise.graph._position import POSITION_NAMES

    predictor._check_fitted()
    out = Path(path).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {}
    devices: dict[str, Any] = {}
    for i, (name, dm) in enumerate(predictor.device_models_.items()):
        pipes = []
        for j, p in enumerate(dm.pipelines):
            state = p.state()
            text = state.pop("booster", None)
            booster = f"boosters/d{i}_p{j}.txt" if text is not None else None
            if booster is not None:
                files[booster] = text.encode()
            pipes.append({**state, "booster_file": booster})
        pruned = None
        if dm.pruned_model is not None:
            pruned = f"boosters/d{i}_pruned.txt"
            files[pruned] = dm.pruned_model.booster.model_to_string().encode()
        files[f"arrays/d{i}_scores.npy"] = _npy(dm.scores)
        files[f"arrays/d{i}_pruned_scores.npy"] = _npy(dm.pruned_scores)
        devices[name] = {
            "index": i,
            "pipelines": pipes,
            "weights": dm.weights.tolist(),
            "n_train": dm.n_train,
            "disconnected": dm.disconnected,
            "pruned_log_ms": dm.pruned_log_ms,
            "shared_override": dm.shared_override,
            "pruned_booster_file": pruned,
        }
    shared = None
    if predictor.shared_ is not None:
        state = predictor.shared_.state()
        names = []
        for k, text in enumerate(state.pop("boosters")):
            names.append(f"boosters/shared_{k}.txt")
            files[names[-1]] = text.encode()
        shared = {**state, "booster_files": names}
    for k, scores in predictor.fewshot_scores_.items():
        files[f"arrays/fewshot_{k}.npy"] = _npy(scores)
    design_scores = getattr(predictor, "fewshot_design_scores_", {})
    for k, scores in design_scores.items():
        files[f"arrays/fewshot_design_{k}.npy"] = _npy(scores)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "edgewise_version": edgewise.__version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "params": predictor.get_params(),
        "feature_names": list(FEATURE_NAMES),
        "feature_mask": predictor.feature_mask_.tolist(),
        "position_names": list(POSITION_NAMES),
        "position_mask": predictor.position_mask_.tolist(),
        "signatures": predictor.vocab_.names,
        "devices": devices,
        "shared": shared,
        "fewshot_shots": sorted(predictor.fewshot_scores_),
        "fewshot_design_shots": sorted(design_scores),
    }
    manifest["params"]["pipelines"] = list(manifest["params"]["pipelines"])
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=1))
        for name, data in files.items():
            zf.writestr(name, data)
    tmp.replace(out)
    return out


def _load_npy(zf: zipfile.ZipFile, name: str) -> np.ndarray:
    return np.asarray(np.load(io.BytesIO(zf.read(name)), allow_pickle=False), dtype=np.float64)


def load_predictor(path: str | Path | None = None) -> LatencyPredictor:
    """Read a predictor written by :func:`save_predictor` (default: :func:`default_path`)."""
    p = Path(path).expanduser() if path is not None else default_path()
    if not p.is_file():  # before the imports below (sklearn, LightGBM: ~2.5 s)
        hint = " (train one with `edgewise predictor train --data FILE`)" if path is None else ""
        raise ModelError(f"predictor file not found: {p}{hint}")

    from edgewise.graph import FEATURE_NAMES
    from edgewise.graph._position import POSITION_NAMES
    from edgewise.predict._estimator import DeviceModel, LatencyPredictor
    from edgewise.predict._featurize import SignatureVocab
    from edgewise.predict._pipelines import pipeline_from_state
    from edgewise.predict._shared import SharedFactors

    try:
        with zipfile.ZipFile(p) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise ModelError(f"{p.name} is not an edgewise predictor file")
            version = str(manifest.get("format_version", "?"))
            if version.split(".")[0] != FORMAT_VERSION.split(".")[0]:
                raise ModelError(
                    f"{p.name} has predictor format {version}; this edgewise reads "
                    f"{FORMAT_VERSION}: retrain it with `edgewise predictor train`"
                )
            positions = manifest.get("position_names")  # absent from 1.0 and 1.1 files
            if manifest["feature_names"] != list(FEATURE_NAMES) or (
                positions is not None and positions != list(POSITION_NAMES)
            ):
                raise ModelError(
                    f"{p.name} was trained on a different feature set (edgewise "
                    f"{manifest.get('edgewise_version')}): retrain it with "
                    "`edgewise predictor train`"
                )
            params = dict(manifest["params"])
            params["pipelines"] = tuple(params["pipelines"])
            params.setdefault("positions", False)
            pred = LatencyPredictor(**params)
            gbm = pred._gbm_params()
            pred.feature_mask_ = np.asarray(manifest["feature_mask"], dtype=bool)
            pred.position_mask_ = (
                np.asarray(manifest["position_mask"], dtype=bool) if positions is not None else None
            )
            pred.vocab_ = SignatureVocab(manifest["signatures"])
            pred.device_models_ = {}
            for name, st in manifest["devices"].items():
                i = st["index"]
                pipes = [
                    pipeline_from_state(
                        {
                            **ps,
                            "booster": zf.read(ps["booster_file"]).decode(),
                            "booster_source": f"{p.name}:{ps['booster_file']}",
                        }
                        if ps.get("booster_file")
                        else ps,
                        gbm,
                    )
                    for ps in st["pipelines"]
                ]
                override = st.get("shared_override")
                pruned = None
                if st.get("pruned_booster_file"):
                    pruned = pipeline_from_state(
                        {
                            "name": "gbm_l1",
                            "booster": zf.read(st["pruned_booster_file"]).decode(),
                            "booster_source": f"{p.name}:{st['pruned_booster_file']}",
                        },
                        gbm,
                    )
                pred.device_models_[name] = DeviceModel(
                    name=name,
                    pipelines=pipes,
                    weights=np.asarray(st["weights"], dtype=np.float64),
                    scores=_load_npy(zf, f"arrays/d{i}_scores.npy"),
                    n_train=int(st["n_train"]),
                    disconnected=st["disconnected"],
                    pruned_log_ms=float(st["pruned_log_ms"]),
                    pruned_scores=_load_npy(zf, f"arrays/d{i}_pruned_scores.npy"),
                    shared_override=(float(override[0]), list(override[1])) if override else None,
                    pruned_model=pruned,
                )
            pred.devices_ = sorted(pred.device_models_)
            shared = manifest.get("shared")
            if shared is not None:
                names = shared.pop("booster_files")
                boosters = [zf.read(n).decode() for n in names]
                sources = [f"{p.name}:{n}" for n in names]
                pred.shared_ = SharedFactors.from_state(
                    {**shared, "boosters": boosters, "booster_sources": sources}, gbm
                )
            else:
                pred.shared_ = None
            pred.fewshot_scores_ = {
                int(k): _load_npy(zf, f"arrays/fewshot_{k}.npy")
                for k in manifest.get("fewshot_shots", [])
            }
            pred.fewshot_design_scores_ = {  # absent from 1.0 files: adapt falls back
                int(k): _load_npy(zf, f"arrays/fewshot_design_{k}.npy")
                for k in manifest.get("fewshot_design_shots", [])
            }
            pred.n_features_in_ = int(pred.feature_mask_.sum())
            _check_shapes(pred)
    except ModelError:
        raise
    # a hand-edited or damaged file: null or mistyped sections, a broken zip member
    # (AttributeError, zlib.error...) were exit 1 with a traceback
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        KeyError,
        IndexError,
        ValueError,
        TypeError,
        AttributeError,
        OverflowError,
        RecursionError,
    ) as exc:
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{p.name} is not a readable edgewise predictor file: {why}") from exc
    return pred


def _check_shapes(pred: LatencyPredictor) -> None:
    """The sizes prediction relies on, so that a damaged file is refused when loaded
    rather than failing with a NumPy error halfway through a prediction."""
    from edgewise.graph import FEATURE_NAMES
    from edgewise.graph._position import POSITION_NAMES

    def need(ok: bool, what: str) -> None:
        if not ok:
            raise ValueError(what)

    need(pred.feature_mask_.shape == (len(FEATURE_NAMES),), "feature_mask has the wrong length")
    need(
        pred.position_mask_ is None or pred.position_mask_.shape == (len(POSITION_NAMES),),
        "position_mask has the wrong length",
    )
    sf = pred.shared_
    if sf is not None:
        need(
            sf.mu.shape == (len(sf.devices),) and len(sf.boosters) == sf.rank,
            "the shared factors' sizes disagree",
        )
    for name, dm in pred.device_models_.items():
        extra = len(dm.weights) - len(dm.pipelines)
        need(
            dm.weights.ndim == 1 and extra in (0, 1) and dm.scores.ndim == 1,
            f"device {name!r}: {len(dm.weights)} weights for {len(dm.pipelines)} members",
        )
        need(
            dm.disconnected in ("unseen", "computed", "pruned"),
            f"device {name!r}: unknown disconnected mode {dm.disconnected!r}",
        )
        if extra:  # the shared factors are a member: they must be there, and fit
            if sf is None:
                raise ValueError(f"device {name!r} weighs shared factors the file lacks")
            need(
                name in sf.devices
                if dm.shared_override is None
                else len(dm.shared_override[1]) == sf.rank,
                f"device {name!r} does not match the shared factors",
            )
