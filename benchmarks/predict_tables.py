"""Markdown tables for docs/predictor.md from the predict_* result files.

.venv/bin/python benchmarks/predict_tables.py > /tmp/tables.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
GPU = ("1080ti", "2080ti", "titan", "v100")
WHOLE_MS = {"pixel2", "essential_ph_1", "samsung_a50", "samsung_s7"}


def load(name: str) -> dict | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.is_file() else None


def evaluate_table(doc: dict, noise: dict | None) -> str:
    head = (
        "| device | n_train | n_test | acc10 (sd) | acc5 | MAPE % | Spearman | Kendall | "
        "cov90 | width90 | noise ceiling acc10 (pooled / test-weighted) |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|"
    )
    rows = []
    for d in doc["devices"]:
        ceil = ""
        if noise and d["device"] in noise["devices"]:
            n = noise["devices"][d["device"]]
            ceil = f"{n['ceiling_acc10']:.3f}" if "ceiling_acc10" in n else "quantized"
            if "ceiling_acc10_flops" in n:
                ceil += f" / {n['ceiling_acc10_flops']:.3f}"
        rows.append(
            f"| {d['device']} | {d['n_train']} | {d['n_test']} | {d['acc10']:.3f} "
            f"({d['acc10_std']:.3f}) | {d['acc5']:.3f} | {d['mape']:.2f} | {d['spearman']:.4f} | "
            f"{d['kendall']:.3f} | {d['coverage90']:.3f} | {d['width90_rel']:.3f} | {ceil} |"
        )
    return "\n".join([head, *rows])


def noise_strata_table(noise: dict) -> None:
    """Per-stratum ceilings of the devices with a bootstrap interval (pooled ceiling < 0.95)."""
    rows = {d: v for d, v in noise["devices"].items() if "ceiling_acc10_flops_ci90" in v}
    if not rows:
        return
    k = noise.get("strata", 5)
    print("\n### Noise ceiling by stratum (NB201)\n")
    print("`python benchmarks/predict_noise_floor.py`\n")
    print(
        "| device | pooled | "
        + " | ".join(f"FLOPs q{i + 1}" for i in range(k))
        + " | test-weighted by FLOPs (90% bootstrap) | by latency | rank corr. of pair "
        "\\|log ratio\\| with latency | pair share in FLOPs q1..q5 |"
    )
    print("|---|---|" + "---|" * k + "---|---|---|---|")
    for d, v in rows.items():
        lo, hi = v["ceiling_acc10_flops_ci90"]
        print(
            f"| {d} | {v['ceiling_acc10']:.3f} | "
            + " | ".join(f"{r['ceiling_acc10']:.3f}" for r in v["by_flops"])
            + f" | {v['ceiling_acc10_flops']:.3f} ({lo:.3f}-{hi:.3f}) | "
            f"{v['ceiling_acc10_latency']:.3f} | {v['abs_ratio_spearman_latency']:+.3f} | "
            + " / ".join(f"{x:.2f}" for x in v["pair_share_per_flops_stratum"])
            + " |"
        )


def main() -> None:
    noise = load("predict_noise_floor.json")
    for space in ("nasbench201", "fbnet", "ofa_mbv3"):
        for n in (900, 100):
            doc = load(f"predict_evaluate_{space}_{n}.json")
            if doc is None:
                continue
            print(f"\n### {space}, {n} training architectures, {doc['seeds']} seeds\n")
            print(f"`{doc['command']}` ({doc['elapsed_s']:.0f} s)\n")
            print(evaluate_table(doc, noise if space == "nasbench201" else None))
            devs = doc["devices"]
            gfa = [
                d["acc10"]
                for d in devs
                if d["device"].startswith(GPU) or d["device"] in {"fpga", "eyeriss"}
            ]
            cpu = [
                (d["device"], d["acc10"])
                for d in devs
                if not d["device"].startswith(GPU)
                and d["device"] not in {"fpga", "eyeriss"} | WHOLE_MS
            ]
            cov = [d["coverage90"] for d in devs]
            print(
                f"\nsummary: median acc10 GPU+FPGA+ASIC {np.median(gfa):.4f}; "
                + ("CPU/phone " + ", ".join(f"{k} {v:.3f}" for k, v in cpu) + "; " if cpu else "")
                + f"mean Spearman {doc['summary']['mean_spearman']:.4f} (non-whole-ms "
                f"devices {np.mean([d['spearman'] for d in devs if d['device'] not in WHOLE_MS]):.4f})"
                f"; coverage90 {min(cov):.3f}-{max(cov):.3f} (mean {np.mean(cov):.3f})"
            )
    if noise:
        vals = [v["ceiling_spearman"] for v in noise["devices"].values() if "ceiling_spearman" in v]
        print(
            f"\nnoise-ceiling Spearman, mean over the {len(vals)} non-quantized NB201 devices: "
            f"{np.mean(vals):.4f}"
        )
        noise_strata_table(noise)
    fs = load("predict_fewshot.json")
    if fs:
        print("\n### Few-shot (HELP protocol)\n")
        print(f"`{fs['command']}` ({fs['elapsed_s']:.0f} s)\n")
        sel = sorted({r.get("shot_selection", "random") for v in fs["devices"].values() for r in v})
        used = sorted(
            {(r["shots"], r["measurements_used"]) for v in fs["devices"].values() for r in v}
        )
        print(
            f"Shots: {', '.join(sel)}; target measurements used in total: "
            + ", ".join(f"K={k}: {m}" for k, m in used)
            + ".\n"
        )
        shots = sorted({r["shots"] for v in fs["devices"].values() for r in v})
        print(
            "| device | "
            + " | ".join(f"K={k} Spearman" for k in shots)
            + " | K=10 acc10 | K=10 cov90 |"
        )
        print("|---|" + "---|" * (len(shots) + 2))
        for dev, reps in fs["devices"].items():
            by = {r["shots"]: r for r in reps}
            k10 = by.get(10, reps[0])
            print(
                f"| {dev} | "
                + " | ".join(
                    f"{by[k]['spearman_mean']:.4f} ± {by[k]['spearman_std']:.4f}" for k in shots
                )
                + f" | {k10['acc10_mean']:.3f} | {k10['coverage90_mean']:.3f} |"
            )
        print(
            "| **mean** | "
            + " | ".join(
                f"**{fs['summary_by_shots'][str(k)]['mean_spearman']:.4f}**" for k in shots
            )
            + f" | {fs['summary_by_shots'].get('10', {}).get('mean_acc10', float('nan')):.3f} | "
            f"{fs['summary_by_shots'].get('10', {}).get('mean_coverage90', float('nan')):.3f} |"
        )
    for space in ("nasbench201", "fbnet"):
        var = load(f"predict_variants_{space}.json")
        if not var:
            continue
        command = var.pop("_command", f"python benchmarks/predict_variants.py --space {space}")
        var = {n: v for n, v in var.items() if v.get("devices")}
        print(f"\n### Variants tried, {space} (900 training architectures, seed 0)\n")
        print(f"`{command}`\n")
        cpus = sorted(next(iter(var.values()))["cpu_phone_acc10"])
        print("| variant | median acc10 GPU+FPGA+ASIC | " + " | ".join(cpus) + " | mean Spearman |")
        print("|---|---|" + "---|" * len(cpus) + "---|")
        for name, v in var.items():
            print(
                f"| {name} | {v['gpu_fpga_asic_median_acc10']:.4f} | "
                + " | ".join(f"{v['cpu_phone_acc10'][c]:.3f}" for c in cpus)
                + f" | {v['mean_spearman']:.4f} |"
            )
    fsv = load("predict_variants_fewshot.json")
    if fsv:
        print("\n### Few-shot variants (HELP query set, 5 shot draws, seed-0 training set)\n")
        print("`python benchmarks/predict_variants.py --fewshot --shots 10,20`\n")
        keys = list(fsv["mean"])
        print("| variant | " + " | ".join(d for d in fsv if d != "mean") + " | mean |")
        print("|---|" + "---|" * len(fsv))
        for k in keys:
            print(
                f"| {k} | "
                + " | ".join(f"{fsv[d][k]:.4f}" for d in fsv if d != "mean")
                + f" | **{fsv['mean'][k]:.4f}** |"
            )
    feats = load("predict_features.json")
    if feats:
        print("\n### Speed\n")
        for space in ("nasbench201", "fbnet", "ofa_mbv3"):
            if space not in feats:
                continue
            f = feats[space]
            # per space since OFA was added (run alone); the top level before
            repeats = f.get("repeats", feats.get("repeats"))
            n = f.get("n_per_repeat", feats.get("n_per_repeat"))
            for mode in ("cold", "warm"):
                m = f[mode]
                print(
                    f"- {space}, {mode}: features {m['features_graphs_per_s_median']:.0f} "
                    f"graphs/s, features + prediction "
                    f"{m['features_plus_prediction_graphs_per_s_median']:.0f} graphs/s "
                    f"(median of {repeats} x {n} x 3 devices; "
                    f"slowest device {m['features_plus_prediction_min_device_median']:.0f})"
                )
            print(
                f"- {space}: ONNX path {f['onnx_path_graphs_per_s']:.1f} graphs/s; one-off "
                f"init {f['featurizer_init_s']} s"
                + (" (tables are built per resolution, in cold)" if space == "ofa_mbv3" else "")
            )


if __name__ == "__main__":
    # no options: --help says what the script does instead of starting a run
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    main()
