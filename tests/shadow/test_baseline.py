"""``--baseline``: candidates judged against a mirrored twin of production.

The pairing tests run the recorder's bookkeeping in-process with made-up replies, so
the reference each judged pair used is known exactly. The gateway test runs a real
gateway with production, a candidate and the baseline in worker processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from edgewise.cli import app
from edgewise.errors import ConfigError
from edgewise.shadow.gateway import ShadowConfig, ShadowServer
from edgewise.shadow.gateway import _wire as wire
from edgewise.shadow.gateway._oip import TensorData
from edgewise.shadow.gateway._recorder import Pairing, wait_until
from edgewise.store import Store

TOKEN = "test-token-baseline"
CAND, BASE = 0, 1
SETTINGS: dict[str, Any] = {
    "warmup": 0,
    "look_every": 100,
    "quantiles": (0.5,),
    "tolerance": 0.1,
    "max_disagreement": None,
}
OUT = (TensorData.from_array("y", np.arange(4, dtype=np.float32)),)


def _reply(seq: int, ms: float) -> wire.Reply:
    ns = int(ms * 1e6)
    return wire.Reply(seq, wire.OK, ns, 0, ns, 0, outputs=OUT)


def _production(core: Pairing, seq: int, ms: float, *, sent: int = 0b11) -> None:
    lags = [0] * bin(sent).count("1")
    core.production(
        seq, sent=sent, down=0, lags=lags, request_id=str(seq), reply=_reply(seq, ms), now=0.0
    )


def _judged(core: Pairing) -> tuple[np.ndarray, np.ndarray]:
    """What the judge holds for the candidate: (reference ms, candidate ms)."""
    stream = core.judge._streams["cand"]
    n = stream.used
    return stream.production[:n].copy(), stream.candidate[:n].copy()


def _core(*, baseline: int | None = BASE) -> Pairing:
    names = {CAND: "cand", BASE: "baseline"} if baseline is not None else {CAND: "cand"}
    return Pairing(names, settings=SETTINGS, timeout_s=1.0, baseline=baseline)


def test_the_judge_compares_the_candidate_with_the_baseline_not_production() -> None:
    core = _core()
    assert core.judge.candidates == ("cand",)  # the baseline is a reference, not judged
    for seq in range(1, 301):
        _production(core, seq, 1.0)  # production runs elsewhere, 2x faster
        if seq % 2:  # either side may answer first
            core.candidate(CAND, _reply(seq, 2.0), now=0.0)
            core.candidate(BASE, _reply(seq, 2.0 + seq * 1e-4), now=0.0)
        else:
            core.candidate(BASE, _reply(seq, 2.0 + seq * 1e-4), now=0.0)
            core.candidate(CAND, _reply(seq, 2.0), now=0.0)
    ref, cand = _judged(core)
    assert ref.size == 100  # the first look (100 pairs) is final: the judge stops there
    np.testing.assert_allclose(ref, 2.0 + np.arange(1, 101) * 1e-4, atol=1e-6)
    np.testing.assert_allclose(cand, 2.0, atol=1e-6)
    core.judge_looks()
    verdict = core.verdicts["cand"]
    assert str(verdict.verdict) == "PASS", verdict.reason
    assert "baseline" in verdict.reason
    # every pair is still stored against production, the baseline's too
    names = [r.candidate for r in core.records]
    assert names.count("cand") == 300 and names.count("baseline") == 300
    assert core._owed == {} and core._ref == {} and core._held == {}


def test_without_a_baseline_the_same_stream_fails_against_production() -> None:
    core = _core(baseline=None)
    for seq in range(1, 301):
        _production(core, seq, 1.0 + seq * 1e-4, sent=0b1)
        core.candidate(CAND, _reply(seq, 2.0), now=0.0)
    core.judge_looks()
    verdict = core.verdicts["cand"]
    assert str(verdict.verdict) == "FAIL", verdict.reason
    assert "over 1.10x production" in verdict.reason


def test_requests_the_baseline_did_not_answer_are_not_judged() -> None:
    core = _core()
    _production(core, 1, 1.0, sent=0b01)  # the baseline got no copy (dropped)
    core.candidate(CAND, _reply(1, 2.0), now=0.0)
    _production(core, 2, 1.0)
    core.candidate(CAND, _reply(2, 3.0), now=0.0)
    core.expire(10.0)  # the baseline timed out on request 2
    _production(core, 3, 1.0)
    core.candidate(BASE, _reply(3, 2.5), now=0.0)
    core.candidate(CAND, wire.Reply(3, wire.ERROR, 0, 0, 0, 0, message="boom"), now=0.0)
    ref, cand = _judged(core)
    assert ref.tolist() == [2.5] and np.isinf(cand).all()  # the error is censored, judged
    assert [(r.candidate, r.seq, r.outcome) for r in core.records if r.candidate == "baseline"] == [
        ("baseline", 2, "timeout"),
        ("baseline", 3, "ok"),
    ]
    assert core._owed == {} and core._held == {}


def test_a_promotion_retires_the_baseline() -> None:
    core = _core()
    core.reset(["cand"])
    assert core.baseline is None and core.judge.reference == "production"


def test_a_promotion_judges_even_a_final_verdict_again() -> None:
    """A candidate whose PASS came while another was being promoted kept that PASS,
    reached against the old production, for good: never judged or promoted again."""
    core = _core(baseline=None)
    for seq in range(1, 301):  # the candidate is twice as fast as production
        _production(core, seq, 1.0 + seq * 1e-4, sent=0b1)
        core.candidate(CAND, _reply(seq, 0.5 + seq * 1e-4), now=0.0)
    core.judge_looks()
    assert core.verdicts["cand"].final and str(core.verdicts["cand"].verdict) == "PASS"
    core.reset(["cand"])  # another candidate became production
    assert not core.verdicts["cand"].final and str(core.verdicts["cand"].verdict) == "PENDING"
    for seq in range(301, 601):  # the new production is twice as fast again: a FAIL
        _production(core, seq, 0.25 + seq * 1e-5, sent=0b1)
        core.candidate(CAND, _reply(seq, 0.5 + seq * 1e-5), now=0.0)
    core.judge_looks()
    assert str(core.verdicts["cand"].verdict) == "FAIL", core.verdicts["cand"].reason


def test_baseline_needs_a_model_and_a_candidate(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"x")
    with pytest.raises(ConfigError, match="candidate"):
        ShadowConfig(production=str(model), baseline=True)
    with pytest.raises(ConfigError, match="--production MODEL"):
        ShadowConfig(production_url="http://127.0.0.1:1", candidates=(str(model),), baseline=True)
    with pytest.raises(ConfigError, match="needs --baseline"):
        ShadowConfig(production=str(model), candidates=(str(model),), baseline_cpus=(0,))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ShadowServer, Store]]:
    from edgewise.zoo import write_example

    folder = tmp_path_factory.mktemp("baseline")
    model = write_example("mlp-tiny", folder)
    cand = folder / "mlp-copy.onnx"
    cand.write_bytes(model.read_bytes())
    store = Store(f"sqlite:///{folder / 'gw.db'}")
    config = ShadowConfig(
        production=str(model),
        candidates=(str(cand),),
        baseline=True,
        port=0,
        warmup=10,
        look_every=50,
        quantiles=(0.5,),
        tolerance=0.5,
        flush_interval_s=0.1,
    )
    with ShadowServer(config, store=store, token=TOKEN) as server:
        yield server, store
    store.close()


def test_a_gateway_with_a_baseline_mirrors_pairs_and_judges_against_it(
    served: tuple[ShadowServer, Store],
) -> None:
    server, store = served
    meta = httpx.get(f"{server.url}/v2/models/mlp-tiny").json()
    spec = meta["inputs"][0]
    x = np.random.default_rng(0).standard_normal(spec["shape"]).astype(np.float32)
    body = {
        "inputs": [
            {
                "name": spec["name"],
                "shape": spec["shape"],
                "datatype": "FP32",
                "data": x.ravel().tolist(),
            }
        ]
    }
    n = 150
    with httpx.Client(base_url=server.url) as c:
        for _ in range(n):
            assert c.post("/v2/models/mlp-tiny/infer", json=body).status_code == 200
    status: dict[str, Any] = {}

    def settled() -> bool:
        status.update(httpx.get(f"{server.url}/shadow/status").json())
        base, cand = status["baseline"], status["candidates"][0]
        return base["paired"] == n and cand["paired"] == n and cand["verdict"] != "PENDING"

    assert wait_until(settled, timeout_s=15), status
    base, cand = status["baseline"], status["candidates"][0]
    assert base["state"] == "baseline" and base["mirrored"] == n and base["censored"] == 0
    assert [c["name"] for c in status["candidates"]] == ["mlp-copy"]
    assert "baseline" in cand["reason"], cand["reason"]
    table = " ".join(
        CliRunner().invoke(app, ["shadow", "status", "--url", server.url]).stdout.split()
    )
    assert "judged against a baseline" in table and "against production itself" not in table
    run_id = server.gateway.run_id
    assert run_id is not None
    assert wait_until(lambda: store.count_shadow_pairs(run_id) == 2 * n, timeout_s=10)
    seqs = {
        name: [p.seq for p in store.shadow_pairs(run_id, candidate=name)]
        for name in ("baseline", "mlp-copy")
    }
    assert seqs["baseline"] == seqs["mlp-copy"] and len(seqs["baseline"]) == n

    # promoting the candidate retires the baseline (it ran the old production model)
    res = httpx.post(
        f"{server.url}/shadow/promote",
        json={"candidate": "mlp-copy"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert res.status_code == 200, res.text
    after = httpx.get(f"{server.url}/shadow/status").json()
    assert after["baseline"]["state"] == "retired"
    assert not server.gateway.baseline.replica.alive
