"""Broken candidates never hurt production, and are recorded as censored or failed.

One gateway, five candidate workers, each broken differently: SIGKILLed mid-run,
hung (SIGSTOP), 10x slower, returning garbage, raising. Faults other than the
signals come from the test-only EDGEWISE_SHADOW_FAULT hook. Production's p99
against its baseline is a benchmark matter (benchmarks/shadow_serving.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

from edgewise.shadow.gateway import FAULT_ENV, ShadowConfig, ShadowServer
from edgewise.shadow.gateway._recorder import wait_until
from edgewise.store import Store

FAULTS = {"killed": "", "hung": "", "slow": "slow:10", "garbage": "garbage", "raises": "raise"}


def _body(x: np.ndarray) -> dict[str, object]:
    return {
        "inputs": [
            {"name": "x", "shape": list(x.shape), "datatype": "FP32", "data": x.ravel().tolist()}
        ]
    }


@pytest.fixture
def faulty(
    tmp_path: Path, model_path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ShadowServer, Store]]:  # type: ignore[no-untyped-def]
    prod = model_path("mlp-tiny")
    cands = []
    for name in FAULTS:
        p = tmp_path / f"{name}.onnx"
        p.write_bytes(prod.read_bytes())
        cands.append(str(p))
    monkeypatch.setenv(FAULT_ENV, ",".join(f"{k}={v}" for k, v in FAULTS.items() if v))
    store = Store(f"sqlite:///{tmp_path / 'rel.db'}")
    config = ShadowConfig(
        production=str(prod),
        candidates=tuple(cands),
        port=0,
        warmup=0,
        look_every=50,
        quantiles=(0.5,),
        tolerance=0.25,
        max_disagreement=0.05,
        # long enough that a timely candidate starved by the rest of the suite on two
        # cores is not censored (a 300 ms limit once timed out a `garbage` answer)
        candidate_timeout_ms=1000,
        flush_interval_s=0.1,
    )
    with ShadowServer(config, store=store, token="t") as server:
        yield server, store
        for c in server.gateway.candidates:
            if c.replica.pid:  # let a stopped worker see EOF and exit
                try:
                    os.kill(c.replica.pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
    store.close()


def test_broken_candidates_never_fail_production(faulty: tuple[ShadowServer, Store]) -> None:
    server, store = faulty
    pids = {c.name: c.replica.pid for c in server.gateway.candidates}
    assert set(pids) == set(FAULTS)
    os.kill(pids["hung"], signal.SIGSTOP)
    x = np.random.default_rng(0).standard_normal((1, 256)).astype(np.float32)
    body = _body(x)
    n, killed_at = 400, 60

    def client(k: int) -> list[int]:
        codes = []
        with httpx.Client(base_url=server.url, timeout=30) as c:
            for i in range(k, n, 2):
                if i == killed_at:
                    os.kill(pids["killed"], signal.SIGKILL)
                codes.append(c.post("/v2/models/mlp-tiny/infer", json=body).status_code)
        return codes

    with ThreadPoolExecutor(2) as pool:
        codes = [code for part in pool.map(client, range(2)) for code in part]
    # The stopped worker is counted down (censored) only once its oldest copy is past the
    # 1 s timeout; the 400 requests can finish before that on a fast run, leaving it one
    # look short of a verdict (copies beyond its queue are overload, not evidence). Past
    # the timeout, send more (bounded) until two looks' worth of its copies are judged.
    time.sleep(1.2)
    with httpx.Client(base_url=server.url, timeout=30) as c:
        for _ in range(20):
            hung = next(
                x for x in c.get("/shadow/status").json()["candidates"] if x["name"] == "hung"
            )
            if hung["paired"] >= 100:
                break
            codes += [c.post("/v2/models/mlp-tiny/infer", json=body).status_code for _ in range(20)]
            time.sleep(0.1)  # the recorder runs SCHED_IDLE: a busy loop would starve its counts
    n = len(codes)
    assert set(codes) == {200}, "production served every request"
    status = httpx.get(f"{server.url}/shadow/status").json()
    assert status["requests"] == n and status["failed"] == 0
    by = {c["name"]: c for c in status["candidates"]}
    # every mirrored request ends paired (censored or not) once timeouts have fired
    assert wait_until(
        lambda: all(
            c["paired"] == c["mirrored"]
            for c in httpx.get(f"{server.url}/shadow/status").json()["candidates"]
        ),
        timeout_s=10,
    )
    run_id = server.gateway.run_id
    assert run_id is not None
    assert wait_until(
        lambda: store.count_shadow_pairs(run_id) == sum(c["mirrored"] for c in by.values()),
        timeout_s=10,
    )
    by = {c["name"]: c for c in httpx.get(f"{server.url}/shadow/status").json()["candidates"]}

    def outcomes(name: str) -> dict[str, int]:
        pairs = store.shadow_pairs(run_id, candidate=name)
        out: dict[str, int] = {}
        for p in pairs:
            out[p.outcome] = out.get(p.outcome, 0) + 1
            assert (p.candidate_ms is None) == (p.outcome != "ok")  # censored iff it failed
        return out

    killed = outcomes("killed")
    assert (
        killed.get("unavailable", 0) >= n - killed_at - 64 and killed.get("ok", 0) >= killed_at // 2
    )
    hung = outcomes("hung")
    assert hung.get("ok", 0) == 0 and hung.get("timeout", 0) >= 1
    assert hung.get("timeout", 0) + hung.get("unavailable", 0) == by["hung"]["paired"]
    raises = outcomes("raises")
    assert raises == {"error": by["raises"]["paired"]}
    garbage = store.shadow_pairs(run_id, candidate="garbage")
    assert all(p.outcome == "ok" for p in garbage), outcomes("garbage")
    assert np.mean([not p.agree for p in garbage]) > 0.5
    slow = [p for p in store.shadow_pairs(run_id, candidate="slow") if p.outcome == "ok"]
    assert slow, "some slow answers came back in time"
    ratio = np.median([p.candidate_compute_ms / p.production_compute_ms for p in slow])  # type: ignore[operator]
    assert ratio > 4, f"a 10x slower compute should show, got {ratio:.1f}x"
    for name in FAULTS:
        c = by[name]
        assert c["censored"] + (c["paired"] - c["censored"]) == c["paired"]
        assert c["verdict"] == "FAIL", f"{name}: {c['verdict']} {c['reason']}"
    assert by["garbage"]["rule"] == "fail:agreement"


@dataclass
class CliGateway:
    """``edgewise shadow serve`` running in its own process, and what it printed."""

    proc: subprocess.Popen[str]
    url: str
    workers: list[int]  # production's and the candidate's worker pids


@pytest.fixture
def cli_gateway(model_path) -> Iterator[Callable[..., CliGateway]]:  # type: ignore[no-untyped-def]
    """Start ``edgewise shadow serve --production M --candidate M`` (mlp-tiny) as a real
    process; every one still running at teardown is killed."""
    started: list[subprocess.Popen[str]] = []

    def start(*, flush_interval_s: float, env: dict[str, str]) -> CliGateway:
        prod = str(model_path("mlp-tiny"))
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "edgewise",
                "shadow",
                "serve",
                "--production",
                prod,
                "--candidate",
                prod,
                "--port",
                "0",
                "--json",
                "--flush-interval",
                str(flush_interval_s),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **env},
            text=True,
            start_new_session=True,  # its own process group, for a group signal
        )
        started.append(proc)
        assert proc.stdout is not None
        lines: list[str] = []
        while not "".join(lines).rstrip().endswith("}"):
            line = proc.stdout.readline()
            assert line, "the gateway exited before it was ready"
            lines.append(line)
        url = json.loads("".join(lines))["url"]
        status = httpx.get(f"{url}/shadow/status").json()
        workers = [
            status["production"]["replica"]["pid"],
            status["candidates"][0]["replica"]["pid"],
        ]
        return CliGateway(proc=proc, url=url, workers=workers)

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def _send(url: str, n: int) -> None:
    x = np.zeros((1, 256), np.float32)
    with httpx.Client(base_url=url) as c:
        for _ in range(n):
            assert c.post("/v2/models/mlp-tiny/infer", json=_body(x)).status_code == 200


def test_sigkill_gateway_keeps_every_flushed_record(
    tmp_path: Path, cli_gateway: Callable[..., CliGateway]
) -> None:
    db = f"sqlite:///{tmp_path / 'kill.db'}"
    flush = 0.2
    gw = cli_gateway(flush_interval_s=flush, env={"EDGEWISE_DB": db})
    n = 150
    _send(gw.url, n)
    time.sleep(3 * flush)  # every record is now older than the flush interval
    gw.proc.send_signal(signal.SIGKILL)
    gw.proc.wait(timeout=10)
    store = Store(db)  # opens cleanly (and migrates nothing)
    runs = store.list_shadow_runs()
    assert len(runs) == 1
    assert store.count_shadow_pairs(runs[0].id) == n  # type: ignore[arg-type]
    store.close()
    # the workers (and the recorder) notice the gateway is gone and exit by themselves
    deadline = time.monotonic() + 10
    alive = list(gw.workers)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _running(p)]
        time.sleep(0.05)
    assert not alive, f"orphaned workers {alive}"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_mirror_percent_is_exact(model_path) -> None:  # type: ignore[no-untyped-def]
    from edgewise.shadow.gateway import ShadowGateway

    prod = str(model_path("mlp-tiny"))
    for pct, want in ((50.0, 500), (12.5, 125), (0.0, 0), (100.0, 1000)):
        gw = ShadowGateway(ShadowConfig(production=prod, candidates=(prod,), mirror_percent=pct))
        assert sum(gw._take_mirror() for _ in range(1000)) == want


def test_a_full_queue_drops_and_counts(
    tmp_path: Path, model_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    prod = model_path("mlp-tiny")
    slow = tmp_path / "slow.onnx"
    slow.write_bytes(prod.read_bytes())
    monkeypatch.setenv(FAULT_ENV, "slow=slow:200")
    config = ShadowConfig(
        production=str(prod),
        candidates=(str(slow),),
        port=0,
        queue_size=1,
        warmup=0,
        look_every=10_000,
    )
    with ShadowServer(config, token="t") as server:
        x = np.zeros((1, 256), np.float32)

        def client(_: int) -> list[int]:
            with httpx.Client(base_url=server.url, timeout=30) as c:
                return [
                    c.post("/v2/models/mlp-tiny/infer", json=_body(x)).status_code
                    for _ in range(40)
                ]

        with ThreadPoolExecutor(3) as pool:
            codes = [code for part in pool.map(client, range(3)) for code in part]
        assert set(codes) == {200} and len(codes) == 120
        assert wait_until(
            lambda: (c := httpx.get(f"{server.url}/shadow/status").json()["candidates"][0])[
                "paired"
            ]
            == c["mirrored"],
            timeout_s=10,
        )
        c = httpx.get(f"{server.url}/shadow/status").json()["candidates"][0]
        assert c["dropped"] > 0 and c["mirrored"] + c["dropped"] == 120
        assert c["censored"] == 0  # drops are overload, not evidence: nothing censored
        assert (
            f'edgewise_shadow_dropped_total{{model="mlp-tiny",candidate="slow"}} {c["dropped"]}'
            in httpx.get(f"{server.url}/metrics").text
        )


def test_a_killed_production_worker_is_restarted(tmp_path: Path, model_path) -> None:  # type: ignore[no-untyped-def]
    prod = str(model_path("mlp-tiny"))
    config = ShadowConfig(production=prod, candidates=(prod,), port=0)
    with ShadowServer(config, token="t") as server:
        x = np.zeros((1, 256), np.float32)
        old = httpx.get(f"{server.url}/shadow/status").json()["production"]["replica"]["pid"]
        os.kill(old, signal.SIGKILL)
        codes: list[int] = []
        with httpx.Client(base_url=server.url, timeout=30) as c:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                codes.append(c.post("/v2/models/mlp-tiny/infer", json=_body(x)).status_code)
                if codes[-1] == 200 and len(codes) > 1:
                    break
                time.sleep(0.05)
        assert codes[-1] == 200, "production came back"
        assert set(codes) <= {200, 503}, (
            "while it restarts, requests get 503, never a hang or a 500"
        )
        status = httpx.get(f"{server.url}/shadow/status").json()
        assert status["production"]["restarts"] == 1
        assert status["production"]["replica"]["pid"] != old
        assert status["candidates"][0]["replica"]["alive"]


@pytest.mark.parametrize(
    ("sig", "group"),
    [(signal.SIGTERM, False), (signal.SIGINT, True), (signal.SIGTERM, True)],
    ids=["sigterm", "ctrl-c to the group", "sigterm to the group (systemd)"],
)
def test_sigterm_drains_flushes_and_cleans_up(
    tmp_path: Path, cli_gateway: Callable[..., CliGateway], sig: int, group: bool
) -> None:
    """A signal to the whole process group (a terminal's Ctrl-C, systemd's stop) also
    reached the workers and the recorder, which died before the last flush: 0 of 400
    records stored, and KeyboardInterrupt tracebacks. They leave stopping to the gateway."""
    db = f"sqlite:///{tmp_path / 'term.db'}"
    home = tmp_path / "home"
    gw = cli_gateway(flush_interval_s=30, env={"EDGEWISE_DB": db, "EDGEWISE_HOME": str(home)})
    assert (home / "shadow" / "mlp-tiny.json").is_file()
    n = 60
    _send(gw.url, n)
    if group:
        os.killpg(gw.proc.pid, sig)
    else:
        gw.proc.send_signal(sig)
    assert gw.proc.wait(timeout=60) == 0
    assert gw.proc.stderr is not None and "Traceback" not in gw.proc.stderr.read()
    store = Store(db)
    # the flush interval is 30 s, so only the shutdown flush can have written these
    assert store.count_shadow_pairs(store.list_shadow_runs()[0].id) == n  # type: ignore[arg-type]
    store.close()
    assert not (home / "shadow" / "mlp-tiny.json").exists()
    assert not [p for p in gw.workers if _running(p)]


def test_a_stopped_recorder_neither_slows_the_candidate_nor_drops(
    tmp_path: Path, model_path
) -> None:  # type: ignore[no-untyped-def]
    """The recorder SIGSTOPped for 1.5 s under load: the candidate worker keeps answering
    at its own pace (its answers wait in the socket), the gateway's queue bound (a counter
    the worker bumps, not the recorder) drops nothing, and once the recorder runs again
    every copy is paired with the candidate's own, unstalled, timing."""
    prod = model_path("mlp-tiny")
    cand = tmp_path / "cand.onnx"
    cand.write_bytes(prod.read_bytes())
    store = Store(f"sqlite:///{tmp_path / 'stop.db'}")
    config = ShadowConfig(
        production=str(prod),
        candidates=(str(cand),),
        port=0,
        # Far below the >= 50 requests sent while the recorder is stopped, so a queue the
        # stopped recorder backed up would drop most of them; not so tight that a candidate
        # preempted for a moment on a busy 2-core machine drops a few (4 once dropped 3 of
        # 744 while another job ran).
        queue_size=16,
        warmup=0,
        look_every=100_000,
        candidate_timeout_ms=10_000,
        flush_interval_s=0.1,
    )
    stopped_s = 1.5
    x = np.zeros((1, 256), np.float32)
    with ShadowServer(config, store=store, token="t") as server:
        recorder = server.gateway.recorder
        assert recorder is not None and recorder._proc is not None
        pid = recorder._proc.pid
        # Replicas preempt it the moment they wake (no waiting out its time slice).
        assert os.sched_getscheduler(pid) == os.SCHED_IDLE
        n = 0
        with httpx.Client(base_url=server.url, timeout=30) as c:
            os.kill(pid, signal.SIGSTOP)
            try:
                end = time.monotonic() + stopped_s
                while time.monotonic() < end:
                    res = c.post("/v2/models/mlp-tiny/infer", json=_body(x))
                    assert res.status_code == 200
                    n += 1
            finally:
                os.kill(pid, signal.SIGCONT)
        assert n >= 50
        assert wait_until(
            lambda: (s := httpx.get(f"{server.url}/shadow/status").json()["candidates"][0])[
                "paired"
            ]
            == s["mirrored"],
            timeout_s=20,
        )
        status = httpx.get(f"{server.url}/shadow/status").json()
        run_id = status["run_id"]
        c0 = status["candidates"][0]
        assert (c0["dropped"], c0["censored"], c0["mirrored"]) == (0, 0, n)
    pairs = store.shadow_pairs(run_id)
    store.close()
    assert len(pairs) == n and all(p.outcome == "ok" for p in pairs)
    slowest = max(p.candidate_ms or 0.0 for p in pairs)
    assert slowest < 0.25 * stopped_s * 1e3, f"the candidate stalled {slowest:.0f} ms"


def test_a_starved_recorder_is_given_normal_priority(tmp_path: Path, model_path) -> None:  # type: ignore[no-untyped-def]
    """A recorder that gets no CPU (SCHED_IDLE while other work keeps every CPU busy;
    SIGSTOP here, to make it certain) would pair and judge nothing for as long as that
    lasts. After 2 s of silence the gateway moves it to normal priority (nice 10), says so
    in the status, and pairing goes on."""
    prod = model_path("mlp-tiny")
    cand = tmp_path / "cand.onnx"
    cand.write_bytes(prod.read_bytes())
    config = ShadowConfig(
        production=str(prod), candidates=(str(cand),), port=0, flush_interval_s=0.1
    )
    x = np.zeros((1, 256), np.float32)
    with ShadowServer(config, store=Store("sqlite://"), token="t") as server:
        status = httpx.get(f"{server.url}/shadow/status").json()
        assert status["recorder_priority"] == "idle"
        recorder = server.gateway.recorder
        assert recorder is not None and recorder.pid is not None
        pid = recorder.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            assert wait_until(lambda: recorder.priority == "normal", timeout_s=10)
        finally:
            os.kill(pid, signal.SIGCONT)

        def policies() -> set[int]:
            return {os.sched_getscheduler(int(t)) for t in os.listdir(f"/proc/{pid}/task")}

        # every thread follows (the watchdog re-applies the move for a while: a CI run
        # once found one thread still SCHED_IDLE right after it)
        assert wait_until(lambda: policies() == {os.SCHED_OTHER}, timeout_s=5), policies()
        assert os.getpriority(os.PRIO_PROCESS, pid) == 10  # still below the replicas
        with httpx.Client(base_url=server.url, timeout=30) as c:
            for _ in range(20):
                assert c.post("/v2/models/mlp-tiny/infer", json=_body(x)).status_code == 200
        assert wait_until(
            lambda: httpx.get(f"{server.url}/shadow/status").json()["candidates"][0]["paired"]
            == 20,
            timeout_s=20,
        )
        assert httpx.get(f"{server.url}/shadow/status").json()["recorder_priority"] == "normal"
        from typer.testing import CliRunner

        from edgewise.cli import app

        res = CliRunner().invoke(app, ["shadow", "status", "--url", server.url])
        assert res.exit_code == 0 and "now runs at normal priority" in res.stderr


def test_a_dead_recorder_stops_the_mirroring_not_production(tmp_path: Path, model_path) -> None:  # type: ignore[no-untyped-def]
    """The recorder SIGKILLed: production answers every request, the status says the
    recorder is gone, and no more copies go to the candidate (nothing would judge them)."""
    prod = model_path("mlp-tiny")
    cand = tmp_path / "cand.onnx"
    cand.write_bytes(prod.read_bytes())
    config = ShadowConfig(production=str(prod), candidates=(str(cand),), port=0)
    x = np.zeros((1, 256), np.float32)
    with ShadowServer(config, store=Store("sqlite://"), token="t") as server:
        recorder = server.gateway.recorder
        assert recorder is not None and recorder.pid is not None
        with httpx.Client(base_url=server.url, timeout=30) as c:
            for _ in range(10):
                assert c.post("/v2/models/mlp-tiny/infer", json=_body(x)).status_code == 200
            os.kill(recorder.pid, signal.SIGKILL)
            assert wait_until(lambda: not recorder.alive, timeout_s=10)
            status = c.get("/shadow/status").json()
            mirrored = status["candidates"][0]["mirrored"]
            assert status["recorder_alive"] is False and mirrored == 10
            for _ in range(20):
                assert c.post("/v2/models/mlp-tiny/infer", json=_body(x)).status_code == 200
            status = c.get("/shadow/status").json()
        assert status["requests"] == 30 and status["failed"] == 0
        assert status["candidates"][0]["mirrored"] == mirrored


def test_a_second_gateway_on_a_taken_port_starts_nothing(
    tmp_path: Path, cli_gateway: Callable[..., CliGateway], model_path
) -> None:  # type: ignore[no-untyped-def]
    """Two started at once both passed the port check; the loser had started workers
    and stored a run before uvicorn failed to bind (exit 3, a traceback), and removed
    the winner's state file on the way out. The port is now bound before anything."""
    db = f"sqlite:///{tmp_path / 'two.db'}"
    home = tmp_path / "home"
    env = {"EDGEWISE_DB": db, "EDGEWISE_HOME": str(home)}
    gw = cli_gateway(flush_interval_s=0.5, env=env)
    port = gw.url.rsplit(":", 1)[1]
    prod = str(model_path("mlp-tiny"))
    second = subprocess.run(
        [sys.executable, "-m", "edgewise", "shadow", "serve", "--production", prod]
        + ["--candidate", prod, "--port", port],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
    assert second.returncode == 2, second.stderr
    assert "cannot listen" in second.stderr and len(second.stderr.strip().splitlines()) == 1
    store = Store(db)
    assert len(store.list_shadow_runs()) == 1  # the first gateway's only
    store.close()
    assert (home / "shadow" / "mlp-tiny.json").is_file()  # the winner's state file stays
    assert httpx.get(f"{gw.url}/v2/health/ready").status_code == 200


def test_serve_forever_binds_before_it_starts_anything(tmp_path: Path, model_path) -> None:  # type: ignore[no-untyped-def]
    """The race itself: a port taken between the CLI's check and the bind."""
    import socket

    from edgewise.errors import ConfigError
    from edgewise.shadow.gateway._serve import serve_forever

    prod = str(model_path("mlp-tiny"))
    store = Store(f"sqlite:///{tmp_path / 'race.db'}")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = ShadowConfig(production=prod, candidates=(prod,), port=port)
        with pytest.raises(ConfigError, match="cannot listen"):
            serve_forever(config, store=store)
    assert store.list_shadow_runs() == []  # no run registered, no worker started
    store.close()
