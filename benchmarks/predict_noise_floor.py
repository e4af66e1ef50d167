"""Measurement-noise floor of help.csv.gz's NB201 latencies, from isomorphic pairs.

    .venv/bin/python benchmarks/predict_noise_floor.py

When edge 2<-1 of an NB201 cell is ``none``, nodes 1 and 2 both read only node 0, so
swapping them (ops 1<-0 with 2<-0, and 3<-1 with 3<-2) gives the same network. Every
such pair was measured twice as two "different" architectures: no predictor that sees
the graph can tell them apart, so their disagreement bounds every graph-based predictor.

Per device this reports, over the 1,500 pairs (rows under 0.1 ms, the pruned graphs,
are left out):
- ``replicate_acc10``: how often one measurement predicts its twin within 10%;
- ``systematic_r2``: cross-validated R^2 of a ridge predicting the pair log-ratio from
  the ops (<= 0 means the difference is noise, not an ordering effect);
- the single-measurement log-noise, fitted as a two-component Gaussian scale mixture
  to the pair log-ratios (a deconvolution; heavy tails are common here);
- ``ceiling_acc10``: the acc@10% of a perfect predictor (the true mean) under that noise;
- ``ceiling_spearman``: Spearman between the measured latencies and the same latencies
  with that noise added again (an approximation of the rank ceiling).

The pairs all have edge 2<-1 = ``none``: smaller, faster networks than the space as a
whole. Where the noise is heteroscedastic (it grows as latency falls on raspi4), their
pooled ceiling need not describe the test set, so the ceiling is also computed per
stratum and reweighted to the test distribution (``strata``):
- strata are the quintiles, over every architecture with a latency over 0.1 ms (the
  evaluation's test set is a random subset of those), of a covariate: the graph's live
  FLOPs (noise-free; the headline) or the measured latency (a pair is placed by the
  geometric mean of its two measurements);
- per stratum, the same mixture is fitted to that stratum's pairs and its ceiling
  computed; each stratum holds a fifth of the test set, so the reweighted ceiling is the
  mean of the five;
- ``abs_ratio_spearman_*``: rank correlation of the pair |log-ratio| with the covariate
  (negative: faster or smaller graphs are noisier);
- ``ceiling_acc10_flops_ci90``: a bootstrap over pairs (``BOOTSTRAP`` draws) of the
  FLOPs-reweighted ceiling, for the devices whose pooled ceiling is under 0.95.
Writes benchmarks/results/predict_noise_floor.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize, stats
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import cross_val_score

from edgewise.graph.builders import NB201_OPS, format_nasbench201, parse_nasbench201

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "latency" / "help.csv.gz"
LO, HI = np.log(1 / 1.1), np.log(1 / 0.9)  # |mu - y| / y <= 0.1  <=>  log(y / mu) in [LO, HI]
N_STRATA = 5
BOOTSTRAP = 40


def fit_mixture(r: np.ndarray) -> tuple[float, float, float]:
    """(w, s1, s2): eps ~ (1-w) N(0, s1^2) + w N(0, s2^2), fitted to r = eps_a - eps_b by
    maximum likelihood (bounded L-BFGS-B from several starts; s1 <= s2)."""

    def nll(theta: np.ndarray) -> float:
        w, s1, s2 = theta
        dens = (
            (1 - w) ** 2 * stats.norm.pdf(r, scale=np.sqrt(2) * s1)
            + 2 * w * (1 - w) * stats.norm.pdf(r, scale=np.sqrt(s1**2 + s2**2))
            + w**2 * stats.norm.pdf(r, scale=np.sqrt(2) * s2)
        )
        return float(-np.sum(np.log(dens + 1e-300)))

    single = float(np.std(r) / np.sqrt(2))
    robust = float(1.4826 * np.median(np.abs(r)) / np.sqrt(2)) + 1e-4
    best = None
    for start in (
        [0.0, single, 2 * single],
        [0.2, robust, 4 * robust],
        [0.5, robust, 2 * single],
        [0.05, robust, 8 * robust],
    ):
        res = optimize.minimize(
            nll,
            np.clip(start, [0, 1e-4, 1e-4], [1, 2, 2]),
            method="L-BFGS-B",
            bounds=[(0, 1), (1e-4, 2), (1e-4, 2)],
        )
        if best is None or res.fun < best.fun:
            best = res
    w, a, b = (float(v) for v in best.x)
    if a > b:
        a, b, w = b, a, 1 - w
    return w, a, b


def ceiling_of(w: float, s1: float, s2: float) -> float:
    """acc@10% of the true mean under single-measurement noise (w, s1, s2)."""
    return float(
        (1 - w) * (stats.norm.cdf(HI / s1) - stats.norm.cdf(LO / s1))
        + w * (stats.norm.cdf(HI / s2) - stats.norm.cdf(LO / s2))
    )


def stratified(
    r: np.ndarray, cov_pairs: np.ndarray, cov_test: np.ndarray
) -> tuple[float, list[dict[str, float]]]:
    """Ceiling reweighted to the test distribution of a covariate, and per-stratum rows.

    Strata are the test set's quintiles of the covariate, so each holds 1/N_STRATA of
    the test set and the reweighted ceiling is the mean of the strata's ceilings."""
    edges = np.quantile(cov_test, np.linspace(0, 1, N_STRATA + 1))
    which = np.digitize(cov_pairs, edges[1:-1])
    rows, ceilings = [], []
    for k in range(N_STRATA):
        rk = r[which == k]
        w, s1, s2 = fit_mixture(rk)
        c = ceiling_of(w, s1, s2)
        ceilings.append(c)
        rows.append(
            {
                "lo": round(float(edges[k]), 4),
                "hi": round(float(edges[k + 1]), 4),
                "pairs": int(rk.size),
                "median_abs_log_ratio": round(float(np.median(np.abs(rk))), 4),
                "replicate_acc10": round(
                    float(np.mean(np.abs(np.exp(np.r_[rk, -rk]) - 1) <= 0.1)), 4
                ),
                "ceiling_acc10": round(c, 4),
            }
        )
    return float(np.mean(ceilings)), rows


def main() -> None:
    df = pd.read_csv(DATA, usecols=["space", "arch", "device", "latency_ms"])
    df = df[df["space"] == "nasbench201"]
    wide = df.pivot(index="arch", columns="device", values="latency_ms")
    pos = {a: i for i, a in enumerate(wide.index)}
    pairs = []
    for a in wide.index:
        o = parse_nasbench201(a)
        if o[2] != "none":
            continue
        b = format_nasbench201((o[1], o[0], "none", o[3], o[5], o[4]))
        if b != a and pos[a] < pos[b]:
            pairs.append((pos[a], pos[b]))
    idx = np.array(pairs)
    ops_onehot = np.zeros((len(pairs), 25))
    for r, (i, _) in enumerate(pairs):
        o = parse_nasbench201(wide.index[i])
        for k, e in enumerate((0, 1, 3, 4, 5)):  # every op that the swap moves or keeps
            ops_onehot[r, k * 5 + NB201_OPS.index(o[e])] = 1
    from edgewise.graph import FEATURE_NAMES
    from edgewise.graph._fast import NB201Featurizer

    live_flops = (
        NB201Featurizer()
        .batch(list(wide.index), signatures=False)
        .features[:, FEATURE_NAMES.index("live.flops")]
    )
    rng = np.random.default_rng(0)
    out: dict[str, object] = {
        "pairs": len(pairs),
        "strata": N_STRATA,
        "bootstrap": BOOTSTRAP,
        "devices": {},
    }
    for device in wide.columns:
        y = wide[device].to_numpy()
        a, b = y[idx[:, 0]], y[idx[:, 1]]
        ok = (a > 0.1) & (b > 0.1)
        a, b = a[ok], b[ok]
        flops_pairs = live_flops[idx[ok, 0]]
        r = np.log(a / b)
        replicate = float(np.mean(np.r_[np.abs(b - a) / a, np.abs(a - b) / b] <= 0.1))
        # Is the pair difference systematic (predictable from the ops)? 5-fold CV R^2.
        systematic = (
            float(
                np.mean(
                    cross_val_score(
                        RidgeCV(alphas=np.logspace(-2, 3, 10)),
                        ops_onehot[ok],
                        r,
                        cv=5,
                        scoring="r2",
                    )
                )
            )
            if np.ptp(r) > 0
            else 0.0
        )
        quantized = bool(np.mean(r == 0) > 0.2)
        if np.allclose(r, 0):
            w, s1, s2, ceiling = 0.0, 0.0, 0.0, 1.0
        elif quantized:  # whole-millisecond devices: a continuous mixture does not fit
            out["devices"][device] = {  # type: ignore[index]
                "pairs_used": int(ok.sum()),
                "replicate_acc10": round(replicate, 4),
                "systematic_r2": round(systematic, 4),
                "quantized": True,
            }
            print(device, out["devices"][device], flush=True)  # type: ignore[index]
            continue
        else:
            w, s1, s2 = fit_mixture(r)
            ceiling = ceiling_of(w, s1, s2)
        full = y[y > 0.1]
        strata: dict[str, object] = {}
        if not np.allclose(r, 0):
            mean_ms = np.sqrt(a * b)
            by_flops, flops_rows = stratified(r, flops_pairs, live_flops[y > 0.1])
            by_ms, ms_rows = stratified(r, mean_ms, full)
            strata = {
                "ceiling_acc10_flops": round(by_flops, 4),
                "ceiling_acc10_latency": round(by_ms, 4),
                "abs_ratio_spearman_flops": round(
                    float(stats.spearmanr(np.abs(r), flops_pairs)[0]), 4
                ),
                "abs_ratio_spearman_latency": round(
                    float(stats.spearmanr(np.abs(r), mean_ms)[0]), 4
                ),
                "pair_share_per_flops_stratum": [
                    round(float(row["pairs"]) / r.size, 4) for row in flops_rows
                ],
                "by_flops": flops_rows,
                "by_latency": ms_rows,
            }
            if ceiling < 0.95:
                boot = []
                for _ in range(BOOTSTRAP):
                    pick = rng.integers(0, r.size, r.size)
                    boot.append(stratified(r[pick], flops_pairs[pick], live_flops[y > 0.1])[0])
                strata["ceiling_acc10_flops_ci90"] = [
                    round(float(q), 4) for q in np.quantile(boot, [0.05, 0.95])
                ]
        eps = np.where(
            rng.random(full.size) < w,
            rng.normal(0, s2 or 1e-12, full.size),
            rng.normal(0, s1 or 1e-12, full.size),
        )
        sp = float(stats.spearmanr(full, full * np.exp(eps))[0]) if s1 > 0 else 1.0
        out["devices"][device] = {  # type: ignore[index]
            "pairs_used": int(ok.sum()),
            "replicate_acc10": round(replicate, 4),
            "systematic_r2": round(systematic, 4),
            "noise_core_sd": round(s1, 4),
            "noise_tail_sd": round(s2, 4),
            "noise_tail_weight": round(w, 4),
            "ceiling_acc10": round(ceiling, 4),
            "ceiling_spearman": round(sp, 4),
            **strata,
        }
        print(device, out["devices"][device], flush=True)  # type: ignore[index]
    path = ROOT / "benchmarks" / "results" / "predict_noise_floor.json"
    path.write_text(json.dumps(out, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    # no options: --help says what the script does instead of starting a run
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    main()
