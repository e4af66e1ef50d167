#!/usr/bin/env python3
"""Gateway CPU per request, back to back and at a slow client's pace.

``shadow_serving.py`` measures the gateway's CPU per request with tritonclient, whose
JSON client spends ~14 ms of its own CPU building each 48 KiB request, so requests
reach the gateway ~18 ms apart. This script separates the gateway's work from that
pace: it builds tritonclient's request body once, then sends it with ``http.client``
from another process (client CPU ~0), back to back and with a fixed gap between
requests, with the client on the gateway's CPU and on the other one. Same server
command and placement as ``shadow_serving.py`` (``--gateway-cpus 0
--production-cpus 0``, no candidate).

    python benchmarks/shadow_gateway_cpu.py [--requests 300] [--gap-ms 18] [--repeats 3]

Writes benchmarks/results/shadow_gateway_cpu.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from shadow_serving import MODELS, Server, tritonclient_body, write_results  # noqa: E402

from edgewise.zoo import write_example  # noqa: E402

_CLIENT = """
import http.client, os, sys, time
body = open(sys.argv[1], 'rb').read()
port, path, hl, n, warm, gap, cpu, go = sys.argv[2:]
os.sched_setaffinity(0, {int(cpu)})
c = http.client.HTTPConnection('127.0.0.1', int(port))
h = {'Content-Type': 'application/octet-stream'}
if hl:
    h['Inference-Header-Content-Length'] = hl
for k in range(int(warm) + int(n)):
    if k == int(warm):
        open(go, 'w').close()
    c.request('POST', path, body=body, headers=h)
    r = c.getresponse(); r.read()
    assert r.status == 200, (r.status, r.read())
    if float(gap):
        time.sleep(float(gap))
"""


def _body(
    model: str, mode: str, inp: str, out: str, shape: tuple[int, ...], work: Path
) -> tuple[Path, str]:
    body, hl = tritonclient_body(inp, shape, out, binary=mode == "binary")
    path = work / f"{model}-{mode}.body"
    path.write_bytes(body)
    return path, hl


def _measure(
    server: Server, body: Path, hl: str, *, n: int, gap_s: float, cpu: int, work: Path
) -> tuple[float, float]:
    """(gateway, production worker) CPU ms per request over ``n`` timed requests."""
    go = work / "go"
    go.unlink(missing_ok=True)
    path = f"/v2/models/{server.name}/infer"
    args = [str(body), str(server.port), path, hl, str(n), "50", str(gap_s), str(cpu), str(go)]
    proc = subprocess.Popen([sys.executable, "-c", _CLIENT, *args])
    while not go.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"client exited with {proc.returncode}")
        time.sleep(0.002)
    c0 = server.cpu_s()
    if proc.wait() != 0:
        raise RuntimeError(f"client exited with {proc.returncode}")
    c1 = server.cpu_s()
    return (c1[0] - c0[0]) * 1e3 / n, (c1[1] - c0[1]) * 1e3 / n


def _thread_ms(fn: Callable[[], object], *, n: int, gap_s: float) -> float:
    """Median thread CPU ms of ``fn()`` over ``n`` calls, sleeping ``gap_s`` between them."""
    for _ in range(20):
        fn()
    times = []
    for _ in range(n):
        t = time.thread_time_ns()
        fn()
        times.append(time.thread_time_ns() - t)
        if gap_s:
            time.sleep(gap_s)
    return statistics.median(times) / 1e6


def _controls(
    body: Path, shape: tuple[int, ...], inp: str, out: str, *, n: int, gap_s: float
) -> list[dict]:
    """The pace step without a server: the same work in this process, back to back and
    with ``gap_s`` of sleep before each call (pinned to the gateway's CPU 0)."""
    from edgewise.runtime import TensorSpec
    from edgewise.shadow.gateway._oip import parse_infer_request

    data = body.read_bytes()
    spec = [TensorSpec(inp, "float32", shape)]
    block = np.ones(1 << 17)  # 1 MiB, the size of this CPU's L2

    def words() -> int:  # interpreter work that touches no edgewise code
        d = {str(i): i for i in range(3000)}
        return sum(d.values())

    work: dict[str, Callable[[], object]] = {
        "gateway's parse_infer_request (cnn-small JSON body)": lambda: parse_infer_request(
            data, header_length=None, inputs=spec, outputs=[out]
        ),
        "plain Python, almost no memory: sum(range(30000))": lambda: sum(range(30000)),
        "plain Python: a 3,000-key dict": words,
        "numpy: sum of 1 MiB": block.sum,
    }
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(saved)})
    rows = []
    try:
        for label, fn in work.items():
            back, paced = [], []
            for _ in range(3):  # interleaved, median of 3
                back.append(_thread_ms(fn, n=n, gap_s=0.0))
                paced.append(_thread_ms(fn, n=n, gap_s=gap_s))
            row = {
                "work": label,
                "back_to_back_ms": statistics.median(back),
                "paced_ms": statistics.median(paced),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        os.sched_setaffinity(0, saved)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--gap-ms", type=float, default=18.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--models", default="cnn-small,mlp-tiny")
    ap.add_argument("--modes", default="json,binary")
    args = ap.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    other = cpus[-1] if len(cpus) > 1 else cpus[0]
    settings = [("back to back", 0.0, 0), (f"{args.gap_ms:g} ms gaps", args.gap_ms / 1e3, 0)]
    settings.append((f"{args.gap_ms:g} ms gaps, client on CPU {other}", args.gap_ms / 1e3, other))
    rows: list[dict] = []
    controls: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="edgewise-gwcpu-") as tmp:
        work = Path(tmp)
        for model in args.models.split(","):
            inp, shape = MODELS[model]
            server = Server("gateway", write_example(model, work / "models"), model, work, None)
            try:
                import httpx

                meta = httpx.get(f"{server.url}/v2/models/{model}").json()
                out = meta["outputs"][0]["name"]
                for mode in args.modes.split(","):
                    body, hl = _body(model, mode, inp, out, shape, work)
                    for label, gap, cpu in settings:
                        runs = [
                            _measure(
                                server, body, hl, n=args.requests, gap_s=gap, cpu=cpu, work=work
                            )
                            for _ in range(args.repeats)
                        ]
                        row = {
                            "model": model,
                            "mode": mode,
                            "body_bytes": body.stat().st_size,
                            "pace": label,
                            "gateway_cpu_ms_per_req": statistics.median(r[0] for r in runs),
                            "worker_cpu_ms_per_req": statistics.median(r[1] for r in runs),
                            "gateway_runs": [r[0] for r in runs],
                        }
                        rows.append(row)
                        print(json.dumps(row), flush=True)
                    if model == "cnn-small" and mode == "json":
                        controls = _controls(
                            body, shape, inp, out, n=args.requests, gap_s=args.gap_ms / 1e3
                        )
            finally:
                server.stop()
    doc = {
        "command": "python benchmarks/shadow_gateway_cpu.py " + " ".join(sys.argv[1:]),
        "requests": args.requests,
        "repeats": args.repeats,
        "load_average_end": os.getloadavg(),
        "rows": rows,
        "controls": controls,
    }
    lines = [
        "# Gateway CPU per request: back to back and paced",
        "",
        f"`{doc['command'].strip()}`",
        "",
        f"{args.requests} timed requests per measurement (after 50 warm-up), median of "
        f"{args.repeats}; a prebuilt tritonclient body sent with http.client from another "
        "process; gateway as in shadow_serving.py (gateway and production on CPU 0, no "
        "candidate). The client's own CPU is not counted.",
        "",
        "| model | mode | body bytes | pace | gateway CPU ms/req | worker CPU ms/req |",
        "|---|---|---:|---|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['mode']} | {r['body_bytes']} | {r['pace']} | "
            f"{r['gateway_cpu_ms_per_req']:.3f} | {r['worker_cpu_ms_per_req']:.3f} |"
        )
    if controls:
        lines += [
            "",
            "## The pace step without a server",
            "",
            f"The same CPU work in the benchmark's own process (pinned to CPU "
            f"{min(cpus)}, no sockets, no other process involved): thread CPU time per call, "
            f"median over {args.requests} calls, back to back vs after {args.gap_ms:g} ms "
            "of sleep (median of 3 interleaved repeats). If idle gaps alone make the "
            "same work cost more, the step above belongs to the machine, not to the "
            "gateway's code.",
            "",
            "| work | back to back ms | paced ms | step ms |",
            "|---|---:|---:|---:|",
        ]
        for c in controls:
            lines.append(
                f"| {c['work']} | {c['back_to_back_ms']:.3f} | {c['paced_ms']:.3f} | "
                f"{c['paced_ms'] - c['back_to_back_ms']:+.3f} |"
            )
    write_results("shadow_gateway_cpu", doc, lines)


if __name__ == "__main__":
    main()
