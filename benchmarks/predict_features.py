"""Features + prediction throughput for architecture search (target: >= 2,000 NB201 graphs/s).

    .venv/bin/python benchmarks/predict_features.py

Each repeat draws fresh architectures (NB201: 10,000 distinct ones of the 15,625; FBNet:
10,000 random ones), computes graph features through the fast path and predicts with a
default-size predictor trained on 900 architectures x 3 devices, for each of the three
devices (a device's ensemble weights decide which boosters run). Every per-architecture
cache is cleared before each timing, so nothing computed for one architecture is reused.
Two regimes: *cold* also clears the per-topology cell plans (NB201: at most 4^6 = 4,096,
built as they are first met), as a fresh process would see its first batch; *warm* keeps
them, as a search sees every later batch. Kernel tables built at init stay in both.
Quotes medians over repeats; also times the ONNX path (build + shape inference + fusion)
for comparison. Writes benchmarks/results/predict_features.json.
"""

from __future__ import annotations

import argparse
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


DEVICES = ("titan_rtx_1", "pixel3", "gold_6226")


def random_archs(space: str, n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    if space == "nasbench201":  # distinct architectures: no repeat within a batch
        codes = rng.choice(len(NB201_OPS) ** 6, n, replace=False)
        return [format_nasbench201([NB201_OPS[(c // 5**k) % 5] for k in range(6)]) for c in codes]
    return ["-".join(rng.choice(FBNET_BLOCKS, 22)) for _ in range(n)]


def clear_caches(fz: object, space: str, *, topologies: bool = False) -> None:
    """Forget every per-architecture result and, with ``topologies``, the cell plans
    (kernel tables built at init stay)."""
    fz._archs.clear()  # type: ignore[attr-defined]  # noqa: SLF001
    sp = fz._space(space)  # type: ignore[attr-defined]  # noqa: SLF001
    for name in ("_arch_cache", *(("_plans", "_edge_cache") if topologies else ())):
        cache = getattr(sp, name, None)
        if cache is not None:
            cache.clear()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", type=int, default=N, help="architectures per repeat")
    ap.add_argument("--repeats", type=int, default=REPEATS)
    args = ap.parse_args()
    n, repeats = args.archs, args.repeats
    df = pd.read_csv(DATA, usecols=["space", "arch", "device", "latency_ms"])
    fz = shared_featurizer()
    out: dict[str, object] = {"n_per_repeat": n, "repeats": repeats}
    for space in ("nasbench201", "fbnet"):
        t0 = time.perf_counter()
        fz._space(space)  # noqa: SLF001 (build the reference graphs once)
        init_s = time.perf_counter() - t0
        sub = df[(df["space"] == space) & df["device"].isin(DEVICES)]
        archs = sub["arch"].drop_duplicates().sample(900, random_state=0)
        train = sub[sub["arch"].isin(set(archs))]
        est = LatencyPredictor(random_state=0).fit(
            pd.DataFrame({"model": space + ":" + train["arch"], "device": train["device"]}),
            train["latency_ms"].to_numpy(),
        )
        feat: dict[str, list[float]] = {"cold": [], "warm": []}
        total: dict[str, dict[str, list[float]]] = {
            m: {d: [] for d in DEVICES} for m in ("cold", "warm")
        }
        for r in range(repeats):
            batch = [f"{space}:{a}" for a in random_archs(space, n, 1000 + r)]
            for mode in ("cold", "warm"):
                clear_caches(fz, space, topologies=mode == "cold")
                t0 = time.perf_counter()
                fz.transform(batch)
                feat[mode].append(n / (time.perf_counter() - t0))
                for d in DEVICES:
                    clear_caches(fz, space, topologies=mode == "cold")
                    t0 = time.perf_counter()
                    pred = est.predict([(m, d) for m in batch])
                    total[mode][d].append(n / (time.perf_counter() - t0))
                    assert np.all(np.isfinite(pred))
        onnx_archs = random_archs(space, 10, 7)
        t0 = time.perf_counter()
        for a in onnx_archs:
            graph_features(load_graph(nasbench201(a) if space == "nasbench201" else fbnet(a)))
        onnx_rate = len(onnx_archs) / (time.perf_counter() - t0)
        out[space] = {
            "featurizer_init_s": round(init_s, 2),
            "onnx_path_graphs_per_s": round(onnx_rate, 2),
            "weights": {d: est.device_models_[d].weights.round(2).tolist() for d in DEVICES},
        }
        for mode in ("cold", "warm"):
            every = [x for d in DEVICES for x in total[mode][d]]
            out[space][mode] = {
                "features_graphs_per_s_median": round(float(np.median(feat[mode])), 1),
                "features_plus_prediction_graphs_per_s_median": round(float(np.median(every)), 1),
                "features_plus_prediction_min_device_median": round(
                    min(float(np.median(total[mode][d])) for d in DEVICES), 1
                ),
                "features_plus_prediction_per_device": {
                    d: [round(x, 1) for x in total[mode][d]] for d in DEVICES
                },
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
