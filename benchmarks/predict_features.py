"""Features + prediction throughput for architecture search (target: >= 2,000 NB201 graphs/s).

    .venv/bin/python benchmarks/predict_features.py

Draws fresh random architectures each repeat (every per-architecture cache is cleared
before each timing, so nothing computed for one architecture is reused), computes graph features through the fast path and
predicts with a default-size predictor trained on 900 architectures x 3 devices. Quotes
medians over repeats; also times the ONNX path (build + shape inference + fusion) for
comparison. Writes benchmarks/results/predict_features.json.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from edgewise.graph import graph_features, load_graph  # noqa: E402
from edgewise.graph.builders import (  # noqa: E402
    FBNET_BLOCKS,
    NB201_OPS,
    fbnet,
    format_nasbench201,
    nasbench201,
)
from edgewise.predict import LatencyPredictor  # noqa: E402
from edgewise.predict._featurize import shared_featurizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "latency" / "help.csv.gz"
N, REPEATS = 10_000, 5


def random_archs(space: str, n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    if space == "nasbench201":
        return [format_nasbench201(list(rng.choice(NB201_OPS, 6))) for _ in range(n)]
    return ["-".join(rng.choice(FBNET_BLOCKS, 22)) for _ in range(n)]


def clear_caches(fz: object, space: str) -> None:
    """Forget every per-architecture result (kernel tables built at init stay)."""
    fz._archs.clear()  # type: ignore[attr-defined]  # noqa: SLF001
    cache = getattr(fz._space(space), "_arch_cache", None)  # type: ignore[attr-defined]  # noqa: SLF001
    if cache is not None:
        cache.clear()


def main() -> None:
    df = pd.read_csv(DATA, usecols=["space", "arch", "device", "latency_ms"])
    fz = shared_featurizer()
    out: dict[str, object] = {"n_per_repeat": N, "repeats": REPEATS}
    for space in ("nasbench201", "fbnet"):
        t0 = time.perf_counter()
        fz._space(space)  # noqa: SLF001 (build the reference graphs once)
        init_s = time.perf_counter() - t0
        sub = df[(df["space"] == space) & df["device"].isin(["pixel3", "titan_rtx_1", "gold_6226"])]
        archs = sub["arch"].drop_duplicates().sample(900, random_state=0)
        train = sub[sub["arch"].isin(set(archs))]
        est = LatencyPredictor(random_state=0).fit(
            pd.DataFrame({"model": space + ":" + train["arch"], "device": train["device"]}),
            train["latency_ms"].to_numpy(),
        )
        feat_rates, total_rates = [], []
        for r in range(REPEATS):
            batch = [f"{space}:{a}" for a in random_archs(space, N, 1000 + r)]
            clear_caches(fz, space)
            t0 = time.perf_counter()
            fz.transform(batch)
            feat_rates.append(N / (time.perf_counter() - t0))
            clear_caches(fz, space)
            t0 = time.perf_counter()
            pred = est.predict([(m, "titan_rtx_1") for m in batch])
            total_rates.append(N / (time.perf_counter() - t0))
            assert np.all(np.isfinite(pred))
        onnx_archs = random_archs(space, 10, 7)
        t0 = time.perf_counter()
        for a in onnx_archs:
            graph_features(load_graph(nasbench201(a) if space == "nasbench201" else fbnet(a)))
        onnx_rate = len(onnx_archs) / (time.perf_counter() - t0)
        out[space] = {
            "featurizer_init_s": round(init_s, 2),
            "features_graphs_per_s_median": round(float(np.median(feat_rates)), 1),
            "features_plus_prediction_graphs_per_s_median": round(float(np.median(total_rates)), 1),
            "features_plus_prediction_all_repeats": [round(x, 1) for x in total_rates],
            "onnx_path_graphs_per_s": round(onnx_rate, 2),
        }
        print(space, json.dumps(out[space]), flush=True)
    out["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_avg_1m_at_end": os.getloadavg()[0],
    }
    path = ROOT / "benchmarks" / "results" / "predict_features.json"
    path.write_text(json.dumps(out, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
