"""Run the benchmarks with the commands their recorded results were made with.

    .venv/bin/python benchmarks/run_all.py --list          # what runs, and for how long
    .venv/bin/python benchmarks/run_all.py --only judge_simulation,shadow_aa
    .venv/bin/python benchmarks/run_all.py --kserve-python /tmp/kserve-venv/bin/python

`make bench` runs all of them, one after another (about 2.9 hours on the 2-core machine).
Each script writes its own files under benchmarks/results/; this runner only sequences
them and says which failed. shadow_serving.py compares with KServe, so it needs an
interpreter with kserve installed (`--kserve-python`); without one it is skipped, and
said so.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Bench:
    name: str
    args: tuple[str, ...]
    minutes: float  # wall time on the 2-core development machine (0: not recorded)
    kserve: bool = False  # needs --kserve-python


def _evaluate(space: str, size: int) -> list[Bench]:
    """One process per seed (as recorded), then a merge into the multi-seed file."""
    per_seed = [
        Bench(
            f"predict_evaluate_{space}_{size}_seed{s}",
            ("predict_evaluate.py", "--space", space, "--train-size", str(size), "--seeds", "1")
            + ("--first-seed", str(s), "--tag", f"_seed{s}"),
            6.0 if size == 900 else 4.0,
        )
        for s in range(3)
    ]
    merge = Bench(
        f"predict_evaluate_{space}_{size}",
        ("predict_evaluate.py", "--space", space, "--train-size", str(size), "--merge")
        + tuple(
            f"benchmarks/results/predict_evaluate_{space}_{size}_seed{s}.json" for s in range(3)
        ),
        0.1,
    )
    return [*per_seed, merge]


HELP_DEVICES = ("titan_rtx_256", "gold_6226", "fpga", "pixel2", "raspi4", "eyeriss")

BENCHES: list[Bench] = [  # in the order they run
    Bench("profile_overhead", ("profile_overhead.py", "--rounds", "21", "--seconds", "0.5"), 3),
    Bench("recommend_heldout", ("recommend_heldout.py",), 3),
    Bench("judge_simulation", ("judge_simulation.py",), 21),
    Bench("shadow_gateway_cpu", ("shadow_gateway_cpu.py",), 3),
    Bench("shadow_aa", ("shadow_aa.py", "--runs", "6"), 4),
    Bench("shadow_aa_warm", ("shadow_aa.py", "--runs", "3", "--warm-cpu"), 2),
    Bench(
        "shadow_aa_baseline",
        ("shadow_aa.py", "--runs", "3", "--baseline", "--requests", "61000"),
        12,
    ),
    Bench(
        "shadow_serving",
        ("shadow_serving.py", "--rounds", "5", "--seconds", "3", "--requests", "3000"),
        5,
        kserve=True,
    ),
    Bench(
        "shadow_serving_faults",
        ("shadow_serving.py", "--faults", "--rounds", "5", "--seconds", "4"),
        4,
    ),
    Bench("predict_features", ("predict_features.py", "--spaces", "nasbench201,fbnet"), 4),
    Bench(
        "predict_features_ofa",
        ("predict_features.py", "--spaces", "ofa_mbv3", "--repeats", "3"),
        13,
    ),
    Bench("predict_noise_floor", ("predict_noise_floor.py",), 2),
    *_evaluate("nasbench201", 900),
    *_evaluate("nasbench201", 100),
    *_evaluate("fbnet", 900),
    Bench(
        "predict_evaluate_ofa_mbv3_900",
        ("predict_evaluate.py", "--space", "ofa_mbv3", "--train-size", "900", "--seeds", "1"),
        26,
    ),
    *[
        Bench(
            f"predict_fewshot_{d}",
            ("predict_fewshot.py", "--shots", "5,10,20,50", "--seeds", "3", "--devices", d)
            + ("--out", f"predict_fewshot_{d}.json"),
            4,
        )
        for d in HELP_DEVICES
    ],
    # Design studies behind docs/predictor.md's "what was tried" tables (times not recorded).
    Bench("predict_variants_nasbench201", ("predict_variants.py", "--space", "nasbench201"), 0),
    Bench(
        "predict_variants_fbnet",
        ("predict_variants.py", "--space", "fbnet", "--variants")
        + ("lgb_l2,lgb_l1,lgb_l1_pos,kernel,kernel_l1,kernel_l1_pos,factor4",),
        0,
    ),
    Bench("predict_variants_fewshot", ("predict_variants.py", "--fewshot", "--shots", "10,20"), 0),
    Bench(
        "predict_fewshot_design_r16",
        (
            "predict_fewshot_design.py",
            "--n-factors",
            "16",
            "--fits",
            "blr",
            "--designs",
            "I,kcenter",
        ),
        0,
    ),
    Bench(
        "predict_fewshot_design_r8",
        ("predict_fewshot_design.py", "--n-factors", "8", "--fits", "blr,eb", "--designs")
        + ("D,I,kcenter",),
        0,
    ),
    Bench(
        "predict_fewshot",
        ("predict_fewshot.py", "--merge")
        + tuple(f"benchmarks/results/predict_fewshot_{d}.json" for d in HELP_DEVICES),
        0.1,
    ),
]


def select(names: str | None) -> list[Bench]:
    if names:
        wanted = [n.strip() for n in names.split(",") if n.strip()]
        known = {b.name for b in BENCHES}
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)} (see --list)")
        return [b for b in BENCHES if b.name in wanted]
    return list(BENCHES)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    ap.add_argument("--only", default=None, help="comma-separated names (see --list)")
    ap.add_argument("--kserve-python", default=None, help="interpreter with kserve installed")
    args = ap.parse_args()
    chosen = select(args.only)
    if args.list:
        for b in chosen:
            extra = "  (needs --kserve-python)" if b.kserve else ""
            took = f"~{b.minutes:>4.0f} min" if b.minutes else "    ? min"
            print(f"{b.name:40s} {took}  python benchmarks/{' '.join(b.args)}{extra}")
        untimed = sum(1 for b in chosen if not b.minutes)
        more = f", plus {untimed} not timed" if untimed else ""
        print(f"{'total':40s} ~{sum(b.minutes for b in chosen):>4.0f} min{more}")
        return 0
    failed: list[str] = []
    skipped: list[str] = []
    for i, b in enumerate(chosen, 1):
        cmd = [sys.executable, str(HERE / b.args[0]), *b.args[1:]]
        if b.kserve:
            if not args.kserve_python:
                print(f"[{i}/{len(chosen)}] {b.name}: skipped (needs --kserve-python)", flush=True)
                skipped.append(b.name)
                continue
            cmd += ["--kserve-python", args.kserve_python]
        expect = f"~{b.minutes:.0f} min" if b.minutes else "time not recorded"
        print(f"[{i}/{len(chosen)}] {b.name} ({expect})", flush=True)
        start = time.monotonic()
        rc = subprocess.call(cmd, cwd=HERE.parent)
        took = time.monotonic() - start
        print(f"[{i}/{len(chosen)}] {b.name}: exit {rc} after {took:.0f} s", flush=True)
        if rc != 0:
            failed.append(b.name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    done = len(chosen) - len(skipped)
    note = f" (skipped: {', '.join(skipped)})" if skipped else ""
    print(f"{done} of {len(chosen)} done{note}; results in {HERE / 'results'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
