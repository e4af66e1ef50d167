"""Features + prediction throughput for architecture search (target: >= 2,000 NB201 graphs/s).

    .venv/bin/python benchmarks/predict_features.py [--spaces ofa_mbv3 --repeats 3]

Each repeat draws fresh architectures (NB201: 10,000 distinct ones of the 15,625; FBNet
and OFA-MobileNetV3: 10,000 random ones, OFA at HELP's 25 resolutions 128..224), computes
graph features through the fast path and predicts with a default-size predictor trained
on 900 architectures x 3 devices of the space, for each of the three devices (a device's
ensemble weights decide which boosters run). Every per-architecture cache is cleared
before each timing, so nothing computed for one architecture is reused. Two regimes:
*cold* also clears the per-topology cell plans (NB201: at most 4^6 = 4,096, built as they
are first met) and the per-resolution tables (OFA: nine reference graphs per resolution),
as a fresh process would see its first batch; *warm* keeps them, as a search sees every
later batch. Kernel tables built at init stay in both. Quotes medians over repeats; also
times the ONNX path (build + shape inference + fusion) for comparison. Writes
benchmarks/results/predict_features.json (the spaces run replace theirs, others stay).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from edgewise.graph import graph_features, load_graph  # noqa: E402
from edgewise.graph.builders import (  # noqa: E402
    FBNET_BLOCKS,
    NB201_OPS,
    build_model,
    format_nasbench201,
)
from edgewise.graph.builders._ofa import OFA_DEPTHS, OFA_EXPANDS, OFA_KERNELS  # noqa: E402
from edgewise.predict import LatencyPredictor  # noqa: E402
from edgewise.predict._featurize import shared_featurizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "latency" / "help.csv.gz"
N, REPEATS = 10_000, 5
SPACES = ("nasbench201", "fbnet", "ofa_mbv3")
#: Three devices per space (HELP's OFA rows are on GPUs only).
DEVICES = {
    "nasbench201": ("titan_rtx_1", "pixel3", "gold_6226"),
    "fbnet": ("titan_rtx_1", "pixel3", "gold_6226"),
    "ofa_mbv3": ("titan_rtx_1", "2080ti_32", "v100_64"),
}


def random_archs(space: str, n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    if space == "nasbench201":  # distinct architectures: no repeat within a batch
        codes = rng.choice(len(NB201_OPS) ** 6, n, replace=False)
        return [format_nasbench201([NB201_OPS[(c // 5**k) % 5] for k in range(6)]) for c in codes]
    if space == "ofa_mbv3":
        return [
            json.dumps(
                {
                    "ks": rng.choice(OFA_KERNELS, 20).tolist(),
                    "e": rng.choice(OFA_EXPANDS, 20).tolist(),
                    "d": rng.choice(OFA_DEPTHS, 5).tolist(),
                    "r": int(rng.choice(np.arange(128, 225, 4))),
                }
            )
            for _ in range(n)
        ]
    return ["-".join(rng.choice(FBNET_BLOCKS, 22)) for _ in range(n)]


def clear_caches(fz: object, space: str, *, topologies: bool = False) -> None:
    """Forget every per-architecture result and, with ``topologies``, the cell plans and
    the OFA per-resolution tables (kernel tables built at init stay)."""
    fz._archs.clear()  # type: ignore[attr-defined]  # noqa: SLF001
    sp = fz._space(space)  # type: ignore[attr-defined]  # noqa: SLF001
    for name in ("_arch_cache", *(("_plans", "_edge_cache", "_tables") if topologies else ())):
        cache = getattr(sp, name, None)
        if cache is not None:
            cache.clear()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", type=int, default=N, help="architectures per repeat")
    ap.add_argument("--repeats", type=int, default=REPEATS)
    ap.add_argument("--spaces", default=",".join(SPACES), help="comma-separated")
    args = ap.parse_args()
    n, repeats = args.archs, args.repeats
    spaces = args.spaces.split(",")
    if not set(spaces) <= set(SPACES):
        ap.error(f"--spaces takes {', '.join(SPACES)}")
    df = pd.read_csv(DATA, usecols=["space", "arch", "device", "latency_ms"])
    fz = shared_featurizer()
    path = ROOT / "benchmarks" / "results" / "predict_features.json"
    out: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    machine = {"python": platform.python_version(), "cpus": os.cpu_count()}
    for space in spaces:
        devices = DEVICES[space]
        t0 = time.perf_counter()
        fz._space(space)  # noqa: SLF001 (build the reference graphs once)
        init_s = time.perf_counter() - t0
        sub = df[(df["space"] == space) & df["device"].isin(devices)]
        archs = sub["arch"].drop_duplicates().sample(900, random_state=0)
        train = sub[sub["arch"].isin(set(archs))]
        est = LatencyPredictor(random_state=0).fit(
            pd.DataFrame({"model": space + ":" + train["arch"], "device": train["device"]}),
            train["latency_ms"].to_numpy(),
        )
        feat: dict[str, list[float]] = {"cold": [], "warm": []}
        total: dict[str, dict[str, list[float]]] = {
            m: {d: [] for d in devices} for m in ("cold", "warm")
        }
        for r in range(repeats):
            batch = [f"{space}:{a}" for a in random_archs(space, n, 1000 + r)]
            for mode in ("cold", "warm"):
                clear_caches(fz, space, topologies=mode == "cold")
                t0 = time.perf_counter()
                fz.transform(batch)
                feat[mode].append(n / (time.perf_counter() - t0))
                for d in devices:
                    clear_caches(fz, space, topologies=mode == "cold")
                    t0 = time.perf_counter()
                    pred = est.predict([(m, d) for m in batch])
                    total[mode][d].append(n / (time.perf_counter() - t0))
                    assert np.all(np.isfinite(pred))
        onnx_archs = random_archs(space, 10, 7)
        t0 = time.perf_counter()
        for a in onnx_archs:
            graph_features(load_graph(build_model(f"{space}:{a}")))
        onnx_rate = len(onnx_archs) / (time.perf_counter() - t0)
        res: dict[str, Any] = {
            "n_per_repeat": n,
            "repeats": repeats,
            "devices": list(devices),
            "featurizer_init_s": round(init_s, 2),
            "onnx_path_graphs_per_s": round(onnx_rate, 2),
            "weights": {d: est.device_models_[d].weights.round(2).tolist() for d in devices},
        }
        out[space] = res
        for mode in ("cold", "warm"):
            every = [x for d in devices for x in total[mode][d]]
            res[mode] = {
                "features_graphs_per_s_median": round(float(np.median(feat[mode])), 1),
                "features_plus_prediction_graphs_per_s_median": round(float(np.median(every)), 1),
                "features_plus_prediction_min_device_median": round(
                    min(float(np.median(total[mode][d])) for d in devices), 1
                ),
                "features_plus_prediction_per_device": {
                    d: [round(x, 1) for x in total[mode][d]] for d in devices
                },
            }
        res["machine"] = {**machine, "load_avg_1m_at_end": os.getloadavg()[0]}
        print(space, json.dumps(res), flush=True)
    path.write_text(json.dumps(out, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
