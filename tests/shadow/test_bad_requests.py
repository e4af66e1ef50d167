"""Malformed requests found by an audit of the gateway's HTTP surface: each gets a 4xx
with a JSON error body, and none changes production, kills the recorder or fails a
candidate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from edgewise.shadow.gateway import ShadowConfig, ShadowServer
from edgewise.shadow.gateway._recorder import wait_until
from edgewise.store import Store

TOKEN = "bad-requests-token"
URL = "/v2/models/mlp-tiny/infer"


@pytest.fixture
def served(tmp_path: Path, model_path) -> Iterator[ShadowServer]:  # type: ignore[no-untyped-def]
    prod = model_path("mlp-tiny")
    cand = tmp_path / "twin.onnx"
    cand.write_bytes(prod.read_bytes())
    config = ShadowConfig(
        production=str(prod),
        candidates=(str(cand),),
        port=0,
        warmup=0,
        look_every=10,
        quantiles=(0.5,),
        tolerance=0.5,
        flush_interval_s=0.1,
    )
    with ShadowServer(config, store=Store(f"sqlite:///{tmp_path / 's.db'}"), token=TOKEN) as s:
        yield s


def _body(x: np.ndarray, **extra: object) -> dict[str, object]:
    item = {"name": "x", "shape": list(x.shape), "datatype": "FP32", "data": x.ravel().tolist()}
    return {"inputs": [item], **extra}


def _status(server: ShadowServer) -> dict:  # type: ignore[type-arg]
    return httpx.get(f"{server.url}/shadow/status").json()


def test_a_long_multibyte_request_id_does_not_kill_the_recorder(served: ShadowServer) -> None:
    x = np.zeros((1, 256), np.float32)
    with httpx.Client(base_url=served.url) as c:
        r = c.post(URL, json=_body(x, id="é" * 40_000))
        assert r.status_code == 200 and r.json()["id"] == "é" * 40_000  # echoed whole
        for _ in range(20):
            assert c.post(URL, json=_body(x)).status_code == 200
    assert wait_until(lambda: _status(served)["candidates"][0]["paired"] == 21, timeout_s=20)
    assert _status(served)["recorder_alive"] is True
    assert "edgewise_shadow_recorder_up{" in httpx.get(f"{served.url}/metrics").text


def test_malformed_promote_and_rollback_bodies_change_nothing(served: ShadowServer) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    before = _status(served)
    for action in ("promote", "rollback"):
        for body in (
            '{"candidat": "twin"}',
            "[1]",
            '{"candidate": 5}',
            '{"candidate": ""}',
            "\xff",
        ):
            r = httpx.post(
                f"{served.url}/shadow/{action}", content=body.encode("latin-1"), headers=auth
            )
            assert r.status_code == 400 and "error" in r.json(), (action, body, r.text)
        r = httpx.post(
            f"{served.url}/shadow/{action}",
            content=b'{"candidate": "twin"}',
            headers={"Authorization": "Bearer \xe9\xe9".encode("latin-1")},  # type: ignore[dict-item]
        )
        assert r.status_code == 401, r.text
    after = _status(served)
    assert after["production"]["sha256"] == before["production"]["sha256"]
    assert [c["state"] for c in after["candidates"]] == ["shadowing"]
    assert not after["events"]


def test_odd_infer_requests_are_400s(served: ShadowServer) -> None:
    x = np.zeros((1, 256), np.float32)
    deep = b'{"inputs": ' + b"[" * 3000 + b"]" * 3000 + b"}"  # over simdjson's 4 KB cut-in
    big_int = _body(x)
    big_int["inputs"][0]["data"] = [10**30] * 256  # type: ignore[index]
    list_dtype = _body(x)
    list_dtype["inputs"][0]["datatype"] = ["FP32"]  # type: ignore[index]
    with httpx.Client(base_url=served.url) as c:
        # integers past 64 bits crashed simdjson's parse (a 500); orjson reads them as floats
        assert c.post(URL, content=json.dumps(big_int).encode()).status_code == 200
        cases = [
            c.post(URL, content=deep, headers={"content-type": "application/json"}),
            c.post(URL, json=list_dtype),
            c.post(
                URL,
                content=b"{}",
                headers={"Inference-Header-Content-Length": "\xff".encode("latin-1")},  # type: ignore[dict-item]
            ),
        ]
    for r in cases:
        assert r.status_code == 400 and "error" in r.json(), r.text
    assert _status(served)["failed"] == 0


def test_nan_inputs_do_not_fail_an_identical_candidate(served: ShadowServer) -> None:
    """NaN in, NaN out on both replicas: the candidate did what production did."""
    import tritonclient.http as triton

    x = np.full((1, 256), np.nan, np.float32)
    client = triton.InferenceServerClient(served.url.removeprefix("http://"))
    try:
        for _ in range(30):
            inp = triton.InferInput("x", list(x.shape), "FP32")
            inp.set_data_from_numpy(x, binary_data=True)
            client.infer("mlp-tiny", [inp])
    finally:
        client.close()

    def judged() -> bool:
        cand = _status(served)["candidates"][0]
        return cand["paired"] == 30 and cand["verdict"] != "PENDING"

    assert wait_until(judged, timeout_s=20)
    cand = _status(served)["candidates"][0]
    assert cand["disagreements"] == 0 and cand["verdict"] != "FAIL", cand
