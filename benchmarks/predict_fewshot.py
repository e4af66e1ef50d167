"""Few-shot adaptation to an unseen device, HELP protocol, on help.csv.gz.

    .venv/bin/python benchmarks/predict_fewshot.py --shots 5,10,20,50 --seeds 3

For each HELP meta-test device (titan_rtx_256, gold_6226, fpga, pixel2, raspi4, eyeriss):
train on every other device (3,000 random NB201 models outside the query set), adapt
from K target measurements (``--shot-selection design``: the predictor's I-optimal
design among the models outside the query index range; ``random``: random non-query
models), score the query set (NB201 indices 900-1899 trimmed to the 10th-90th latency
percentile) minus the shots. Target measurements used in total: K.
Writes benchmarks/results/predict_fewshot.json. A long run can be split per device and
merged: ``--devices raspi4 --out predict_fewshot_raspi4.json`` for each, then
``--merge benchmarks/results/predict_fewshot_*.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from edgewise.data import LatencyTable  # noqa: E402
from edgewise.predict._fewshot import fewshot_many  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "latency" / "help.csv.gz"
HELP_DEVICES = ("titan_rtx_256", "gold_6226", "fpga", "pixel2", "raspi4", "eyeriss")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shots", default="5,10,20,50")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--devices", default=",".join(HELP_DEVICES))
    ap.add_argument("--max-train-models", type=int, default=3000)
    ap.add_argument("--shot-selection", default="design", choices=("design", "random"))
    ap.add_argument("--out", default="predict_fewshot.json")
    ap.add_argument("--merge", nargs="+", default=None)
    args = ap.parse_args()
    shots = [int(k) for k in args.shots.split(",")]
    start = time.perf_counter()
    results: dict[str, list[dict]] = {}
    if args.merge:
        parts = [json.loads(Path(p).read_text()) for p in args.merge]
        for part in parts:
            results.update(part["devices"])
        shots = sorted({r["shots"] for v in results.values() for r in v})
        write(
            results,
            shots,
            "; ".join(p["command"] for p in parts) + "; then --merge of those files",
            sum(p["elapsed_s"] for p in parts),
            args.out,
        )
        return
    table = LatencyTable.from_path(DATA).select(space="nasbench201")
    for device in args.devices.split(","):
        reports = fewshot_many(
            table,
            target_device=device,
            shots=shots,
            seeds=args.seeds,
            query=(900, 1899),
            max_train_models=args.max_train_models,
            shot_selection=args.shot_selection,
        )
        results[device] = [asdict(r) for r in reports]
        for r in reports:
            print(
                f"[{time.perf_counter() - start:6.0f}s] {device} K={r.shots}: spearman "
                f"{r.spearman_mean:.4f}±{r.spearman_std:.4f} acc10 {r.acc10_mean:.3f} "
                f"cov90 {r.coverage90_mean:.3f} width {r.width90_rel_mean:.3f}",
                flush=True,
            )
    write(
        results,
        shots,
        " ".join(["python", *sys.argv]),
        time.perf_counter() - start,
        args.out,
    )


def write(
    results: dict[str, list[dict]], shots: list[int], command: str, elapsed: float, name: str
) -> None:
    summary = {
        str(k): {
            "mean_spearman": float(
                np.mean(
                    [
                        next(r for r in results[d] if r["shots"] == k)["spearman_mean"]
                        for d in results
                    ]
                )
            ),
            "mean_acc10": float(
                np.mean(
                    [next(r for r in results[d] if r["shots"] == k)["acc10_mean"] for d in results]
                )
            ),
            "mean_coverage90": float(
                np.mean(
                    [
                        next(r for r in results[d] if r["shots"] == k)["coverage90_mean"]
                        for d in results
                    ]
                )
            ),
        }
        for k in shots
    }
    doc = {
        "command": command,
        "summary_by_shots": summary,
        "devices": results,
        "elapsed_s": round(elapsed, 1),
    }
    out = ROOT / "benchmarks" / "results" / name
    out.write_text(json.dumps(doc, indent=1))
    print(json.dumps(summary, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
