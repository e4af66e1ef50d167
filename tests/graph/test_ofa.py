"""OFA-MobileNetV3 subnets (HELP's ``ofa_mbv3`` rows) as real ONNX graphs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edgewise.errors import ModelError
from edgewise.graph import load_graph
from edgewise.graph.builders import build_model, ofa_mbv3, parse_ofa_mbv3


def _arch(k: int = 3, e: int = 3, d: int = 2, r: int = 128) -> dict[str, object]:
    return {"ks": [k] * 20, "e": [e] * 20, "d": [d] * 5, "r": r}


def test_subnets_run_and_grow_with_every_knob() -> None:
    import onnxruntime as ort

    small = load_graph(ofa_mbv3(_arch())).summary().macs
    for bigger in (_arch(k=7), _arch(e=6), _arch(d=4), _arch(r=224)):
        assert load_graph(ofa_mbv3(bigger)).summary().macs > small
    # the largest subnet at 224: OFA reports ~0.6 GMACs for it
    largest = load_graph(ofa_mbv3(_arch(7, 6, 4, 224))).summary().macs
    assert 5.0e8 < largest < 6.5e8
    model = build_model("ofa_mbv3:" + json.dumps(_arch(r=160)))
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    out = sess.run(None, {"input": np.zeros((1, 3, 160, 160), np.float32)})[0]
    assert out.shape == (1, 1000)


def test_inactive_blocks_do_not_count() -> None:
    """Stage i runs only its first d[i] blocks; the rest of ks/e is ignored."""
    a = _arch(d=2)
    b = dict(a, ks=[3, 3, 7, 7] * 5, e=[3, 3, 6, 6] * 5)  # differs only in unused blocks
    assert load_graph(ofa_mbv3(a)).summary().macs == load_graph(ofa_mbv3(b)).summary().macs


@pytest.mark.parametrize(
    ("arch", "match"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "expected"),
        (json.dumps({"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5}), "missing r"),
        (json.dumps(dict(_arch(), ks=[3] * 19)), "'ks' must list 20"),
        (json.dumps(dict(_arch(), e=[5] * 20)), "'e' takes"),
        (json.dumps(dict(_arch(), d=[1] * 5)), "'d' takes"),
        (json.dumps(dict(_arch(), r=8)), "resolution"),
    ],
)
def test_bad_archs(arch: str, match: str) -> None:
    with pytest.raises(ModelError, match=match):
        parse_ofa_mbv3(arch)


def test_help_rows_import_and_train(shared_data: Path, tmp_path: Path) -> None:
    """Real HELP ofa_mbv3 rows import (no longer 'no builder') and a predictor trains and
    predicts on them through the fast path."""
    from edgewise.data import LatencyTable
    from edgewise.predict import LatencyPredictor

    frame = pd.read_csv(shared_data / "latency" / "help.csv.gz")
    frame = frame[(frame["space"] == "ofa_mbv3") & (frame["device"] == "titan_rtx_1")]
    # two resolutions: the fast path builds its tables per resolution (~2 s each)
    frame = frame[frame["arch"].map(lambda a: json.loads(a)["r"]).isin((128, 224))].head(24)
    table = LatencyTable.from_frame(frame.reset_index(drop=True))
    assert not table.problems and len(table.frame) == 24
    x, y = table.frame[["model", "device"]], table.frame["latency_ms"].to_numpy()
    est = LatencyPredictor(n_estimators=20, cv_folds=3, n_factors=2).fit(x[:18], y[:18])
    pred = est.predict(x[18:])
    assert pred.shape == (6,) and np.all((pred > 1) & (pred < 20))  # titan_rtx_1: 3.9-9.5 ms
