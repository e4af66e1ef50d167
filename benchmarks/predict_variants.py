"""The model variants tried while building the predictor, on one split (seed 0).

    .venv/bin/python benchmarks/predict_variants.py --space nasbench201      # accuracy variants
    .venv/bin/python benchmarks/predict_variants.py --fewshot                # few-shot variants

Accuracy variants: per-device models on 900 random training architectures (the same
permutation for every device), scored on the other 14,725 (NB201) or 4,100 (FBNet):
- ``baseline``: the issue's baseline, HistGradientBoosting on log latency with the NB201
  one-hot encoding plus live-edge flags;
- ``lgb_l2`` / ``lgb_l1`` / ``lgb_huber``: LightGBM on the graph features;
- ``lgb_l1_pos``: ``lgb_l1`` plus the position features (where each heavy kernel and
  multiplication sits between the graph's cut points, :mod:`edgewise.graph._position`);
- ``kernel``: the kernel-additive model alone (non-negative ridge on kernel signatures,
  solved exactly as the library does: ``nonnegative_ridge``, per-sample penalty 1e-6);
- ``kernel_l1`` / ``kernel_l2``: the same times a LightGBM correction;
- ``kernel_l1_pos``: ``kernel_l1`` with the position features in the correction (what
  the library's ``kernel`` pipeline does);
- ``kernel_oof_l1``: the correction trained on out-of-fold kernel-model predictions;
- ``factor4``: a rank-4 shared device model (SVD of the devices' training latencies,
  factors predicted from graph features) plus a per-device Huber residual.
Few-shot variants (HELP protocol, K shots, 5 draws): isotropic ridge vs Bayesian
adaptation in the shared factor basis (rank 6/10/20), a basis of per-device models, and
the many-shot reference (the target's own model on all 14,625 non-query architectures).
Writes benchmarks/results/predict_variants_<space>.json or predict_variants_fewshot.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import lightgbm as lgb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from edgewise.graph.builders import NB201_EDGES, NB201_OPS, parse_nasbench201  # noqa: E402
from edgewise.predict import regression_metrics  # noqa: E402
from edgewise.predict._featurize import SignatureVocab, shared_featurizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "latency" / "help.csv.gz"
GPU = ("1080ti", "2080ti", "titan")
WHOLE_MS = {"pixel2", "essential_ph_1", "samsung_a50", "samsung_s7"}
HELP_DEVICES = ("titan_rtx_256", "gold_6226", "fpga", "pixel2", "raspi4", "eyeriss")


def load(
    space: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], list[str], np.ndarray, np.ndarray]:
    df = pd.read_csv(DATA, usecols=["space", "arch", "device", "latency_ms", "arch_idx"])
    df = df[df["space"] == space]
    wide = df.pivot(index="arch", columns="device", values="latency_ms")
    idx = df.drop_duplicates("arch").set_index("arch")["arch_idx"].reindex(wide.index)
    archs = list(wide.index)
    batch = shared_featurizer().transform([f"{space}:{a}" for a in archs])
    sig = SignatureVocab.fit(batch.signatures).transform(batch.signatures).toarray()
    x = batch.features[:, batch.features.std(axis=0) > 0]
    return (
        x,
        sig[:, sig.std(axis=0) > 0],
        wide.to_numpy(),
        list(wide.columns),
        archs,
        idx.to_numpy(),
        batch.positions[:, batch.positions.std(axis=0) > 0],
    )


def onehot_live(archs: list[str]) -> np.ndarray:
    out = np.zeros((len(archs), 36))
    for r, a in enumerate(archs):
        ops = parse_nasbench201(a)
        for e, op in enumerate(ops):
            out[r, e * 5 + NB201_OPS.index(op)] = 1
        fwd, bwd = {0}, {3}
        for (j, i), op in zip(NB201_EDGES, ops, strict=True):
            if op != "none" and i in fwd:
                fwd.add(j)
        for (j, i), op in reversed(list(zip(NB201_EDGES, ops, strict=True))):
            if op != "none" and j in bwd:
                bwd.add(i)
        for e, ((j, i), op) in enumerate(zip(NB201_EDGES, ops, strict=True)):
            out[r, 30 + e] = float(op != "none" and i in fwd and j in bwd)
    return out


def booster(
    x: np.ndarray, y: np.ndarray, objective: str = "regression", n: int = 600, **extra: float
) -> lgb.Booster:
    params = {
        "objective": objective,
        "learning_rate": 0.03,
        "num_leaves": 15,
        "min_data_in_leaf": 5,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "feature_fraction": 0.8,
        "num_threads": 1,
        "verbose": -1,
        "seed": 0,
        **extra,
    }
    return lgb.train(params, lgb.Dataset(x, y, params={"verbose": -1}), num_boost_round=n)


def kernel_base(sig: np.ndarray, y: np.ndarray, tr: np.ndarray) -> np.ndarray:
    """The library's kernel-additive base (exact NNLS ridge, as ``KernelPipeline``)."""
    from edgewise.predict._pipelines import nonnegative_ridge

    scale = float(y[tr].mean())
    coef, intercept = nonnegative_ridge(sig[tr], y[tr] / scale, alpha=1e-6)
    return np.maximum((sig @ coef + intercept) * scale, 0.05 * float(y[tr].min()))


def accuracy_variants(
    space: str, variants: list[str], *, train_size: int = 900, only: set[str] | None = None
) -> dict:
    x, sig, lat, devices, archs, _, pos = load(space)
    xp = np.hstack([x, pos])
    ly = np.log(lat)
    perm = np.random.default_rng(0).permutation(len(archs))
    tr, te = perm[:train_size], perm[train_size:]
    oh = onehot_live(archs) if space == "nasbench201" else None
    out: dict[str, dict] = {}
    for v in variants:
        t0 = time.perf_counter()
        if v == "factor4":
            m = ly[tr]
            mu = m.mean(axis=0)
            u, s, vt = np.linalg.svd(m - mu, full_matrices=False)
            scores = u[:, :4] * s[:4]
            uh = np.column_stack([booster(x[tr], scores[:, k], n=800).predict(x) for k in range(4)])
        rows = {}
        for j, dev in enumerate(devices):
            if only and dev not in only:
                continue
            y = lat[:, j]
            if v == "baseline":
                if oh is None:
                    continue
                from sklearn.ensemble import HistGradientBoostingRegressor

                est = HistGradientBoostingRegressor(
                    max_iter=500, learning_rate=0.05, random_state=0
                ).fit(oh[tr], ly[tr, j])
                p = np.exp(est.predict(oh[te]))
            elif v == "lgb_l1_pos":
                p = np.exp(booster(xp[tr], ly[tr, j], "l1").predict(xp[te]))
            elif v in {"lgb_l2", "lgb_l1", "lgb_huber"}:
                obj = {"lgb_l2": "regression", "lgb_l1": "l1", "lgb_huber": "huber"}[v]
                extra = {"alpha": 0.05} if v == "lgb_huber" else {}
                p = np.exp(booster(x[tr], ly[tr, j], obj, **extra).predict(x[te]))
            elif v == "kernel_oof_l1":
                # the correction learns from out-of-fold kernel-model predictions
                from sklearn.model_selection import KFold

                oof = np.zeros(len(tr))
                for a, b in KFold(5, shuffle=True, random_state=0).split(tr):
                    oof[b] = kernel_base(sig, y, tr[a])[tr[b]]
                base = kernel_base(sig, y, tr)
                feats = np.column_stack([x, np.log(base)])
                feats_tr = np.column_stack([x[tr], np.log(oof)])
                corr = booster(feats_tr, ly[tr, j] - np.log(oof), "l1", n=600)
                p = base[te] * np.exp(corr.predict(feats[te]))
            elif v.startswith("kernel"):
                base = kernel_base(sig, y, tr)
                if v == "kernel":
                    p = base[te]
                else:
                    feats = np.column_stack([xp if v == "kernel_l1_pos" else x, np.log(base)])
                    obj = "regression" if v == "kernel_l2" else "l1"
                    corr = booster(feats[tr], ly[tr, j] - np.log(base[tr]), obj, n=400)
                    p = base[te] * np.exp(corr.predict(feats[te]))
            elif v == "factor4":
                base = mu[j] + uh @ vt[:4, j]
                feats = np.column_stack([x, base])
                corr = booster(feats[tr], ly[tr, j] - base[tr], "huber", n=400, alpha=0.05)
                p = np.exp(base[te] + corr.predict(feats[te]))
            else:
                raise SystemExit(f"unknown variant {v}")
            rows[dev] = regression_metrics(y[te], p)
        out[v] = {"devices": rows, "seconds": round(time.perf_counter() - t0, 1), **summarize(rows)}
        print(v, json.dumps({k: out[v][k] for k in out[v] if k != "devices"}), flush=True)
    return out


def summarize(rows: dict[str, dict]) -> dict:
    gfa = [m["acc10"] for d, m in rows.items() if d.startswith(GPU) or d in {"fpga", "eyeriss"}]
    cpu = {
        d: round(m["acc10"], 3)
        for d, m in rows.items()
        if not d.startswith(GPU) and d not in {"fpga", "eyeriss"} | WHOLE_MS
    }
    return {
        "gpu_fpga_asic_median_acc10": round(float(np.median(gfa)), 4) if gfa else None,
        "cpu_phone_acc10": cpu,
        "mean_spearman": round(float(np.mean([m["spearman"] for m in rows.values()])), 4),
    }


def fewshot_variants(shots_list: list[int]) -> dict:
    x, _, lat, devices, _, idx, _ = load("nasbench201")
    ly = np.log(lat)
    qmask = (idx >= 900) & (idx <= 1899)
    nonq = np.flatnonzero(~qmask)
    rng = np.random.default_rng(0)
    train_a = rng.choice(nonq, 3000, replace=False)
    out: dict[str, dict] = {}
    for target in HELP_DEVICES:
        tj = devices.index(target)
        others = [j for j in range(len(devices)) if j != tj]
        q = np.flatnonzero(qmask)
        lo, hi = np.percentile(lat[q, tj], [10, 90])
        q = q[(lat[q, tj] >= lo) & (lat[q, tj] <= hi)]
        res: dict[str, float] = {}
        own = booster(x[nonq], ly[nonq, tj], "l1", n=800, num_leaves=31)
        res["many_shot_reference"] = float(spearmanr(lat[q, tj], own.predict(x[q]))[0])
        m = ly[np.ix_(train_a, others)]
        mu = m.mean(axis=0)
        u, s, vt = np.linalg.svd(m - mu, full_matrices=False)
        uh = np.column_stack(
            [booster(x[train_a], (u[:, k] * s[k]), n=300).predict(x) for k in range(20)]
        )
        per_device = np.column_stack(
            [booster(x[train_a], ly[train_a, j], n=300).predict(x) for j in others]
        )
        for shots in shots_list:
            for rank in (6, 10, 20):
                w = np.column_stack([mu, vt[:rank].T])
                prior, cov = w.mean(axis=0), np.cov(w.T) + 1e-6 * np.eye(rank + 1)
                phi = np.column_stack([np.ones(len(lat)), uh[:, :rank]])
                noise = float(
                    np.mean(
                        [
                            np.mean((ly[train_a, j] - phi[train_a] @ w[i]) ** 2)
                            for i, j in enumerate(others)
                        ]
                    )
                )
                bay, iso = [], []
                for seed in range(5):
                    pick = np.random.default_rng(seed).choice(nonq, shots, replace=False)
                    a = phi[pick].T @ phi[pick] / noise + np.linalg.inv(cov)
                    post = np.linalg.solve(
                        a, phi[pick].T @ ly[pick, tj] / noise + np.linalg.inv(cov) @ prior
                    )
                    bay.append(spearmanr(lat[q, tj], phi[q] @ post)[0])
                    iso.append(
                        spearmanr(lat[q, tj], phi[q] @ ridge_loo(phi[pick], ly[pick, tj], prior))[0]
                    )
                res[f"K{shots}_bayes_rank{rank}"] = float(np.mean(bay))
                res[f"K{shots}_ridge_rank{rank}"] = float(np.mean(iso))
            basis = np.column_stack([np.ones(len(lat)), per_device])
            pri = np.r_[0.0, np.full(len(others), 1 / len(others))]
            vals = []
            for seed in range(5):
                pick = np.random.default_rng(seed).choice(nonq, shots, replace=False)
                vals.append(
                    spearmanr(lat[q, tj], basis[q] @ ridge_loo(basis[pick], ly[pick, tj], pri))[0]
                )
            res[f"K{shots}_device_basis_ridge"] = float(np.mean(vals))
        out[target] = res
        print(target, json.dumps({k: round(v, 4) for k, v in res.items()}), flush=True)
    keys = next(iter(out.values())).keys()
    out["mean"] = {k: float(np.mean([out[t][k] for t in HELP_DEVICES])) for k in keys}
    print("mean", json.dumps({k: round(v, 4) for k, v in out["mean"].items()}))
    return out


def ridge_loo(phi: np.ndarray, y: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Ridge towards ``prior`` (intercept free), penalty chosen by leave-one-out error."""
    best = None
    k = phi.shape[1]
    for lam in (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0):
        t = y - phi @ prior
        a = phi.T @ phi + np.diag([0.0] + [lam] * (k - 1)) + 1e-9 * np.eye(k)
        coef = np.linalg.solve(a, phi.T @ t)
        hat = np.einsum("ij,ji->i", phi, np.linalg.solve(a, phi.T))
        loo = float(np.mean(((t - phi @ coef) / np.clip(1 - hat, 1e-6, None)) ** 2))
        if best is None or loo < best[0]:
            best = (loo, coef)
    assert best is not None
    return prior + best[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--space", default="nasbench201")
    ap.add_argument(
        "--variants",
        default=(
            "baseline,lgb_l2,lgb_l1,lgb_l1_pos,lgb_huber,kernel,kernel_l1,kernel_l1_pos,"
            "kernel_l2,kernel_oof_l1,factor4"
        ),
    )
    ap.add_argument("--train-size", type=int, default=900)
    ap.add_argument("--devices", default="", help="only these devices (comma-separated)")
    ap.add_argument("--fewshot", action="store_true")
    ap.add_argument("--shots", default="10,20")
    args = ap.parse_args()
    if args.fewshot:
        doc = fewshot_variants([int(k) for k in args.shots.split(",")])
        name = "predict_variants_fewshot.json"
    else:
        only = {d for d in args.devices.split(",") if d} or None
        doc = accuracy_variants(
            args.space, args.variants.split(","), train_size=args.train_size, only=only
        )
        suffix = "" if args.train_size == 900 and not only else f"_{args.train_size}"
        name = f"predict_variants_{args.space}{suffix}.json"
        doc["_command"] = " ".join(["python", *sys.argv])
    (ROOT / "benchmarks" / "results" / name).write_text(json.dumps(doc, indent=1))
    print(f"wrote benchmarks/results/{name}")


if __name__ == "__main__":
    main()
