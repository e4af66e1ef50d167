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
Writes benchmarks/results/predict_noise_floor.json.
"""

from __future__ import annotations

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
    rng = np.random.default_rng(0)
    out: dict[str, object] = {"pairs": len(pairs), "devices": {}}
    for device in wide.columns:
        y = wide[device].to_numpy()
        a, b = y[idx[:, 0]], y[idx[:, 1]]
        ok = (a > 0.1) & (b > 0.1)
        a, b = a[ok], b[ok]
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
            ceiling = float(
                (1 - w) * (stats.norm.cdf(HI / s1) - stats.norm.cdf(LO / s1))
                + w * (stats.norm.cdf(HI / s2) - stats.norm.cdf(LO / s2))
            )
        full = y[y > 0.1]
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
        }
        print(device, out["devices"][device], flush=True)  # type: ignore[index]
    path = ROOT / "benchmarks" / "results" / "predict_noise_floor.json"
    path.write_text(json.dumps(out, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
