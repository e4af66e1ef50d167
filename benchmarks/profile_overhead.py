#!/usr/bin/env python3
"""Measurement overhead of ``edgewise profile`` vs a bare ``session.run`` loop and timeit.

Same models, same thread count, in one process. Each round is bare loop, edgewise, bare
loop (A-B-A), so slow drift and the neighbour vCPU's load hit both sides alike; the
round's ratio divides edgewise's single-stream p50 (compute and end to end) by the mean
of the two bare p50s. We report the median over rounds.

The issue's three sizes are mlp-small (~50 µs), cnn-small (~1 ms) and cnn-large
(~20 ms); mlp-tiny (~25 µs) is a below-spec stress row that shows the fixed per-query
cost of the LoadGen harness.

    python benchmarks/profile_overhead.py [--rounds 21] [--seconds 0.5]

Writes benchmarks/results/profile_overhead.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
import timeit
from pathlib import Path

import numpy as np
import onnxruntime as ort

from edgewise.profile import ProfileSettings, profile_model
from edgewise.runtime import load_model_info, resolve_shapes, synthesize
from edgewise.stats import quantile_ci
from edgewise.zoo import write_example

MODELS = ("mlp-small", "cnn-small", "cnn-large", "mlp-tiny")
#: Rows the issue's targets apply to (tiny ~50 µs to ~20 ms); mlp-tiny is below that range.
TARGET_ROWS = ("mlp-small", "cnn-small", "cnn-large")
RESULTS = Path(__file__).parent / "results"


def bare_loop(path: Path, feeds: dict, seconds: float) -> tuple[float, float]:
    """p50 of per-call ``session.run`` time (ms), and timeit's mean per call (ms)."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    for _ in range(20):
        sess.run(None, feeds)
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter_ns()
        sess.run(None, feeds)
        times.append(time.perf_counter_ns() - t0)
    per_call = sess.run  # timeit on the same session: total / number
    number = max(1, len(times) // 5)
    best = timeit.repeat(lambda: per_call(None, feeds), number=number, repeat=3)
    return float(np.median(times)) / 1e6, statistics.median(best) / number * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--seconds", type=float, default=0.5)
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated zoo names")
    ap.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite the .md from the last .json without measuring",
    )
    args = ap.parse_args()
    if args.render_only:
        render(json.loads((RESULTS / "profile_overhead.json").read_text()))
        return
    folder = Path(tempfile.mkdtemp(prefix="edgewise-bench-"))
    rows = []
    for name in args.models.split(","):
        path = write_example(name, folder)
        info = load_model_info(path)
        feeds = synthesize(info.inputs, resolve_shapes(info.inputs), rng=np.random.default_rng(0))
        rounds = []
        for r in range(args.rounds):
            bare_before, timeit_mean = bare_loop(path, feeds, args.seconds)
            res = profile_model(
                path,
                ProfileSettings(
                    duration_s=args.seconds, threads=1, min_queries=64, operator_runs=0
                ),
            )
            bare_after, _ = bare_loop(path, feeds, args.seconds)
            bare_p50 = (bare_before + bare_after) / 2
            rounds.append(
                {
                    "bare_p50_ms": bare_p50,
                    "timeit_mean_ms": timeit_mean,
                    "edgewise_e2e_p50_ms": res.latency.p50_ms,
                    "edgewise_compute_p50_ms": res.compute.p50_ms,
                    "edgewise_io_p50_ms": res.io.p50_ms,
                    "edgewise_unaccounted_p50_ms": res.unaccounted_p50_ms,
                    "loadgen_p50_ms": res.loadgen.get("result_50.00_percentile_latency_ns", 0)
                    / 1e6,
                    "ratio_compute": res.compute.p50_ms / bare_p50,
                    "ratio_e2e": res.latency.p50_ms / bare_p50,
                    "queries": res.queries,
                    "load_avg_1m": os.getloadavg()[0],
                }
            )
            print(
                f"{name} round {r + 1}: bare {bare_p50:.4f} ms, edgewise e2e "
                f"{res.latency.p50_ms:.4f} / compute {res.compute.p50_ms:.4f} ms",
                flush=True,
            )
        med = {k: statistics.median(x[k] for x in rounds) for k in rounds[0]}
        # Order-statistic 95% CI of the median ratio: how sure the median is, given the noise.
        ci = {k: quantile_ci([x[k] for x in rounds], 0.5) for k in ("ratio_compute", "ratio_e2e")}
        rows.append(
            {
                "model": name,
                "in_target_range": name in TARGET_ROWS,
                "rounds": rounds,
                "median": med,
                "median_ci95": ci,
            }
        )
    doc = {
        "command": f"python benchmarks/profile_overhead.py --rounds {args.rounds} --seconds {args.seconds:g}",
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "onnxruntime": ort.__version__,
        },
        "threads": 1,
        "targets": {"ratio_compute": 1.02, "ratio_e2e": 1.05},
        "models": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "profile_overhead.json").write_text(json.dumps(doc, indent=2))
    render(doc)


def render(doc: dict) -> None:
    """Write the markdown table from the JSON document (``--render-only`` redoes just this)."""
    rows = doc["models"]
    lines = [
        "# Measurement overhead: edgewise profile vs a bare session.run loop",
        "",
        f"Command: `{doc['command']}` (threads=1; each round is bare, edgewise, bare; "
        "medians over rounds of per-round ratios).",
        "onnxruntime_perf_test is not shipped in the onnxruntime wheel and cannot be built offline "
        "here, so the reference is a bare `session.run` loop timed per call (p50) and a "
        "`timeit.repeat` loop (mean per call).",
        "",
        "| model | bare p50 ms | timeit mean ms | edgewise compute p50 | edgewise e2e p50 | "
        "unaccounted p50 µs | LoadGen's own p50 | compute ratio (≤1.02) | e2e ratio (≤1.05) | "
        "e2e ratio 95% CI | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        m = row["median"]
        label = row["model"] if row["in_target_range"] else f"{row['model']} (below spec)"
        lo, hi = row["median_ci95"]["ratio_e2e"]
        lines.append(
            f"| {label} | {m['bare_p50_ms']:.4f} | {m['timeit_mean_ms']:.4f} | "
            f"{m['edgewise_compute_p50_ms']:.4f} | {m['edgewise_e2e_p50_ms']:.4f} | "
            f"{m['edgewise_unaccounted_p50_ms'] * 1e3:.1f} | "
            f"{m['loadgen_p50_ms']:.4f} | {m['ratio_compute']:.3f} | {m['ratio_e2e']:.3f} | "
            f"{lo:.3f}-{hi:.3f} | {m['load_avg_1m']:.1f} |"
        )
    lines += [
        "",
        "The issue's range is a tiny model of about 50 µs (mlp-small) up to about 20 ms "
        "(cnn-large). mlp-tiny is half that tiny size and is kept as a stress row: "
        "edgewise's end-to-end clock starts in LoadGen's issue callback, and the "
        "'unaccounted' column (end to end minus I/O minus compute) is the fixed per-query "
        "cost of that harness, which a bare loop does not pay. A harness that does nothing "
        "but read the clock, run and read the clock again inside LoadGen's callback pays "
        "the same ~2 µs (the caches are cold after LoadGen's own work between queries), "
        "so at ~25 µs that cost alone is ~8%. The CI column is the order-statistic 95% "
        "interval of the median ratio over rounds (edgewise.stats.quantile_ci).",
        "",
        "The compute ratio is below 1 because edgewise's compute is the run alone (IO "
        "binding), while a bare `session.run` also converts inputs and outputs. LoadGen's "
        "own p50 includes its issue/complete callbacks through Python, which edgewise's "
        "end-to-end clock excludes. Both sides share two vCPUs with other work, so single "
        "rounds swing by up to 50%; read the medians.",
    ]
    (RESULTS / "profile_overhead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
