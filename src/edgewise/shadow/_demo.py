"""The demo stage: shadow a slower candidate on loopback, judge it, roll it back, plot it.

>>> section = demo_section(workdir=Path("/tmp/demo"), store=Store("sqlite://"))   # doctest: +SKIP
>>> section.title
'Shadow and judge'
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from edgewise.report import Section, figure_html
from edgewise.store import Store

#: Bounds of the demo's load: it stops at the first of these (or at a final verdict).
DEMO_REQUESTS = 2000
DEMO_SECONDS = 12.0


def slower_variant(
    model: str | Path, out: str | Path, *, matmuls: int = 6, size: int = 128
) -> Path:
    """Write a copy of ``model`` with the same outputs and extra dead compute.

    A side branch (``matmuls`` products of ``size`` x ``size`` matrices seeded from
    the first input) is multiplied by zero and added to the first output: the answers
    are unchanged, the latency is not.
    """
    import onnx
    from onnx import helper, numpy_helper

    m = onnx.load(str(model))
    g = m.graph
    x, y = g.input[0].name, g.output[0].name
    raw = f"{y}__before_slow"
    for node in g.node:
        for i, name in enumerate(node.output):
            if name == y:
                node.output[i] = raw
    rng = np.random.default_rng(7)
    inits = [numpy_helper.from_array(np.zeros((), np.float32), "slow_zero")]
    nodes = [helper.make_node("ReduceMean", [x], ["slow_r"], keepdims=0, name="slow_mean")]
    inits.append(
        numpy_helper.from_array(
            (rng.standard_normal((size, size)) * 0.01).astype(np.float32), "slow_w0"
        )
    )
    nodes.append(helper.make_node("Mul", ["slow_r", "slow_w0"], ["slow_a0"], name="slow_seed"))
    for i in range(matmuls):
        w = (rng.standard_normal((size, size)) / np.sqrt(size)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"slow_w{i + 1}"))
        nodes.append(
            helper.make_node(
                "MatMul", [f"slow_a{i}", f"slow_w{i + 1}"], [f"slow_a{i + 1}"], name=f"slow_mm{i}"
            )
        )
    nodes += [
        helper.make_node(
            "ReduceSum", [f"slow_a{matmuls}"], ["slow_s"], keepdims=0, name="slow_sum"
        ),
        helper.make_node("Mul", ["slow_s", "slow_zero"], ["slow_z"], name="slow_kill"),
        helper.make_node("Add", [raw, "slow_z"], [y], name="slow_add"),
    ]
    g.node.extend(nodes)
    g.initializer.extend(inits)
    onnx.checker.check_model(m)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(m, str(path))
    return path


def demo_section(*, workdir: Path, store: Store) -> Section:
    """Shadow a slower variant of cnn-small against it, judge, auto-roll back, plot."""
    import httpx

    from edgewise.shadow._history import band_figure
    from edgewise.shadow.gateway import ShadowConfig, ShadowServer
    from edgewise.zoo import write_example

    t0 = time.perf_counter()
    models = workdir / "shadow"
    prod = write_example("cnn-small", models)
    cand = slower_variant(prod, models / "cnn-small-slow.onnx")
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pinned = len(cpus) >= 2
    config = ShadowConfig(
        production=str(prod),
        candidates=(str(cand),),
        port=0,
        auto=True,
        production_cpus=(cpus[0],) if pinned else (),
        candidate_cpus=((cpus[1],),) if pinned else (),
        warmup=50,
        look_every=100,
        flush_interval_s=0.2,
    )
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    head = json.dumps(
        {
            "inputs": [
                {
                    "name": "image",
                    "shape": [1, 3, 64, 64],
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": x.nbytes},
                }
            ],
            "parameters": {"binary_data_output": True},
        }
    ).encode()
    body, headers = head + x.tobytes(), {"Inference-Header-Content-Length": str(len(head))}
    codes: dict[int, int] = {}
    with ShadowServer(config, store=store) as server:
        gw = server.gateway
        deadline = time.perf_counter() + DEMO_SECONDS
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for _ in range(DEMO_REQUESTS):
                code = client.post(
                    "/v2/models/cnn-small/infer", content=body, headers=headers
                ).status_code
                codes[code] = codes.get(code, 0) + 1
                if gw.events or time.perf_counter() > deadline:
                    break
        time.sleep(3 * config.flush_interval_s)
        status = gw.status()
        run_id = gw.run_id
        events = list(gw.events)
        verdict = gw.recorder.verdicts.get("cnn-small-slow") if gw.recorder else None
    pairs = store.shadow_pairs(run_id, candidate="cnn-small-slow") if run_id else []
    sent = sum(codes.values())
    lines = [
        f"Gateway on 127.0.0.1 served cnn-small (OIP v2, binary tensors) to {sent} requests: "
        f"{codes.get(200, 0)} answered, {sent - codes.get(200, 0)} failed"
        + (f"; production pinned to CPU {cpus[0]}, candidate to CPU {cpus[1]}." if pinned else "."),
        f"Every request was mirrored to cnn-small-slow (same outputs, extra dead compute): "
        f"{len(pairs)} paired records in the store (run {run_id}), "
        f"{sum(p.censored for p in pairs)} censored, {status['candidates'][0]['dropped'] if status['candidates'] else 0} dropped.",
    ]
    if pairs:
        p50p = float(np.median([p.production_ms for p in pairs]))
        ok = [p.candidate_ms for p in pairs if p.candidate_ms is not None]
        p50c = float(np.median(ok)) if ok else float("nan")
        agree = float(np.mean([p.agree for p in pairs if not p.censored])) if ok else float("nan")
        lines.append(
            f"Median latency on each replica's own clock: production {p50p:.3f} ms, candidate {p50c:.3f} ms; "
            f"outputs agree on {agree:.1%} of requests."
        )
    if verdict is not None:
        lines.append(f"Judge: {verdict.verdict} ({verdict.rule}). {verdict.reason}")
    for e in events:
        lines.append(
            f"--auto {e['action']} of {e['candidate']} recorded in the deployment registry (event {e['id']})."
        )
    lines.append(f"Stage time {time.perf_counter() - t0:.1f} s.")
    figures = (
        [figure_html(band_figure(pairs, production="cnn-small", candidate="cnn-small-slow"))]
        if pairs
        else []
    )
    return Section(title="Shadow and judge", lines=lines, figures_html=figures)
