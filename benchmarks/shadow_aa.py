#!/usr/bin/env python3
"""A/A check: an identical candidate shadowed beside production, on this machine.

Starts ``edgewise shadow serve`` with a model as production and a byte-identical copy
as the candidate, in ``shadow_serving.py``'s split layout (gateway, production worker
and client on CPU 0; candidate worker and recorder on CPU 1), sends tritonclient's
binary-tensor request with ``http.client`` and reads the paired records back from the
store. For each replica it splits the latency the judge sees (``total``) into the
worker's own work (decode + compute + encode) and the wait before that work started
(``total`` minus the work: queueing behind earlier requests), after a warm-up of 500
pairs, and quotes the judge's verdict.

``--warm-cpu`` also runs a busy loop at ``SCHED_IDLE`` on the candidate's CPU, so that
CPU never goes idle between requests (a replica preempts the loop at once): it tests
whether the candidate's excess comes from its CPU idling (on this VM, work that starts
on a CPU that was idle runs slower). Results then go to ``shadow_aa_warm.{json,md}``.

``--baseline`` runs the gateway with ``--baseline``: a third worker runs production's
model on the candidate's CPU, gets every mirrored request too (in a random order with
the candidate), and the judge compares the candidate with it instead of with
production. The table then also shows the baseline. Results go to
``shadow_aa_baseline.{json,md}``.

Load: ``--rate 0`` (default) is a closed loop at concurrency 1, as in the serving
benchmark: production never queues (the next request waits for its answer), while the
candidate, fed at the client's pace, queues behind its own stalls. ``--rate R`` sends
an open-loop Poisson stream of R req/s over 6 connections, so both replicas can queue.

    python benchmarks/shadow_aa.py [--model mlp-tiny] [--requests 4000] [--runs 3] [--rate 0]
        [--warm-cpu] [--baseline]

Writes benchmarks/results/shadow_aa.{json,md}.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from shadow_serving import (  # noqa: E402
    MODELS,
    _free_port,
    _wait_ready,
    tritonclient_body,
    write_results,
)

from edgewise.store import Store  # noqa: E402
from edgewise.zoo import write_example  # noqa: E402

WARMUP = 500
CONNECTIONS = 6


def _load(port: int, path: str, body: bytes, hl: str, n: int, rate: float) -> None:
    """Send ``n`` requests: closed loop (``rate`` 0) or an open-loop Poisson stream."""
    headers = {"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": hl}

    def send(times: list[float] | None, count: int) -> None:
        c = http.client.HTTPConnection("127.0.0.1", port)
        for k in range(count):
            if times is not None:
                delay = times[k] - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            c.request("POST", path, body=body, headers=headers)
            r = c.getresponse()
            r.read()
            if r.status != 200:
                raise RuntimeError(f"gateway answered {r.status}")
        c.close()

    if not rate:
        send(None, n)
        return
    rng = random.Random(1)
    t, times = time.perf_counter() + 0.1, []
    for _ in range(n):
        t += rng.expovariate(rate)
        times.append(t)
    threads = [
        threading.Thread(target=send, args=(times[k::CONNECTIONS], len(times[k::CONNECTIONS])))
        for k in range(CONNECTIONS)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


def _replica_ms(pair: Any) -> tuple[float, float, float]:
    """A shadow's total, compute and I/O ms in one paired record."""
    return pair.candidate_ms, pair.candidate_compute_ms, pair.candidate_io_ms


def _q(a: np.ndarray, p: float) -> float:
    return round(float(np.percentile(a, p)), 3)


_SPIN = (
    "import os, sys\n"
    "os.sched_setaffinity(0, {int(sys.argv[1])})\n"
    "os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))\n"
    "while True:\n"
    "    pass\n"
)


def run_once(
    model_name: str, n: int, rate: float, *, warm_cpu: bool = False, baseline: bool = False
) -> dict:
    inp, shape = MODELS[model_name]
    work = Path(tempfile.mkdtemp(prefix="edgewise-aa-"))
    try:
        model = write_example(model_name, work)
        cand = work / f"{model.stem}-copy{model.suffix}"
        shutil.copyfile(model, cand)
        port, db = _free_port(), work / "aa.db"
        env = {**os.environ, "EDGEWISE_DB": f"sqlite:///{db}", "EDGEWISE_HOME": str(work / "h")}
        cmd = [sys.executable, "-m", "edgewise", "shadow", "serve", "--production", str(model)]
        cmd += ["--candidate", str(cand), "--port", str(port), "--name", model_name]
        cmd += ["--production-cpus", "0", "--candidate-cpus", "1", "--gateway-cpus", "0"]
        cmd += ["--baseline"] if baseline else []
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        spin = subprocess.Popen([sys.executable, "-c", _SPIN, "1"]) if warm_cpu else None
        saved = os.sched_getaffinity(0)
        try:
            _wait_ready(f"http://127.0.0.1:{port}", model_name, proc)
            c = http.client.HTTPConnection("127.0.0.1", port)
            c.request("GET", f"/v2/models/{model_name}")
            out = json.loads(c.getresponse().read())["outputs"][0]["name"]
            body, hl = tritonclient_body(inp, shape, out, binary=True)
            os.sched_setaffinity(0, {0})  # the client on production's CPU, as in the layout
            _load(port, f"/v2/models/{model_name}/infer", body, hl, n, rate)
            os.sched_setaffinity(0, saved)
            time.sleep(2.0)  # the recorder's last flush
            c = http.client.HTTPConnection("127.0.0.1", port)
            c.request("GET", "/shadow/status")
            doc = json.loads(c.getresponse().read())
            status, run_id = doc["candidates"][0], doc["run_id"]
        finally:
            os.sched_setaffinity(0, saved)
            proc.terminate()
            proc.wait(30)
            if spin is not None:
                spin.kill()
                spin.wait()
        store = Store(f"sqlite:///{db}", migrate=False)
        try:

            def answered(name: str) -> dict[int, Any]:
                pairs = store.shadow_pairs(run_id, candidate=name)
                return {p.seq: p for p in pairs if p.outcome == "ok"}

            cand_pairs = answered(status["name"])
            base_pairs = answered("baseline") if baseline else {}
        finally:
            store.close()
        # a request counts when every side answered it
        seqs = sorted(cand_pairs.keys() & base_pairs.keys()) if baseline else sorted(cand_pairs)
        rows = np.array(
            [
                (
                    cand_pairs[q].production_ms,
                    cand_pairs[q].production_compute_ms,
                    cand_pairs[q].production_io_ms,
                    *_replica_ms(cand_pairs[q]),
                    *(_replica_ms(base_pairs[q]) if baseline else ()),
                )
                for q in seqs
            ],
            dtype=float,
        )[WARMUP:]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out_row: dict = {"pairs": len(rows)}
    sides = ((0, "production"), (3, "candidate"), *(((6, "baseline"),) if baseline else ()))
    for k, who in sides:
        total, own = rows[:, k], rows[:, k + 1] + rows[:, k + 2]
        out_row[who] = {
            "p50_ms": _q(total, 50),
            "p99_ms": _q(total, 99),
            "work_p99_ms": _q(own, 99),
            "wait_p99_ms": _q(total - own, 99),
        }
    out_row["verdict"] = status["verdict"]
    out_row["reason"] = status["reason"]
    return out_row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mlp-tiny", choices=sorted(MODELS))
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rate", type=float, default=0.0, help="open-loop req/s (0: closed loop)")
    ap.add_argument(
        "--warm-cpu",
        action="store_true",
        help="keep the candidate's CPU busy with a SCHED_IDLE loop (see above)",
    )
    ap.add_argument(
        "--baseline",
        action="store_true",
        help="judge the candidate against a mirrored twin of production (see above)",
    )
    args = ap.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("needs 2 CPUs (the split layout)")
    runs = []
    for _ in range(args.runs):
        r = run_once(
            args.model, args.requests, args.rate, warm_cpu=args.warm_cpu, baseline=args.baseline
        )
        runs.append(r)
        print(json.dumps(r), flush=True)
    doc = {
        "command": "python benchmarks/shadow_aa.py " + " ".join(sys.argv[1:]),
        "model": args.model,
        "requests": args.requests,
        "rate": args.rate,
        "warm_cpu": args.warm_cpu,
        "baseline": args.baseline,
        "load_average_end": os.getloadavg(),
        "runs": runs,
    }
    stem = "shadow_aa" + ("_warm" if args.warm_cpu else "") + ("_baseline" if args.baseline else "")
    load = f"open-loop Poisson {args.rate:g} req/s" if args.rate else "closed loop, concurrency 1"
    if args.warm_cpu:
        load += "; a SCHED_IDLE busy loop keeps the candidate's CPU from idling"
    judged = "production"
    if args.baseline:
        load += "; --baseline: a twin of production on the candidate's CPU is the judge's reference"
        judged = "the baseline"
    sides = ["production", "candidate", *(["baseline"] if args.baseline else [])]
    reference = "baseline" if args.baseline else "production"
    lines = [
        "# A/A: an identical candidate beside production",
        "",
        f"`{doc['command'].strip()}`",
        "",
        f"{args.model}, {args.requests} binary requests per run ({load}), split layout "
        f"(production, gateway and client on CPU 0; candidate{' and baseline' * args.baseline} "
        f"and recorder on CPU 1); paired records after {WARMUP} warm-up pairs. wait = total - "
        "(decode + compute + encode): time queued before the worker started the request. "
        f"The judge compares the candidate with {judged}.",
        "",
        "| run | pairs | "
        + " | ".join(f"{who} p50 / p99 ms | {who} work / wait p99 ms" for who in sides)
        + " | verdict |",
        "|---|---:|" + "---|---|" * len(sides) + "---|",
    ]
    for i, r in enumerate(runs, 1):
        cells = [
            f"{r[w]['p50_ms']} / {r[w]['p99_ms']} | {r[w]['work_p99_ms']} / {r[w]['wait_p99_ms']}"
            for w in sides
        ]
        lines.append(f"| {i} | {r['pairs']} | " + " | ".join(cells) + f" | {r['verdict']} |")
    lines += ["", "Verdict reasons:", ""]
    lines += [f"{i}. {r['reason']}" for i, r in enumerate(runs, 1)]
    verdicts = [r["verdict"] for r in runs]
    ratio = statistics.median(r["candidate"]["p99_ms"] / r[reference]["p99_ms"] for r in runs)
    lines += [
        "",
        f"Median candidate / {reference} p99 over runs: {ratio:.2f}x; "
        f"verdicts: {', '.join(verdicts)}.",
    ]
    write_results(stem, doc, lines)


if __name__ == "__main__":
    main()
