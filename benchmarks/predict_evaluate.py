"""Predictor evaluation on help.csv.gz: the protocol of `edgewise predictor evaluate`.

    .venv/bin/python benchmarks/predict_evaluate.py --space nasbench201 --train-size 900 --seeds 3

A long run can be split into one command per seed and merged (the same numbers):

    ... --seeds 1 --first-seed 1 --tag _seed1      (one per seed)
    ... --merge benchmarks/results/predict_evaluate_nasbench201_900_seed*.json

Writes benchmarks/results/predict_evaluate_<space>_<train-size>.json with the per-device
table, the summary, and device-group medians used in docs/predictor.md (the groups are
for reporting only: nothing in the predictor looks at device names).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from edgewise.data import LatencyTable  # noqa: E402
from edgewise.predict import evaluate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "latency" / "help.csv.gz"
GPU_PREFIXES = ("1080ti", "2080ti", "titan", "v100")
WHOLE_MS = {"pixel2", "essential_ph_1", "samsung_a50", "samsung_s7"}


def group(device: str) -> str:
    if device.startswith(GPU_PREFIXES):
        return "gpu"
    if device in {"fpga", "eyeriss"}:
        return "fpga_asic"
    if device in WHOLE_MS:
        return "whole_ms_phone"
    return "cpu_phone"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--space", default="nasbench201")
    ap.add_argument("--train-size", type=int, default=900)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--devices", default="")
    ap.add_argument("--n-estimators", type=int, default=400)
    ap.add_argument("--tag", default="")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--merge", nargs="+", default=None, help="per-seed JSON files to merge")
    args = ap.parse_args()
    if args.merge:
        finish(merge([json.loads(Path(p).read_text()) for p in args.merge]), args)
        return
    table = LatencyTable.from_path(DATA)
    start = time.perf_counter()

    def progress(done: int, total: int, label: str) -> None:
        print(f"[{time.perf_counter() - start:7.1f}s] {label}", file=sys.stderr, flush=True)

    report = evaluate(
        table,
        space=args.space,
        train_size=args.train_size,
        seeds=args.seeds,
        devices=[d for d in args.devices.split(",") if d] or None,
        params={"n_estimators": args.n_estimators},
        progress=progress,
        first_seed=args.first_seed,
    )
    doc = report.to_dict()
    doc["first_seed"] = args.first_seed
    doc["per_seed_acc10"] = {d["device"]: [d["acc10"]] for d in doc["devices"]}
    finish(doc, args)


def merge(parts: list[dict]) -> dict:
    """One report from per-seed reports: means over seeds, as one multi-seed run gives."""
    first = parts[0]
    seeds = sorted(s for p in parts for s in range(p["first_seed"], p["first_seed"] + p["seeds"]))
    if len(set(seeds)) != len(seeds):
        raise SystemExit(f"overlapping seeds in --merge: {seeds}")
    keys = ("acc5", "acc10", "rmse_ms", "mape", "spearman", "kendall", "coverage90")
    devices = []
    for row in first["devices"]:
        rows = [next(r for r in p["devices"] if r["device"] == row["device"]) for p in parts]
        acc10s = [a for p in parts for a in p["per_seed_acc10"][row["device"]]]
        merged = dict(row)
        for k in (*keys, "width90_rel"):
            merged[k] = float(np.average([r[k] for r in rows], weights=[p["seeds"] for p in parts]))
        merged["acc10_std"] = float(np.std(acc10s))
        merged["ensemble_weights"] = {
            n: round(float(np.mean([r["ensemble_weights"][n] for r in rows])), 3)
            for n in row["ensemble_weights"]
        }
        devices.append(merged)
    doc = {
        **first,
        "seeds": len(seeds),
        "first_seed": min(seeds),
        "devices": devices,
        "elapsed_s": round(sum(p["elapsed_s"] for p in parts), 1),
        "per_seed_acc10": {
            d["device"]: [a for p in parts for a in p["per_seed_acc10"][d["device"]]]
            for d in devices
        },
        "merged_from": [p["command"] for p in parts],
    }
    doc["command"] = "; ".join(p["command"] for p in parts) + "; then --merge of those files"
    doc["summary"] = {
        "median_acc10": float(np.median([d["acc10"] for d in devices])),
        "mean_acc10": float(np.mean([d["acc10"] for d in devices])),
        "mean_spearman": float(np.nanmean([d["spearman"] for d in devices])),
        "mean_coverage90": float(np.nanmean([d["coverage90"] for d in devices])),
        "min_coverage90": float(np.nanmin([d["coverage90"] for d in devices])),
        "max_coverage90": float(np.nanmax([d["coverage90"] for d in devices])),
    }
    return doc


def finish(doc: dict, args: argparse.Namespace) -> None:
    groups: dict[str, list[dict]] = {}
    for d in doc["devices"]:
        groups.setdefault(group(d["device"]), []).append(d)
    doc["groups"] = {
        g: {
            "devices": [d["device"] for d in rows],
            "median_acc10": float(np.median([d["acc10"] for d in rows])),
            "min_acc10": float(np.min([d["acc10"] for d in rows])),
            "mean_spearman": float(np.mean([d["spearman"] for d in rows])),
        }
        for g, rows in sorted(groups.items())
    }
    doc["gpu_fpga_asic_median_acc10"] = float(
        np.median(
            [d["acc10"] for d in doc["devices"] if group(d["device"]) in {"gpu", "fpga_asic"}]
        )
    )
    if not args.merge:
        doc["command"] = " ".join(["python", *sys.argv])
    doc["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    out = (
        ROOT
        / "benchmarks"
        / "results"
        / (f"predict_evaluate_{doc['space']}_{doc['train_size']}{args.tag}.json")
    )
    out.write_text(json.dumps(doc, indent=1))
    print(
        json.dumps(
            {
                "summary": doc["summary"],
                "groups": doc["groups"],
                "gpu_fpga_asic_median_acc10": doc["gpu_fpga_asic_median_acc10"],
            },
            indent=1,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
