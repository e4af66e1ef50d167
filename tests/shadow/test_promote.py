"""Promote and roll back, by the judge (--auto) and by hand (CLI), under live load.

No in-flight request may fail while production changes hands, and every action
lands in the deployment registry with its verdict and reason.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from edgewise.cli import app
from edgewise.shadow.gateway import FAULT_ENV, TOKEN_ENV, ShadowConfig, ShadowServer
from edgewise.shadow.gateway._recorder import wait_until
from edgewise.store import Store


class Load:
    """Two client threads sending requests until stopped; counts answers by status."""

    def __init__(self, url: str) -> None:
        x = np.random.default_rng(0).standard_normal((1, 256)).astype(np.float32)
        self.body = {
            "inputs": [
                {"name": "x", "shape": [1, 256], "datatype": "FP32", "data": x.ravel().tolist()}
            ]
        }
        self.url = url
        self.codes: list[int] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(2)]

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as c:
            for _ in range(20_000):  # bounded
                if self._stop.is_set():
                    return
                try:
                    self.codes.append(
                        c.post("/v2/models/mlp-tiny/infer", json=self.body).status_code
                    )
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)


def _copies(tmp_path: Path, model: Path, names: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for n in names:
        p = tmp_path / f"{n}.onnx"
        p.write_bytes(model.read_bytes())
        out.append(str(p))
    return tuple(out)


def _config(prod: Path, cands: tuple[str, ...], *, auto: bool) -> ShadowConfig:
    return ShadowConfig(
        production=str(prod),
        candidates=cands,
        port=0,
        auto=auto,
        device="test-edge",
        warmup=20,
        look_every=50,
        quantiles=(0.5,),
        tolerance=0.5,
        max_disagreement=0.05,
        flush_interval_s=0.1,
    )


def test_auto_promotes_a_pass_and_rolls_back_a_fail_and_the_run_reads_back(
    tmp_path: Path,
    model_path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    prod = model_path("mlp-tiny")
    monkeypatch.setenv(FAULT_ENV, "slow=slow:10")
    store = Store(f"sqlite:///{tmp_path / 'auto.db'}")
    with ShadowServer(
        _config(prod, _copies(tmp_path, prod, ("same", "slow")), auto=True), store=store, token="t"
    ) as server:
        gw = server.gateway
        old_pid = gw.production.replica.pid  # type: ignore[union-attr]
        same_pid = next(c.replica.pid for c in gw.candidates if c.name == "same")
        with Load(server.url) as load:
            done = wait_until(lambda: len(gw.events) == 2, timeout_s=60)
        assert done, f"auto actions so far: {gw.events}; status {gw.status()['candidates']}"
        assert not load.errors and set(load.codes) == {200}, "no request failed during the swap"
        actions = {e["candidate"]: e for e in gw.events}
        assert actions["same"]["action"] == "promote" and actions["same"]["verdict"] == "PASS", (
            actions
        )
        assert actions["slow"]["action"] == "rollback" and actions["slow"]["verdict"] == "FAIL"
        status = httpx.get(f"{server.url}/shadow/status").json()
        assert status["production"]["replica"]["pid"] == same_pid
        assert status["failed"] == 0
        assert [(c["name"], c["state"], c["verdict"]) for c in status["candidates"]] == [
            ("slow", "rolled back", "FAIL")
        ]
        assert wait_until(lambda: not _alive(old_pid), timeout_s=10), "old production retired"
        res = httpx.post(f"{server.url}/v2/models/mlp-tiny/infer", json=Load(server.url).body)
        assert res.status_code == 200
    events = store.list_deployments(device="test-edge")
    assert sorted(e.event for e in events) == ["promote", "rollback"]
    for e in events:
        assert e.source == "shadow" and e.run_id == gw.run_id and e.reason.startswith("auto ")
        assert e.observed_ms is not None and e.observed_ms > 0 and e.percentile == 50.0
    store.close()
    _the_run_reads_back(tmp_path / "auto.db", gw.run_id, monkeypatch)


def _the_run_reads_back(db: Path, run_id: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """`shadow runs` and `shadow show` read the finished run back from the store."""
    import pandas as pd

    monkeypatch.setenv("EDGEWISE_DB", f"sqlite:///{db}")
    res = CliRunner().invoke(app, ["shadow", "runs", "--json"])
    assert res.exit_code == 0, res.stderr
    (run,) = json.loads(res.stdout)
    assert run["id"] == run_id and run["device"] == "test-edge" and run["pairs"] > 0
    assert run["verdicts"] == {"same": "PASS", "slow": "FAIL"}
    out = db.parent / "pairs.parquet"
    page = db.parent / "run.html"
    res = CliRunner().invoke(
        app, ["shadow", "show", str(run_id), "--json", "--pairs", str(out), "--html", str(page)]
    )
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    cands = {c["name"]: c for c in doc["candidates"]}
    slow, same = cands["slow"], cands["same"]
    assert slow["verdict"] == "FAIL" and slow["history"][-1]["final"]
    assert "FAIL" in slow["history"][-1]["reason"]
    # slow:10 makes the candidate ~10x slower: its p50 interval sits above production's
    assert slow["candidate"]["p50"]["ci95"][0] > slow["production"]["p50"]["ci95"][1]
    assert same["verdict"] == "PASS" and same["censored"] == 0
    assert sorted(e["event"] for e in doc["events"]) == ["promote", "rollback"]
    frame = pd.read_parquet(out)
    assert len(frame) == doc["pairs_written"] == sum(c["pairs"] for c in doc["candidates"])
    assert set(frame["candidate"]) == {"same", "slow"} and (frame["production_ms"] > 0).all()
    assert "paired request" in page.read_text() and "slow" in page.read_text()
    res = CliRunner().invoke(app, ["shadow", "show", str(run_id)])
    assert res.exit_code == 0 and "p99 ms (95% CI)" in res.stdout and "event #" in res.stdout
    assert "final FAIL after" in res.stdout
    res = CliRunner().invoke(app, ["shadow", "show", "999"])
    assert res.exit_code == 2 and "unknown shadow run '999'" in res.stderr
    res = CliRunner().invoke(app, ["shadow", "show", str(run_id), "--pairs", str(db) + ".txt"])
    assert res.exit_code == 2 and ".csv or .parquet" in res.stderr


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def manual(tmp_path: Path, model_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ShadowServer]:  # type: ignore[no-untyped-def]
    prod = model_path("mlp-tiny")
    monkeypatch.setenv(TOKEN_ENV, "cli-token")
    with ShadowServer(
        _config(prod, _copies(tmp_path, prod, ("alpha", "beta")), auto=False), store=Store()
    ) as server:
        yield server


def test_cli_status_promote_rollback_and_registry(
    manual: ShadowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    url = manual.url
    res = runner.invoke(app, ["shadow", "status", "--url", url, "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert {"production", "requests", "candidates"} <= set(doc)
    assert [c["name"] for c in doc["candidates"]] == ["alpha", "beta"]
    for c in doc["candidates"]:
        assert {"name", "paired", "dropped", "verdict", "reason"} <= set(c) and c[
            "verdict"
        ] == "PENDING"
    res = runner.invoke(app, ["shadow", "status", "--url", url])
    assert res.exit_code == 0 and "alpha" in res.stdout
    assert "judged against production itself" in " ".join(res.stdout.split())

    res = runner.invoke(app, ["shadow", "promote", "--url", url])
    assert res.exit_code == 2 and "name the candidate" in res.stderr
    res = runner.invoke(app, ["shadow", "promote", "alpha", "--url", url, "--token", "wrong"])
    assert res.exit_code == 2 and "401" in res.stderr

    alpha_pid = next(c.replica.pid for c in manual.gateway.candidates if c.name == "alpha")
    with Load(url) as load:
        time.sleep(0.5)
        res = runner.invoke(app, ["shadow", "promote", "alpha", "--url", url, "--json"])
        time.sleep(0.3)
    assert res.exit_code == 0, res.output
    event = json.loads(res.stdout)
    assert (
        event["action"] == "promote" and event["candidate"] == "alpha" and event["by"] == "manual"
    )
    assert not load.errors and load.codes and set(load.codes) == {200}
    assert manual.gateway.production.replica.pid == alpha_pid  # type: ignore[union-attr]

    res = runner.invoke(app, ["shadow", "rollback", "--url", url])  # the only one left
    assert res.exit_code == 0, res.output
    assert "beta" in res.stdout
    # acting on it again says what became of it (it said "unknown candidate")
    res = runner.invoke(app, ["shadow", "promote", "beta", "--url", url])
    assert res.exit_code == 2 and "'beta' was rolled back" in res.stderr, res.output

    res = runner.invoke(app, ["deployments", "list", "--json"])
    assert res.exit_code == 0, res.output
    events = json.loads(res.stdout)
    assert [e["event"] for e in events] == ["rollback", "promote"]
    assert all(
        e["source"] == "manual" and e["device"] == "test-edge" and len(e["model_sha256"]) == 64
        for e in events
    )
    res = runner.invoke(app, ["deployments", "list"])
    assert res.exit_code == 0 and "promote" in res.stdout
    res = runner.invoke(app, ["deployments", "list", "--event", "nope"])
    assert res.exit_code == 2


def test_cli_unreachable_gateway_is_a_clean_error() -> None:
    res = CliRunner().invoke(app, ["shadow", "status", "--url", "http://127.0.0.1:9", "--json"])
    assert res.exit_code == 2 and "cannot reach" in res.stderr


def test_serve_rejects_bad_options(tmp_path: Path, model_path) -> None:  # type: ignore[no-untyped-def]
    prod = str(model_path("mlp-tiny"))
    runner = CliRunner()
    cases = [
        ["shadow", "serve", "--production", prod, "--production-url", "http://127.0.0.1:9"],
        ["shadow", "serve", "--candidate", prod],
        ["shadow", "serve", "--production", prod, "--candidate", str(tmp_path / "missing.onnx")],
        ["shadow", "serve", "--production", prod, "--candidate", prod, "--mirror-percent", "150"],
        ["shadow", "serve", "--production", prod, "--candidate", prod, "--tolerance", "ten"],
        ["shadow", "serve", "--production", prod, "--candidate", prod, "--production-cpus", "a-b"],
        ["shadow", "serve", "--production", prod, "--gateway-cpus", "4096"],
        # judge settings fail before the run is registered (they used to fail in the recorder)
        ["shadow", "serve", "--production", prod, "--candidate", prod, "--alpha", "0"],
        ["shadow", "serve", "--production", prod, "--candidate", prod, "--quantile", "150"],
        ["shadow", "serve", "--production", prod, "--candidate", prod, "--look-every", "0"],
        ["shadow", "serve", "--production", prod, "--candidate", prod, "--name", "a/b c"],
        ["shadow", "serve", "--production", prod, "--candidate", prod, "--host", "999.1.1.1"],
        ["shadow", "serve", "--production", prod, "--port", "70000"],
        ["serve", "--port", "70000"],
        ["serve", "--host", "999.1.1.1"],
    ]
    runs_before = len(Store().list_shadow_runs())
    for args in cases:
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        assert len(res.stderr.strip().splitlines()) == 1
    assert len(Store().list_shadow_runs()) == runs_before  # nothing registered
    assert os.environ.get(TOKEN_ENV) is None


def _variant(model_path, tmp_path: Path, change: str) -> Path:  # type: ignore[no-untyped-def]
    """mlp-tiny with its output renamed, or cast to float64 (clients would break)."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(model_path("mlp-tiny"))
    name = model.graph.output[0].name
    if change == "renamed":
        for node in model.graph.node:
            node.output[:] = ["scores" if o == name else o for o in node.output]
        model.graph.output[0].name = "scores"
    else:  # the same name, now float64: the last node's result goes through a Cast
        for node in model.graph.node:
            node.output[:] = ["narrow" if o == name else o for o in node.output]
        model.graph.node.append(helper.make_node("Cast", ["narrow"], [name], to=TensorProto.DOUBLE))
        model.graph.output[0].CopyFrom(
            helper.make_tensor_value_info(name, TensorProto.DOUBLE, [1, 10])
        )
    path = tmp_path / f"{change}.onnx"
    onnx.save(model, path)
    return path


@pytest.mark.parametrize(
    ("candidate", "message"),
    [
        ("cnn-small", "must accept production's requests"),  # other input name
        ("mlp-small", r"takes x \[1,512\] but production takes \[1,256\]"),
        ("renamed", "clients would not find their outputs"),
        ("float64", "clients would not find their outputs"),
    ],
)
def test_a_candidate_production_cannot_swap_with_is_refused(
    model_path, tmp_path: Path, candidate: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    """A hunt promoted a renamed-output candidate and one taking [1, 512]: every
    request failed after the swap. They are refused at start now."""
    from edgewise.errors import ConfigError

    path = (
        model_path(candidate)
        if candidate in ("cnn-small", "mlp-small")
        else _variant(model_path, tmp_path, candidate)
    )
    config = ShadowConfig(production=str(model_path("mlp-tiny")), candidates=(str(path),), port=0)
    server = ShadowServer(config, token="t")
    with pytest.raises(ConfigError, match=message):
        server.__enter__()
    assert not any(
        _alive(m.replica.pid) for m in [*server.gateway.candidates, server.gateway.production] if m
    )
