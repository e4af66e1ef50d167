"""Simulation study of the shadow judge (issue 4), against two baselines on the same streams.

Set-up: lognormal latencies (log-sd 0.6, median 10 ms) whose per-request factors
are correlated between production and candidate (log-correlation 0.85), plus
0.5% independent spikes per replica (x3 to x10, log-uniform); tolerance 10%,
alpha 0.05, a look every 500 paired requests, at most 60,000 requests per run.
The slower candidates are slower on every request; the tail scenario leaves
every request below the body's p95 unchanged and stretches the rest so that the
p99 is 1.5x production's. An extra A/A scenario has uncorrelated replicas
(log-correlation 0), to show what pairing buys and what peeking does to MW.

Judges, each fed the same streams look by look:
* ``edgewise`` - :class:`edgewise.shadow.Judge` (paired, anytime-valid).
* ``per-replica CS`` - the plain baseline: an anytime quantile confidence
  sequence per replica and quantile (the same Howard-Ramdas CS the judge uses),
  union bound over replicas and quantiles; FAIL when the candidate's lower bound
  > 1.1 x production's upper bound, PASS when its upper bound <= 1.1 x
  production's lower bound.
* ``kayenta MW`` - Kayenta-style: a two-sided Mann-Whitney U test at 95% on all
  requests so far, re-run at every look; FAIL the first time the candidate is
  significantly higher (with the mean ratio >= 1.0, Kayenta's default effect
  size), PASS if that never happens by 60k. ``kayenta MW +10%`` also needs the
  mean ratio >= 1.1 (Kayenta's ``allowedIncrease``) to FAIL.

Run: ``.venv/bin/python benchmarks/judge_simulation.py`` (about 10 minutes on
one core; ``--runs 20`` for a quick look). Writes
``benchmarks/results/judge_simulation.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgewise.shadow import Judge
from edgewise.stats import quantile_cs_ranks

N_MAX = 60_000
LOOK = 500
TOL = 0.10
ALPHA = 0.05
SIGMA = 0.6
RHO = 0.85
MEDIAN_MS = 10.0
SPIKE_P = 0.005
SPIKE_RANGE = (3.0, 10.0)
TRUE_DISAGREEMENT = 0.001
TAIL_FROM = 1.6449  # the tail scenario changes only requests beyond the body's p95


@dataclass(frozen=True)
class Scenario:
    """How the candidate differs from production."""

    key: str
    label: str
    scale: float = 1.0  # every request this much slower
    tail: float = 1.0  # log-deviations beyond the body's p95 stretched by this factor
    within_tolerance: bool = True
    rho: float = RHO  # log-correlation of the per-request factor between replicas


def _replica(
    rng: np.random.Generator, z: np.ndarray, *, scale: float, tail: float, rho: float
) -> np.ndarray:
    w = math.sqrt(rho) * z + math.sqrt(1.0 - rho) * rng.standard_normal(z.size)
    if tail != 1.0:
        w = np.where(w > TAIL_FROM, TAIL_FROM + (w - TAIL_FROM) * tail, w)
    x = MEDIAN_MS * scale * np.exp(SIGMA * w)
    spikes = rng.random(z.size) < SPIKE_P
    lo, hi = np.log(SPIKE_RANGE[0]), np.log(SPIKE_RANGE[1])
    x[spikes] *= np.exp(rng.uniform(lo, hi, int(spikes.sum())))
    return x


def make_stream(rng: np.random.Generator, sc: Scenario, n: int = N_MAX) -> tuple[np.ndarray, ...]:
    """Paired (production, candidate, agree) arrays for one run."""
    z = rng.standard_normal(n)
    prod = _replica(rng, z, scale=1.0, tail=1.0, rho=sc.rho)
    cand = _replica(rng, z, scale=sc.scale, tail=sc.tail, rho=sc.rho)
    agree = rng.random(n) >= TRUE_DISAGREEMENT
    return prod, cand, agree


def true_ratios(sc: Scenario, *, n: int = 4_000_000, seed: int = 12345) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    prod, cand, _ = make_stream(rng, sc, n)
    out = {}
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        out[name] = float(np.quantile(cand, q) / np.quantile(prod, q))
    return out


def calibrate_tail(target: float = 1.5) -> float:
    """The upper-tail stretch that makes the candidate's p99 ``target`` x production's."""
    lo, hi = 1.0, 4.0
    for _ in range(24):
        mid = 0.5 * (lo + hi)
        r = true_ratios(Scenario("t", "t", tail=mid), n=1_000_000)["p99"]
        lo, hi = (mid, hi) if r < target else (lo, mid)
    return 0.5 * (lo + hi)


class PerReplicaCS:
    """The plain baseline: per-replica anytime CS with a union bound."""

    def __init__(self, quantiles: tuple[float, ...]) -> None:
        self.quantiles = quantiles
        self.alpha_each = ALPHA / (2 * len(quantiles))  # two-sided CS per replica and quantile

    def look(self, ps: np.ndarray, cs: np.ndarray) -> str | None:
        n = ps.size
        passes = True
        for q in self.quantiles:
            lo, hi = quantile_cs_ranks(n, q, alpha=self.alpha_each)
            lp = ps[lo - 1] if lo >= 1 else -math.inf
            up = ps[hi - 1] if hi <= n else math.inf
            lc = cs[lo - 1] if lo >= 1 else -math.inf
            uc = cs[hi - 1] if hi <= n else math.inf
            if lc > (1 + TOL) * up:
                return "FAIL"
            passes = passes and uc <= (1 + TOL) * lp
        return "PASS" if passes else None


class KayentaMW:
    """Mann-Whitney U re-run at every look, with its U statistic kept incrementally."""

    def __init__(self, *, effect: float) -> None:
        self.effect = effect
        self.u = 0.0
        self.sum_p = 0.0
        self.sum_c = 0.0

    def update(
        self, ps_old: np.ndarray, cs_old: np.ndarray, dp: np.ndarray, dc: np.ndarray
    ) -> None:
        # U counts pairs (production i, candidate j) with C_j > P_i (continuous data: no ties).
        self.u += float(np.searchsorted(ps_old, dc, side="left").sum())
        self.u += float((cs_old.size - np.searchsorted(cs_old, dp, side="right")).sum())
        self.u += float(np.count_nonzero(dc[None, :] > dp[:, None]))
        self.sum_p += float(dp.sum())
        self.sum_c += float(dc.sum())

    def look(self, n: int) -> str | None:
        z = (self.u - n * n / 2.0) / math.sqrt(n * n * (2 * n + 1) / 12.0)
        if z > 1.959964 and self.sum_c / self.sum_p >= self.effect:
            return "FAIL"
        return None


def run_one(
    rng: np.random.Generator, sc: Scenario, *, quantiles: tuple[float, ...], agreement: bool
) -> dict[str, tuple[str, int]]:
    prod, cand, agree = make_stream(rng, sc)
    judge = Judge(
        ["cand"],
        quantiles=quantiles,
        tolerance=TOL,
        alpha=ALPHA,
        max_disagreement=0.01 if agreement else None,
        warmup=0,
        look_every=LOOK,
        max_requests=N_MAX,
        ratio_bounds=False,
    )
    base = PerReplicaCS(quantiles)
    mws = {"kayenta MW": KayentaMW(effect=1.0), "kayenta MW +10%": KayentaMW(effect=1 + TOL)}
    out: dict[str, tuple[str, int]] = {}
    ps, cs = np.empty(0), np.empty(0)
    for n in range(LOOK, N_MAX + 1, LOOK):
        dp, dc = prod[n - LOOK : n], cand[n - LOOK : n]
        if "edgewise" not in out:
            v = judge.add_many("cand", production_ms=dp, candidate_ms=dc, agree=agree[n - LOOK : n])
            if v.final:
                out["edgewise"] = (str(v.verdict), v.requests_used)
        for name, mw in mws.items():
            if name not in out:
                mw.update(ps, cs, dp, dc)
        sdp, sdc = np.sort(dp), np.sort(dc)
        ps = np.insert(ps, np.searchsorted(ps, sdp), sdp)
        cs = np.insert(cs, np.searchsorted(cs, sdc), sdc)
        if "per-replica CS" not in out:
            d = base.look(ps, cs)
            if d is not None:
                out["per-replica CS"] = (d, n)
        for name, mw in mws.items():
            if name not in out and mw.look(n) == "FAIL":
                out[name] = ("FAIL", n)
        if len(out) == 4:
            break
    out.setdefault("per-replica CS", ("INCONCLUSIVE", N_MAX))
    for name in mws:
        out.setdefault(name, ("PASS", N_MAX))  # never significantly worse: the canary passes
    return out


JUDGES = ("edgewise", "per-replica CS", "kayenta MW", "kayenta MW +10%")


def summarise(results: list[dict[str, tuple[str, int]]], sc: Scenario) -> dict[str, dict]:
    table = {}
    for judge in JUDGES:
        rows = [r[judge] for r in results]
        counts = {k: sum(1 for d, _ in rows if d == k) for k in ("PASS", "FAIL", "INCONCLUSIVE")}
        decided = [n for d, n in rows if d in ("PASS", "FAIL")]
        pass_n = [n for d, n in rows if d == "PASS"]
        fail_n = [n for d, n in rows if d == "FAIL"]
        runs = len(rows)
        wrong = counts["FAIL"] if sc.within_tolerance else counts["PASS"]
        table[judge] = {
            "runs": runs,
            "pass_rate": counts["PASS"] / runs,
            "fail_rate": counts["FAIL"] / runs,
            "inconclusive_rate": counts["INCONCLUSIVE"] / runs,
            "wrong_rate": wrong / runs,
            "median_requests_to_decision": float(np.median(decided)) if decided else None,
            "median_requests_to_pass": float(np.median(pass_n)) if pass_n else None,
            "median_requests_to_fail": float(np.median(fail_n)) if fail_n else None,
        }
    return table


def _fmt_n(x: float | None) -> str:
    return "-" if x is None else f"{x / 1000:.1f}k"


def to_markdown(report: dict) -> str:
    lines = [
        "# Shadow judge simulation",
        "",
        f"Command: `{report['command']}`  ",
        f"Runs per scenario: {report['runs']}; seed {report['seed']}; "
        f"wall time {report['wall_s']:.0f} s on {report['machine']}.",
        "",
        "Set-up: lognormal latencies (log-sd 0.6, median 10 ms), per-request factors "
        "shared between replicas with log-correlation 0.85, 0.5% independent spikes "
        "(x3-x10) per replica, tolerance 10%, alpha 0.05, a look every 500 paired "
        "requests, at most 60k requests per run. Slower candidates are slower on every "
        "request; the tail scenario changes only requests beyond the body's p95; the "
        "extra A/A scenario has uncorrelated replicas (log-correlation 0). "
        "`wrong` is false FAIL for scenarios "
        "within tolerance and false PASS for regressions. Requests to decision are "
        "medians over the runs that decided (kayenta MW never decides PASS early: "
        "it PASSes at 60k if it never failed).",
        "",
    ]
    for cfg in report["configs"]:
        lines += [
            f"## Quantiles {cfg['quantiles']}"
            + (" + output agreement (max 1%, true 0.1%)" if cfg["agreement"] else ""),
            "",
        ]
        lines += [
            "| scenario | true p50 / p99 ratio | judge | PASS | FAIL | INCONCL. at 60k | wrong | median n to PASS | median n to FAIL |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for sc in cfg["scenarios"]:
            tr = sc["true_ratios"]
            for judge, row in sc["judges"].items():
                lines.append(
                    f"| {sc['label']} | {tr['p50']:.3f} / {tr['p99']:.3f} | {judge} | "
                    f"{row['pass_rate']:.1%} | {row['fail_rate']:.1%} | "
                    f"{row['inconclusive_rate']:.1%} | {row['wrong_rate']:.1%} | "
                    f"{_fmt_n(row['median_requests_to_pass'])} | {_fmt_n(row['median_requests_to_fail'])} |"
                )
        lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "judge_simulation"
    )
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    tail = calibrate_tail()
    scenarios = [
        Scenario("aa", "A/A"),
        Scenario("s125", "1.25x slower", scale=1.25, within_tolerance=False),
        Scenario("s150", "1.5x slower", scale=1.5, within_tolerance=False),
        Scenario("s105", "1.05x slower (inside tolerance)", scale=1.05),
        Scenario(
            "tail",
            f"same median, tail beyond p95 stretched x{tail:.2f} (p99 1.5x)",
            tail=tail,
            within_tolerance=False,
        ),
        Scenario("aa0", "A/A, uncorrelated replicas (extra)", rho=0.0),
    ]
    truths = {sc.key: true_ratios(sc) for sc in scenarios}
    configs = []
    for quantiles, agreement in (((0.99,), False), ((0.5, 0.99), True)):
        cfg = {"quantiles": list(quantiles), "agreement": agreement, "scenarios": []}
        for si, sc in enumerate(scenarios):
            ts = time.perf_counter()
            seeds = np.random.SeedSequence([args.seed, si]).spawn(args.runs)
            results = [
                run_one(np.random.default_rng(s), sc, quantiles=quantiles, agreement=agreement)
                for s in seeds
            ]
            table = summarise(results, sc)
            cfg["scenarios"].append(
                {"key": sc.key, "label": sc.label, "true_ratios": truths[sc.key], "judges": table}
            )
            print(
                f"{quantiles} {sc.label}: "
                + ", ".join(
                    f"{j} P{t['pass_rate']:.0%}/F{t['fail_rate']:.0%}/I{t['inconclusive_rate']:.0%} "
                    f"n={_fmt_n(t['median_requests_to_decision'])}"
                    for j, t in table.items()
                )
                + f" [{time.perf_counter() - ts:.0f}s]",
                flush=True,
            )
        configs.append(cfg)
    report = {
        "command": "python benchmarks/judge_simulation.py"
        + (f" --runs {args.runs}" if args.runs != 200 else "")
        + (f" --seed {args.seed}" if args.seed != 2024 else ""),
        "runs": args.runs,
        "seed": args.seed,
        "setup": {
            "sigma_log": SIGMA,
            "log_correlation": RHO,
            "median_ms": MEDIAN_MS,
            "spike_probability": SPIKE_P,
            "spike_factor_range": SPIKE_RANGE,
            "tolerance": TOL,
            "alpha": ALPHA,
            "look_every": LOOK,
            "max_requests": N_MAX,
            "tail_stretch": tail,
        },
        "configs": configs,
        "wall_s": time.perf_counter() - t0,
        "machine": f"{platform.machine()}, python {platform.python_version()}",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(to_markdown(report))
    print(f"wrote {args.out.with_suffix('.md')} in {report['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
