"""Train a predictor file from a latency table; predict one model on one device.

>>> path, info = train_predictor(LatencyTable.from_path("help.csv.gz"))   # doctest: +SKIP
>>> predict_model("nasbench201:|skip_connect~0|+|...|", device="pixel3")  # doctest: +SKIP
Prediction(model=..., device='pixel3', latency_ms=..., interval90=(..., ...), ...)
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgewise._paths import check_writable
from edgewise.data import LatencyTable
from edgewise.errors import DataError
from edgewise.predict._evaluate import Progress

if TYPE_CHECKING:
    from edgewise.predict._estimator import LatencyPredictor


@dataclass(frozen=True)
class Prediction:
    """One prediction with its 90% conformal interval.

    ``interval90`` is the ``1 - alpha`` conformal interval (90% with the default
    ``alpha=0.1``; the field keeps its name for other alphas, see ``alpha``).
    ``output_connected`` is False for graphs whose output does not depend on the input
    (e.g. NB201 ``none`` paths); ``unseen_kernel_share`` is the fraction of live kernels
    whose configuration the predictor never trained on (extrapolation warning). When it
    is 1 the predictor knows nothing about the model: ``calibrated`` is False and the
    interval is ``(0, inf)`` (the point estimate is the boosters' fallback, the same for
    every such model), so a gate on it says "uncertain" instead of trusting a guess.
    """

    model: str
    device: str
    latency_ms: float
    interval90: tuple[float, float]
    output_connected: bool
    unseen_kernel_share: float
    predictor: str
    alpha: float = 0.1
    calibrated: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "device": self.device,
            "latency_ms": self.latency_ms,
            "interval90": list(self.interval90),
            "output_connected": self.output_connected,
            "unseen_kernel_share": self.unseen_kernel_share,
            "calibrated": self.calibrated,
            "predictor": self.predictor,
            "alpha": self.alpha,
        }


def train_predictor(
    table: LatencyTable,
    *,
    out: str | Path | None = None,
    devices: Iterable[str] | None = None,
    space: str | None = None,
    max_per_device: int | None = 2000,
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Fit a :class:`LatencyPredictor` on ``table`` and save it (default path if ``out``
    is None). At most ``max_per_device`` random models per device and space are used."""
    from edgewise.predict._estimator import LatencyPredictor
    from edgewise.predict._persist import default_path

    start = time.perf_counter()
    target = Path(out) if out is not None else default_path()
    check_writable(target, what="the predictor")  # before minutes of fitting, not after
    sub = table.select(space=space) if space is not None else table
    if devices is not None:
        sub = sub.select(devices=devices)
    frame = sub.frame
    if frame.empty:
        raise DataError("no usable rows to train on")
    if max_per_device is not None:
        if max_per_device < 1:
            raise DataError("--max-per-device must be at least 1")
        rng = np.random.default_rng(seed)
        keep = []
        for (_, _), grp in frame.groupby(["device", "space"], sort=True):
            idx = grp.index.to_numpy()
            keep.append(
                idx
                if idx.size <= max_per_device
                else rng.choice(idx, size=max_per_device, replace=False)
            )
        frame = frame.loc[np.sort(np.concatenate(keep))]
    if progress:
        progress(0, 1, f"fitting {frame['device'].nunique()} devices on {len(frame)} rows")
    est = LatencyPredictor(random_state=seed, **dict(params or {}))
    est.fit(frame[["model", "device"]], frame["latency_ms"].to_numpy())
    path = est.save(target)
    if progress:
        progress(1, 1, "saved")
    info = {
        "path": str(path),
        "devices": est.devices,
        "rows": int(len(frame)),
        "spaces": sorted({s or "onnx" for s in frame["space"].unique()}),
        "size_bytes": path.stat().st_size,
        "elapsed_s": round(time.perf_counter() - start, 1),
    }
    return path, info


def predict_model(
    model: str,
    *,
    device: str,
    predictor: LatencyPredictor | None = None,
    path: str | Path | None = None,
    shapes: Mapping[str, Any] | None = None,
    alpha: float = 0.1,
) -> Prediction:
    """Predict ``model`` (ONNX path, ``nasbench201:<arch>`` or ``fbnet:<blocks>``) on
    ``device``, with a ``1 - alpha`` interval."""
    from edgewise.errors import UnknownNameError
    from edgewise.predict._featurize import shared_featurizer
    from edgewise.predict._persist import default_path, load_predictor

    est = predictor if predictor is not None else load_predictor(path)
    if device not in est.devices:
        raise UnknownNameError("device", device, est.devices)
    batch = shared_featurizer().transform([model], shapes=shapes)
    log_pred, _, connected = est._log_predict([(model, device)], batch=batch)
    q = est.interval_half_width(device, alpha=alpha, disconnected=not bool(connected[0]))
    mid = float(np.exp(log_pred[0]))
    unseen = float(est.vocab_.unseen_share(batch.signatures)[0])
    calibrated = unseen < 1.0
    return Prediction(
        model=model,
        device=device,
        latency_ms=mid,
        interval90=(
            (float(np.exp(log_pred[0] - q)), float(np.exp(log_pred[0] + q)))
            if calibrated
            else (0.0, math.inf)
        ),
        output_connected=bool(connected[0]),
        unseen_kernel_share=unseen,
        calibrated=calibrated,
        predictor=str(
            path
            if path is not None
            else ("<in memory>" if predictor is not None else default_path())
        ),
        alpha=alpha,
    )
