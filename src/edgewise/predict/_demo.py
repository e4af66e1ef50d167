"""The predict stage of ``edgewise demo``: train a small predictor and check it.

Trains on 300 NB201 architectures of three devices from ``help.csv.gz`` (about 10 s),
scores 300 unseen ones with 90% intervals, predicts an NB201 graph written as an ONNX
file and a bundled CNN, and stores the training rows in the store.

>>> section = demo_section(workdir=Path("/tmp/demo"), store=Store("sqlite://"))  # doctest: +SKIP
>>> section.title
'Predict'
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edgewise._paths import data_dir
from edgewise.report import Section, figure_html

if TYPE_CHECKING:
    from edgewise.store import Store

DEMO_DEVICES = ("pixel3", "raspi4", "titan_rtx_1")
HELP_FILE = Path("latency") / "help.csv.gz"


def demo_section(*, workdir: Path, store: Store, n_train: int = 300, n_test: int = 300) -> Section:
    """Train, evaluate and use a small predictor; a Section that says why if data is absent."""
    import pandas as pd

    from edgewise.data import LatencyTable
    from edgewise.graph.builders import nasbench201
    from edgewise.predict._estimator import LatencyPredictor
    from edgewise.predict._evaluate import regression_metrics
    from edgewise.predict._service import predict_model

    start = time.perf_counter()
    path = data_dir() / HELP_FILE
    if not path.is_file():
        return Section(
            title="Predict",
            lines=[
                f"skipped: the public latency data is not at {path} "
                "(set EDGEWISE_DATA_DIR to the folder holding latency/help.csv.gz)"
            ],
        )
    raw = pd.read_csv(path, usecols=["space", "arch", "device", "latency_ms", "arch_idx"])
    raw = raw[raw["space"] == "nasbench201"]
    devices = [d for d in DEMO_DEVICES if d in set(raw["device"])] or sorted(
        raw["device"].unique()
    )[:3]
    raw = raw[raw["device"].isin(devices)]
    archs = np.random.default_rng(0).permutation(raw["arch"].unique())
    train_a, test_a = set(archs[:n_train]), set(archs[n_train : n_train + n_test])
    table = LatencyTable.from_frame(raw[raw["arch"].isin(train_a | test_a)], source="help")
    f = table.frame
    tr, te = f[f["arch"].isin(train_a)], f[f["arch"].isin(test_a)]
    stored = store.add_latency_records(
        LatencyTable(frame=tr.reset_index(drop=True), problems=()).to_records()
    )
    est = LatencyPredictor(n_estimators=120, cv_folds=3, random_state=0)
    est.fit(tr[["model", "device"]], tr["latency_ms"].to_numpy())
    x = te[["model", "device"]]
    pred, iv = est.predict_with_interval(x, alpha=0.1)
    y, dev = te["latency_ms"].to_numpy(), te["device"].to_numpy()
    header = ["device", "train", "test", "acc@10%", "Spearman", "90% coverage", "width"]
    rows = []
    for d in devices:
        m = dev == d
        r = regression_metrics(y[m], pred[m], iv[m])
        rows.append(
            [
                d,
                str(int((tr["device"] == d).sum())),
                str(int(m.sum())),
                f"{r['acc10']:.3f}",
                f"{r['spearman']:.3f}",
                f"{r['coverage90']:.3f}",
                f"{r['width90_rel']:.2f}",
            ]
        )
    # One architecture as an ONNX file goes through the same path as its string.
    arch = te["arch"].iloc[0]
    workdir.mkdir(parents=True, exist_ok=True)
    onnx_path = workdir / "nb201-demo.onnx"
    onnx_path.write_bytes(nasbench201(arch).SerializeToString())
    via_file = predict_model(str(onnx_path), device=devices[0], predictor=est)
    via_str = predict_model(f"nasbench201:{arch}", device=devices[0], predictor=est)
    lines = [
        f"trained one predictor on {len(tr)} measurements ({n_train} NB201 architectures x "
        f"{len(devices)} devices) from {path.name}; scored {len(te)} unseen ones.",
        f"{onnx_path.name} (an NB201 graph as ONNX) on {devices[0]}: "
        f"{via_file.latency_ms:.2f} ms, 90% interval [{via_file.interval90[0]:.2f}, "
        f"{via_file.interval90[1]:.2f}]; the same architecture as a string: "
        f"{via_str.latency_ms:.2f} ms.",
    ]
    try:
        from edgewise.zoo import write_example

        cnn = write_example("cnn-small", workdir / "models")
        foreign = predict_model(str(cnn), device=devices[0], predictor=est)
        lines.append(
            f"{cnn.name} on {devices[0]}: {foreign.unseen_kernel_share:.0%} of its kernels "
            "were never seen in training, so "
            + (
                f"{foreign.latency_ms:.2f} ms is an extrapolation"
                if foreign.calibrated
                else "the predictor gives no interval (its point estimate is a guess)"
            )
            + " (train on similar graphs to trust it)."
        )
    except Exception as exc:  # the zoo is another capability; report, don't fail
        lines.append(f"could not predict the bundled CNN: {exc}")
    lines.append(
        f"{stored} training rows written to the store; stage took "
        f"{time.perf_counter() - start:.1f} s."
    )
    return Section(
        title="Predict",
        lines=lines,
        table_header=header,
        table_rows=rows,
        figures_html=[figure_html(_figure(y, pred, iv, dev, devices))],
    )


def _figure(
    y: np.ndarray, pred: np.ndarray, iv: np.ndarray, dev: np.ndarray, devices: list[str]
) -> object:
    import plotly.graph_objects as go

    fig = go.Figure()
    for d in devices:
        m = dev == d
        fig.add_trace(
            go.Scatter(
                x=y[m],
                y=pred[m],
                mode="markers",
                name=d,
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": iv[m, 1] - pred[m],
                    "arrayminus": pred[m] - iv[m, 0],
                    "thickness": 0.6,
                    "width": 0,
                },
                marker={"size": 5},
            )
        )
    lo, hi = float(np.min(y)), float(np.max(y))
    fig.add_trace(
        go.Scatter(
            x=[lo, hi],
            y=[lo, hi],
            mode="lines",
            name="ideal",
            line={"dash": "dash", "color": "gray"},
        )
    )
    fig.update_layout(
        title="Predicted vs measured latency (90% conformal intervals)",
        xaxis_title="measured (ms)",
        yaxis_title="predicted (ms)",
        xaxis_type="log",
        yaxis_type="log",
        height=480,
    )
    return fig
