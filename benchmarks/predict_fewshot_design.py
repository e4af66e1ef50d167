"""Few-shot variants: which target models to measure, and how to fit the embedding.

    .venv/bin/python benchmarks/predict_fewshot_design.py --n-factors 8 --fits blr,eb --designs D,I,kcenter
    .venv/bin/python benchmarks/predict_fewshot_design.py --n-factors 16 --fits blr --designs I,kcenter

HELP protocol, seed 0 only: per target device (titan_rtx_256, gold_6226, fpga, pixel2,
raspi4, eyeriss) a shared-factor predictor (rank ``--n-factors``, two folds) is trained
on the other devices (3,000 random NB201 models outside the query set), then the
target's ``(mu, v)`` is fitted from K shots and scored by Spearman on the query set
(NB201 indices 900-1899 trimmed to the 10th-90th percentile of the target's latency).
Shots are chosen among the connected models outside the index range 900-1899:
- ``random``: mean over 5 random draws;
- ``D``: greedy D-optimal on the factors (max posterior variance of the new point);
- ``I``: greedy I-optimal (max reduction of the mean predictive variance), the library's
  ``LatencyPredictor.design_shots``;
- ``kcenter``: farthest-point sampling in prior-whitened factor space.
Fits: ``blr`` is the library's Bayesian linear regression (prior = training devices'
embeddings, noise = training residual variance); ``eb`` picks a prior scale and a noise
variance by maximising the shots' marginal likelihood (empirical Bayes). ``ref_all``
fits on every candidate (the factor model's ceiling for that device). No design reads
a target latency. Writes benchmarks/results/predict_fewshot_design_r<N>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from edgewise.data import LatencyTable  # noqa: E402
from edgewise.predict import LatencyPredictor  # noqa: E402
from edgewise.predict._featurize import shared_featurizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "latency" / "help.csv.gz"
HELP_DEVICES = ("titan_rtx_256", "gold_6226", "fpga", "pixel2", "raspi4", "eyeriss")


def blr(phi: np.ndarray, y: np.ndarray, m: np.ndarray, s: np.ndarray, noise: float) -> np.ndarray:
    prec = np.linalg.inv(s)
    a = phi.T @ phi / noise + prec
    return np.linalg.solve(a, phi.T @ y / noise + prec @ m)


def eb(phi: np.ndarray, y: np.ndarray, m: np.ndarray, s: np.ndarray, noise: float) -> np.ndarray:
    best = (-np.inf, 1.0, noise)
    for tau in (0.25, 0.5, 1, 2, 4, 8, 16):
        for nz in np.geomspace(1e-6, 1, 25):
            c = tau * phi @ s @ phi.T + nz * np.eye(len(y))
            r = y - phi @ m
            ll = -0.5 * (np.linalg.slogdet(c)[1] + r @ np.linalg.solve(c, r))
            if ll > best[0]:
                best = (ll, tau, nz)
    return blr(phi, y, m, best[1] * s, best[2])


def design(phi: np.ndarray, k: int, s: np.ndarray, noise: float, kind: str) -> list[int]:
    if kind == "kcenter":
        z = phi @ np.linalg.cholesky(s)
        chosen = [int(np.argmin(((z - z.mean(0)) ** 2).sum(1)))]
        dist = ((z - z[chosen[0]]) ** 2).sum(1)
        while len(chosen) < k:
            c = int(np.argmax(dist))
            chosen.append(c)
            dist = np.minimum(dist, ((z - z[c]) ** 2).sum(1))
        return chosen
    if kind == "I":
        return []  # the library's design (below)
    ainv = s / noise
    chosen = []
    for _ in range(k):
        g = np.einsum("ij,jk,ik->i", phi, ainv, phi)
        g[chosen] = -np.inf
        c = int(np.argmax(g))
        chosen.append(c)
        ax = ainv @ phi[c]
        ainv = ainv - np.outer(ax, ax) / (1 + phi[c] @ ax)
    return chosen


def score(ctx: tuple, idx: list[int] | np.ndarray, fit: object) -> float:
    """Spearman on the query set of the embedding fitted on candidates ``idx``."""
    phic, yc, m, s, noise, uq, yq = ctx
    w = fit(phic[idx], yc[idx], m, s, noise)  # type: ignore[operator]
    return float(spearmanr(w[0] + uq @ w[1:], yq)[0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-factors", type=int, default=8)
    ap.add_argument("--fits", default="blr,eb")
    ap.add_argument("--designs", default="D,I,kcenter")
    ap.add_argument("--devices", default=",".join(HELP_DEVICES))
    args = ap.parse_args()
    fits = {"blr": blr, "eb": eb}
    fr = LatencyTable.from_path(DATA).select(space="nasbench201").frame
    first = fr[fr["device"] == fr["device"].iloc[0]]
    cand = first[~first["arch_idx"].between(900, 1899)]["model"].tolist()
    cand = [
        m for m, c in zip(cand, shared_featurizer().transform(cand).connected, strict=True) if c
    ]
    start = time.perf_counter()
    res: dict[str, dict[str, float]] = {}
    for d in args.devices.split(","):
        tgt = fr[fr["device"] == d].set_index("model")
        q = tgt[tgt["arch_idx"].between(900, 1899)]
        lo, hi = np.percentile(q["latency_ms"], [10, 90])
        q = q[(q["latency_ms"] >= lo) & (q["latency_ms"] <= hi)]
        others = fr[(fr["device"] != d) & ~fr["model"].isin(set(q.index))]
        rng = np.random.default_rng(0)
        keep = set(rng.permutation(others["model"].unique())[:3000].tolist())
        tr = others[others["model"].isin(keep)]
        base = LatencyPredictor(
            pipelines=(), share=True, random_state=0, cv_folds=2, n_factors=args.n_factors
        ).fit(tr[["model", "device"]], tr["latency_ms"].to_numpy())
        sf = base.shared_
        uq = sf.factors(base._features(list(q.index))[1])
        yq = np.log(q["latency_ms"].to_numpy())
        uc = sf.factors(base._features(cand)[1])
        phic = np.column_stack([np.ones(len(cand)), uc])
        yc = np.log(tgt.loc[cand, "latency_ms"].to_numpy())
        m, s = sf.prior()
        noise = sf.noise_var
        rng = np.random.default_rng(123)

        ctx = (phic, yc, m, s, noise, uq, yq)
        out: dict[str, float] = {}
        for k in (5, 10, 20, 50):
            for name in args.fits.split(","):
                fit = fits[name]
                draws = [rng.choice(len(cand), k, replace=False) for _ in range(5)]
                out[f"K{k}_random_{name}"] = float(np.mean([score(ctx, i, fit) for i in draws]))
                for kind in args.designs.split(","):
                    idx = sf.design(uc, k) if kind == "I" else design(phic, k, s, noise, kind)
                    out[f"K{k}_{kind}_{name}"] = score(ctx, idx, fit)
        out["ref_all"] = score(ctx, np.arange(len(cand)), blr)
        res[d] = out
        print(f"[{time.perf_counter() - start:5.0f}s] {d}", json.dumps(out), flush=True)
    doc = {
        "command": " ".join(["python", *sys.argv]),
        "devices": res,
        "mean": {k: float(np.mean([v[k] for v in res.values()])) for k in next(iter(res.values()))},
        "elapsed_s": round(time.perf_counter() - start, 1),
    }
    out_path = ROOT / "benchmarks" / "results" / f"predict_fewshot_design_r{args.n_factors}.json"
    out_path.write_text(json.dumps(doc, indent=1))
    print(json.dumps(doc["mean"], indent=1))


if __name__ == "__main__":
    main()
