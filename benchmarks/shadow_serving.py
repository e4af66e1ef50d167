#!/usr/bin/env python3
"""Serving benchmark: the shadow gateway alone, with a mirrored candidate, and KServe.

One run, side by side, bounded load on loopback, the same ONNX model and the same
client (tritonclient.http, binary tensors and JSON), at two input sizes (mlp-tiny:
1 KiB input; cnn-small: 48 KiB input). Each server is its own process:

* ``gateway``: ``edgewise shadow serve --production M --production-cpus 0
  --gateway-cpus 0`` (production's whole path, with the client, on CPU 0);
* ``gateway+mirror``: the same plus ``--candidate M' --candidate-cpus 1`` (a copy of
  M, every request mirrored, paired, judged and written to SQLite; the candidate's
  worker and the recorder run on CPU 1, the shadow side);
* ``kserve``: KServe's Python ``ModelServer`` (0.21) with an ONNX Runtime model,
  bound to 127.0.0.1, one thread, run by ``--kserve-python`` (kserve is not an
  edgewise dependency; install it in a throwaway venv).

Rounds are interleaved (every server and mode once per round) so machine noise hits
all alike; each cell reports the median over rounds, and each target is the median
over rounds of the ratio measured within one round (gateway+mirror vs gateway in
the same round). Server CPU per request is the server process's own user+system
time over the requests it answered (for the gateway: the gateway process alone,
then its replica workers and its recorder process separately).

Why these two models: the issue's reference point is "a model of about 1 ms" that
KServe serves at about 70 req/s; KServe's cost is turning the binary input into
Python lists, so it grows with the input. cnn-small (48 KiB input, about 1-1.8 ms
of compute here) is that case, and the >= 4x target is read on it. mlp-tiny (1 KiB
input, about 0.25 ms) is the second input size; on it KServe is cheap and 4x would
need a sub-0.6 ms round trip through a Python client, so it is reported, not
targeted.

``--layout float`` is the older placement (only the two replicas pinned; client,
gateway and recorder float on both CPUs), kept to compare.

    python benchmarks/shadow_serving.py --kserve-python /tmp/kserve-venv/bin/python \\
        [--rounds 3] [--seconds 4] [--requests 4000] [--concurrency 1] [--layout split]

Writes benchmarks/results/shadow_serving.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from threading import Thread
from typing import Any

import numpy as np
import psutil

from edgewise.zoo import write_example

RESULTS = Path(__file__).parent / "results"
MODELS = {"mlp-tiny": ("x", (1, 256)), "cnn-small": ("image", (1, 3, 64, 64))}
SERVERS = ("gateway", "gateway+mirror", "kserve")
LAYOUTS = {
    "split": "client, gateway and production worker on CPU 0; candidate worker and recorder on CPU 1",
    "float": "production worker on CPU 0, candidate worker on CPU 1; client, gateway and recorder "
    "not pinned",
}
MODES = ("binary", "json")


def write_results(stem: str, doc: dict[str, Any], lines: list[str]) -> None:
    """``results/{stem}.json`` (``doc``) and ``results/{stem}.md`` (``lines``)."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(doc, indent=2))
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")


def tritonclient_body(
    inp: str, shape: tuple[int, ...], out: str, *, binary: bool
) -> tuple[bytes, str]:
    """tritonclient's request body for a seeded random FP32 input, and its
    ``Inference-Header-Content-Length`` ("" for a JSON-only body)."""
    import tritonclient.http as triton

    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    i = triton.InferInput(inp, list(shape), "FP32")
    i.set_data_from_numpy(x, binary_data=binary)
    o = triton.InferRequestedOutput(out, binary_data=binary)
    body, hl = triton.InferenceServerClient.generate_request_body([i], outputs=[o])
    return (body if isinstance(body, bytes) else body.encode()), "" if hl is None else str(hl)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, name: str, proc: subprocess.Popen[bytes], timeout_s: float = 180) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server for {url} exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/v2/models/{name}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout_s} s")


class Server:
    def __init__(
        self,
        kind: str,
        model: Path,
        name: str,
        workdir: Path,
        kserve_python: str | None,
        layout: str = "split",
        kserve_cpus: str = "",
    ) -> None:
        self.kind, self.name = kind, name
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "EDGEWISE_DB": f"sqlite:///{workdir / f'{kind}-{name}.db'}",
            "EDGEWISE_HOME": str(workdir / "home"),
        }
        if kind == "kserve":
            if not kserve_python:
                raise SystemExit(
                    "--kserve-python is required (an interpreter with kserve installed)"
                )
            script = Path(__file__).parent / "_kserve_server.py"
            cmd = [kserve_python, str(script), str(model), name, str(self.port)]
            if kserve_cpus:
                cmd = ["taskset", "-c", kserve_cpus, *cmd]
        else:
            cmd = [
                sys.executable,
                "-m",
                "edgewise",
                "shadow",
                "serve",
                "--production",
                str(model),
                "--port",
                str(self.port),
                "--name",
                name,
                "--production-cpus",
                "0",
            ]
            if layout == "split":  # production's whole path on CPU 0, shadow work on CPU 1
                cmd += ["--gateway-cpus", "0"]
            if kind.startswith("gateway+mirror"):
                fault = kind.partition(":")[2]
                cand = workdir / f"{name}-candidate-{fault or 'ok'}.onnx"
                shutil.copyfile(model, cand)
                cmd += ["--candidate", str(cand), "--candidate-cpus", "1"]
                if fault == "nice":
                    cmd += ["--candidate-nice", "19"]
                if fault in ("slow", "garbage", "raise"):
                    arg = "slow:10" if fault == "slow" else fault
                    env["EDGEWISE_SHADOW_FAULT"] = f"{cand.stem}={arg}"
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            _wait_ready(self.url, name, self.proc)
        except BaseException:
            self.proc.kill()
            raise
        self.ps = psutil.Process(self.proc.pid)
        self.candidate_pid: int | None = None
        if kind.startswith("gateway+mirror"):
            import httpx

            st = httpx.get(f"{self.url}/shadow/status").json()
            self.candidate_pid = st["candidates"][0]["replica"]["pid"]
        fault = kind.partition(":")[2]
        if fault in ("killed", "hung"):  # real signals on the candidate's worker process
            import httpx

            pid = httpx.get(f"{self.url}/shadow/status").json()["candidates"][0]["replica"]["pid"]
            os.kill(pid, signal.SIGKILL if fault == "killed" else signal.SIGSTOP)
            self.stopped_pid = pid if fault == "hung" else None

    def cpu_s(self) -> tuple[float, float, float]:
        """(this process, its replica workers, its recorder) user+system seconds so far."""
        own = self.ps.cpu_times()
        kids = rec = 0.0
        for child in self.ps.children(recursive=True):
            try:
                t = child.cpu_times()
                if any("_recorder" in part for part in child.cmdline()):
                    rec += t.user + t.system
                else:
                    kids += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return own.user + own.system, kids, rec

    def candidate_wait_s(self) -> float:
        """Seconds the candidate worker's threads have spent runnable but not running."""
        if self.candidate_pid is None:
            return 0.0
        total = 0
        try:
            for tid in os.listdir(f"/proc/{self.candidate_pid}/task"):
                with open(f"/proc/{self.candidate_pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[1])
        except (OSError, ValueError, IndexError):
            return 0.0
        return total / 1e9

    stopped_pid: int | None = None

    def stop(self) -> None:
        if self.stopped_pid is not None:
            try:
                os.kill(self.stopped_pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _client_loop(
    url: str,
    name: str,
    x: np.ndarray,
    inp_name: str,
    out_name: str,
    binary: bool,
    deadline: float,
    max_requests: int,
    latencies: list[float],
    pin: tuple[int, ...] = (),
) -> None:
    import tritonclient.http as triton

    if pin:
        os.sched_setaffinity(0, pin)  # this client thread only
    client = triton.InferenceServerClient(
        url=url.removeprefix("http://"), connection_timeout=60, network_timeout=60
    )
    inp = triton.InferInput(inp_name, list(x.shape), "FP32")
    inp.set_data_from_numpy(x, binary_data=binary)
    out = triton.InferRequestedOutput(out_name, binary_data=binary)
    clock = time.perf_counter
    # tritonclient sends no content type; KServe then treats a JSON body as binary
    headers = None if binary else {"Content-Type": "application/json"}
    try:
        while len(latencies) < max_requests and clock() < deadline:
            t0 = clock()
            res = client.infer(name, [inp], outputs=[out], headers=headers, request_id="1")
            res.as_numpy(out_name)
            latencies.append((clock() - t0) * 1e3)
    finally:
        client.close()


def run_load(
    server: Server,
    *,
    x: np.ndarray,
    inp_name: str,
    out_name: str,
    binary: bool,
    seconds: float,
    max_requests: int,
    concurrency: int,
    pin: tuple[int, ...] = (),
) -> dict[str, float]:
    warm: list[float] = []
    _client_loop(
        server.url, server.name, x, inp_name, out_name, binary, time.perf_counter() + 5, 50, warm
    )
    cpu0, kids0, rec0 = server.cpu_s()
    wait0, busy0, own0 = server.candidate_wait_s(), _busy_s(), _own_cpu_s()
    per_thread: list[list[float]] = [[] for _ in range(concurrency)]
    deadline = time.perf_counter() + seconds
    t0 = time.perf_counter()
    threads = [
        Thread(
            target=_client_loop,
            args=(
                server.url,
                server.name,
                x,
                inp_name,
                out_name,
                binary,
                deadline,
                max_requests // concurrency,
                per_thread[i],
                pin,
            ),
        )
        for i in range(concurrency)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    cpu1, kids1, rec1 = server.cpu_s()
    wait1, busy1, own1 = server.candidate_wait_s(), _busy_s(), _own_cpu_s()
    lat = np.concatenate([np.asarray(p) for p in per_thread])
    n = lat.size
    ours = (cpu1 - cpu0) + (kids1 - kids0) + (rec1 - rec0) + (own1 - own0)
    return {
        "requests": int(n),
        "seconds": wall,
        "rps": n / wall,
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
        "server_cpu_ms_per_req": (cpu1 - cpu0) * 1e3 / n,
        "worker_cpu_ms_per_req": (kids1 - kids0) * 1e3 / n,
        "recorder_cpu_ms_per_req": (rec1 - rec0) * 1e3 / n,
        "candidate_runqueue_wait_ms_per_req": (wait1 - wait0) * 1e3 / n,
        "client_cpu_ms_per_req": (own1 - own0) * 1e3 / n,
        "other_cpu_pct": max(0.0, 100 * ((busy1 - busy0) - ours) / wall / (os.cpu_count() or 1)),
    }


def _busy_s() -> float:
    """CPU seconds the whole machine's processes have spent busy (all CPUs)."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "steal", 0.0)


def _own_cpu_s() -> float:
    """CPU seconds of this process (the client threads)."""
    t = psutil.Process().cpu_times()
    return t.user + t.system


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kserve-python", default=None)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument(
        "--layout",
        choices=("split", "float"),
        default="split",
        help="split: client, gateway and production on CPU 0, candidate and recorder on CPU 1; "
        "float: only the replicas pinned (production 0, candidate 1)",
    )
    ap.add_argument(
        "--kserve-cpus", default="", help="taskset CPU list for KServe (default: not pinned)"
    )
    ap.add_argument(
        "--faults",
        action="store_true",
        help="instead: production (cnn-small, binary) with a healthy vs a broken candidate",
    )
    ap.add_argument("--fault-rows", default=",".join(FAULTS), help="with --faults: which rows")
    args = ap.parse_args()
    if args.faults:
        faults_main(args)
        return
    RESULTS.mkdir(exist_ok=True)
    load_start = os.getloadavg()
    cells: dict[tuple[str, str, str], list[dict[str, float]]] = {}
    meta: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="edgewise-serving-") as tmp:
        work = Path(tmp)
        for model_name in args.models.split(","):
            inp_name, shape = MODELS[model_name]
            model = write_example(model_name, work / "models")
            x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
            servers: list[Server] = []
            pin = (0,) if args.layout == "split" else ()
            try:
                for kind in SERVERS:  # started one by one so a failed start stops the others
                    servers.append(
                        Server(
                            kind,
                            model,
                            model_name,
                            work,
                            args.kserve_python,
                            args.layout,
                            args.kserve_cpus,
                        )
                    )
                import httpx

                out_name = httpx.get(f"{servers[0].url}/v2/models/{model_name}").json()["outputs"][
                    0
                ]["name"]
                meta[model_name] = {"input_bytes": int(x.nbytes), "input_shape": list(shape)}
                for r in range(args.rounds):
                    for server in servers:
                        for mode in args.modes.split(","):
                            res = run_load(
                                server,
                                x=x,
                                inp_name=inp_name,
                                out_name=out_name,
                                binary=mode == "binary",
                                seconds=args.seconds,
                                max_requests=args.requests,
                                concurrency=args.concurrency,
                                pin=pin,
                            )
                            cells.setdefault((model_name, server.kind, mode), []).append(res)
                            print(
                                f"round {r + 1} {model_name:9s} {server.kind:15s} {mode:6s} "
                                f"{res['rps']:7.1f} req/s p50 {res['p50_ms']:.3f} p99 {res['p99_ms']:.3f} ms "
                                f"server cpu {res['server_cpu_ms_per_req']:.3f} ms/req "
                                f"cand. run-queue wait {res['candidate_runqueue_wait_ms_per_req']:.3f} ms/req "
                                f"other procs {res['other_cpu_pct']:.0f}% CPU",
                                flush=True,
                            )
                mirror = next(s for s in servers if s.kind == "gateway+mirror")
                import httpx as _h

                st = _h.get(f"{mirror.url}/shadow/status").json()
                meta[model_name]["mirror_status"] = {
                    k: st["candidates"][0][k]
                    for k in ("mirrored", "paired", "censored", "dropped", "verdict", "reason")
                }
                meta[model_name]["mirror_failed"] = st["failed"]
            finally:
                for s in servers:
                    s.stop()
    summary = []
    for (model_name, kind, mode), runs in cells.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        summary.append(
            {"model": model_name, "server": kind, "mode": mode, "rounds": len(runs), **med}
        )

    def cell(m: str, k: str, mode: str) -> dict[str, float]:
        return next(
            s for s in summary if s["model"] == m and s["server"] == k and s["mode"] == mode
        )

    def paired(m: str, mode: str, key: str, a: str, b: str) -> float:
        """Median over rounds of (server b / server a) for ``key``, within each round."""
        ra, rb = cells[(m, a, mode)], cells[(m, b, mode)]
        return statistics.median(y[key] / x[key] for x, y in zip(ra, rb, strict=True))

    targets = []
    for m in meta:
        for mode in args.modes.split(","):
            g, gm = cell(m, "gateway", mode), cell(m, "gateway+mirror", mode)
            targets.append(
                {
                    "model": m,
                    "mode": mode,
                    "mirror_throughput_cost_pct": 100
                    * (1 - paired(m, mode, "rps", "gateway", "gateway+mirror")),
                    "mirror_p99_cost_pct": 100
                    * (paired(m, mode, "p99_ms", "gateway", "gateway+mirror") - 1),
                    "mirror_p50_cost_pct": 100
                    * (paired(m, mode, "p50_ms", "gateway", "gateway+mirror") - 1),
                    "mirror_vs_kserve_throughput_x": paired(
                        m, mode, "rps", "kserve", "gateway+mirror"
                    ),
                    "gateway_vs_kserve_throughput_x": paired(m, mode, "rps", "kserve", "gateway"),
                    "gateway_cpu_ms_per_req": g["server_cpu_ms_per_req"],
                    "gateway_mirror_cpu_ms_per_req": gm["server_cpu_ms_per_req"],
                    "recorder_cpu_ms_per_req": gm["recorder_cpu_ms_per_req"],
                    # concurrency 1 is serial: no server answers faster than the client's
                    # own CPU per request lets it ask, so this bounds any server's req/s
                    "client_bound_vs_kserve_x": 1e3
                    / (gm["client_cpu_ms_per_req"] or float("nan"))
                    / cell(m, "kserve", mode)["rps"],
                }
            )
    doc = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_start": load_start,
            "loadavg_end": os.getloadavg(),
        },
        "settings": vars(args),
        "models": meta,
        "cells": summary,
        "targets": targets,
    }
    lines = [
        "# Shadow gateway serving benchmark",
        "",
        f"`{' '.join(['python', *sys.argv])}`",
        "",
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, load average at start {load_start[0]:.2f} "
        f"(shared with other work), end {os.getloadavg()[0]:.2f}. Client: tritonclient.http, concurrency "
        f"{args.concurrency}, up to {args.requests} requests or {args.seconds:g} s per cell, {args.rounds} interleaved "
        f"rounds; medians over rounds. Layout ({args.layout}): {LAYOUTS[args.layout]}; KServe "
        f"{'pinned to CPU ' + args.kserve_cpus if args.kserve_cpus else 'not pinned'}. Server CPU: the server process's own CPU time per request "
        "(for the gateway, its replica workers and its recorder process are listed separately). "
        "Target columns are medians over rounds of ratios measured within one round. "
        "Candidate run-queue wait: time the mirrored candidate's worker threads were runnable but "
        "not running (/proc schedstat), per request. Other processes' CPU: the machine's busy CPU "
        "time during the cell minus the server's and the client's, as a share of all CPUs. "
        "Client CPU: the benchmark process's own CPU per request (tritonclient building the "
        "request and reading the answer). At concurrency 1 requests are serial, so no server "
        "can exceed 1000 / (client CPU ms) req/s: the 'client-bound ceiling' column divides that "
        "by KServe's req/s (below 4x, the 4x target is out of reach for any server with this client).",
        "",
        "| model (input) | server | mode | req/s | p50 ms | p99 ms | server CPU ms/req | worker CPU ms/req | recorder CPU ms/req | client CPU ms/req | candidate run-queue wait ms/req | other processes' CPU % |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in sorted(summary, key=lambda s: (s["model"], SERVERS.index(s["server"]), s["mode"])):
        lines.append(
            f"| {s['model']} ({meta[s['model']]['input_bytes']} B) | {s['server']} | {s['mode']} | {s['rps']:.1f} | "
            f"{s['p50_ms']:.3f} | {s['p99_ms']:.3f} | {s['server_cpu_ms_per_req']:.3f} | "
            f"{s['worker_cpu_ms_per_req']:.3f} | {s['recorder_cpu_ms_per_req']:.3f} | "
            f"{s['client_cpu_ms_per_req']:.3f} | "
            f"{s['candidate_runqueue_wait_ms_per_req']:.3f} | {s['other_cpu_pct']:.0f} |"
        )
    lines += [
        "",
        "## Targets",
        "",
        "| model | mode | mirroring cost: throughput | mirroring cost: p99 | mirroring cost: p50 | gateway+mirror / KServe throughput | gateway / KServe | client-bound ceiling / KServe | gateway CPU ms/req (alone / mirroring) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in targets:
        lines.append(
            f"| {t['model']} | {t['mode']} | {t['mirror_throughput_cost_pct']:+.1f}% (target <= 10%) | "
            f"{t['mirror_p99_cost_pct']:+.1f}% (target <= 10%) | {t['mirror_p50_cost_pct']:+.1f}% | "
            f"{t['mirror_vs_kserve_throughput_x']:.2f}x (target >= 4x) | {t['gateway_vs_kserve_throughput_x']:.2f}x | "
            f"{t['client_bound_vs_kserve_x']:.2f}x | "
            f"{t['gateway_cpu_ms_per_req']:.3f} / {t['gateway_mirror_cpu_ms_per_req']:.3f} (target <= 2) |"
        )
    lines += ["", "Mirrored candidate at the end of each model's run:", ""]
    for m, info in meta.items():
        ms = info.get("mirror_status", {})
        lines.append(f"- {m}: {json.dumps(ms)}; production failures {info.get('mirror_failed')}")
    write_results("shadow_serving", doc, lines)
    print("\n".join(lines))


FAULTS = ("none", "ok", "nice", "killed", "hung", "slow", "garbage", "raise")


def faults_main(args: argparse.Namespace) -> None:
    """Production's throughput and p99 when its mirrored candidate is broken, vs healthy."""
    import httpx

    model_name = args.models.split(",")[0] if args.models != ",".join(MODELS) else "cnn-small"
    inp_name, shape = MODELS[model_name]
    load_start = os.getloadavg()
    rows = [f for f in args.fault_rows.split(",") if f]
    runs: dict[str, list[dict[str, float]]] = {}
    status: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="edgewise-faults-") as tmp:
        work = Path(tmp)
        model = write_example(model_name, work / "models")
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        servers: list[Server] = []
        pin = (0,) if args.layout == "split" else ()
        try:
            for f in FAULTS:
                servers.append(
                    Server(
                        "gateway" if f == "none" else f"gateway+mirror:{f}",
                        model,
                        model_name,
                        work,
                        None,
                        args.layout,
                    )
                )
            out_name = httpx.get(f"{servers[0].url}/v2/models/{model_name}").json()["outputs"][0][
                "name"
            ]
            for r in range(args.rounds):
                for server in servers:
                    res = run_load(
                        server,
                        x=x,
                        inp_name=inp_name,
                        out_name=out_name,
                        binary=True,
                        seconds=args.seconds,
                        max_requests=args.requests,
                        concurrency=args.concurrency,
                        pin=pin,
                    )
                    fault = server.kind.partition(":")[2] or "none"
                    runs.setdefault(fault, []).append(res)
                    print(
                        f"round {r + 1} candidate {fault:8s} {res['rps']:7.1f} req/s "
                        f"p50 {res['p50_ms']:.3f} p99 {res['p99_ms']:.3f} ms",
                        flush=True,
                    )
            for server in servers:
                st = httpx.get(f"{server.url}/shadow/status").json()
                if not st["candidates"]:
                    status["none"] = {"failed": st["failed"], "requests": st["requests"]}
                    continue
                c = st["candidates"][0]
                status[server.kind.partition(":")[2]] = {
                    "failed": st["failed"],
                    "requests": st["requests"],
                    **{
                        k: c[k]
                        for k in (
                            "mirrored",
                            "paired",
                            "censored",
                            "dropped",
                            "outcomes",
                            "verdict",
                            "rule",
                        )
                    },
                }
        finally:
            for s in servers:
                s.stop()
    med = {f: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for f, rs in runs.items()}
    base = med.get("none") or next(iter(med.values()))
    healthy = med.get("ok") or base
    lines = [
        "# Production under a broken mirrored candidate",
        "",
        f"`{' '.join(['python', *sys.argv])}`",
        "",
        f"{model_name}, binary tensors, tritonclient.http concurrency {args.concurrency}, {LAYOUTS[args.layout]}; "
        f"{args.rounds} interleaved rounds of up to {args.requests} requests "
        f"or {args.seconds:g} s; medians. Load average at start {load_start[0]:.2f}. Rows: no candidate; a "
        "healthy candidate (same model); the same at nice 19 (--candidate-nice); and broken ones: worker "
        "SIGKILLed, SIGSTOPped (hung), 10x slower, garbage outputs, raising (the last three via "
        "EDGEWISE_SHADOW_FAULT).",
        "",
        "| candidate | req/s | p50 ms | p99 ms | p99 vs no candidate | p99 vs healthy | production failed | mirrored | censored | dropped | verdict |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for f in rows:
        m, st = med[f], status[f]
        rest = (
            f"{st['mirrored']} | {st['censored']} | {st['dropped']} | {st['verdict']} ({st['rule']})"
            if f != "none"
            else "- | - | - | -"
        )
        lines.append(
            f"| {f} | {m['rps']:.1f} | {m['p50_ms']:.3f} | {m['p99_ms']:.3f} | "
            f"{100 * (m['p99_ms'] / base['p99_ms'] - 1):+.1f}% | {100 * (m['p99_ms'] / healthy['p99_ms'] - 1):+.1f}% | "
            f"{st['failed']} of {st['requests']} | {rest} |"
        )
    doc = {"settings": vars(args), "medians": med, "status": status, "loadavg_start": load_start}
    write_results("shadow_serving_faults", doc, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
