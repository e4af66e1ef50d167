"""A real gateway on 127.0.0.1 with production and a candidate in worker processes.

Stock clients (httpx JSON, tritonclient binary and JSON) get production's answers;
every request is mirrored, paired and written to the store; malformed requests get
a 4xx OIP error body and never reach a worker.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from edgewise.runtime import BackendConfig, load_model_info, open_backend
from edgewise.shadow.gateway import ShadowConfig, ShadowServer
from edgewise.shadow.gateway._recorder import wait_until
from edgewise.store import Store

TOKEN = "test-token-123"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ShadowServer, Store, Path]]:
    from edgewise.zoo import write_example

    folder = tmp_path_factory.mktemp("gw")
    model = write_example("cnn-small", folder)
    cand = folder / "cnn-copy.onnx"
    cand.write_bytes(model.read_bytes())
    store = Store(f"sqlite:///{folder / 'gw.db'}")
    config = ShadowConfig(
        production=str(model),
        candidates=(str(cand),),
        port=0,
        warmup=10,
        look_every=50,
        quantiles=(0.5,),
        tolerance=0.5,
        max_disagreement=0.05,
        flush_interval_s=0.1,
        max_body_bytes=1 << 20,
        body_timeout_s=1.0,
    )
    with ShadowServer(config, store=store, token=TOKEN) as server:
        yield server, store, model
    store.close()


def _image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((1, 3, 64, 64)).astype(np.float32)


def _reference(model: Path, x: np.ndarray) -> np.ndarray:
    backend = open_backend(load_model_info(model), config=BackendConfig(threads=1))
    return backend.run({"image": x})[0]


def test_metadata_and_health(served: tuple[ShadowServer, Store, Path]) -> None:
    server, _, _ = served
    with httpx.Client(base_url=server.url) as c:
        assert c.get("/v2/health/live").json() == {"live": True}
        assert c.get("/v2/health/ready").status_code == 200
        meta = c.get("/v2/models/cnn-small").json()
        assert meta["inputs"] == [{"name": "image", "datatype": "FP32", "shape": [1, 3, 64, 64]}]
        assert c.get("/v2/models/cnn-small/ready").status_code == 200
        missing = c.get("/v2/models/nope")
        assert missing.status_code == 404 and "nope" in missing.json()["error"]


def test_httpx_json_infer_returns_productions_output(
    served: tuple[ShadowServer, Store, Path],
) -> None:
    server, _, model = served
    x = _image(1)
    body = {
        "id": "abc",
        "inputs": [
            {
                "name": "image",
                "shape": [1, 3, 64, 64],
                "datatype": "FP32",
                "data": x.ravel().tolist(),
            }
        ],
    }
    res = httpx.post(f"{server.url}/v2/models/cnn-small/infer", json=body)
    assert res.status_code == 200, res.text
    doc = res.json()
    assert doc["id"] == "abc" and doc["model_name"] == "cnn-small"
    got = np.asarray(doc["outputs"][0]["data"], np.float32).reshape(doc["outputs"][0]["shape"])
    np.testing.assert_allclose(got, _reference(model, x), rtol=1e-5, atol=1e-6)


def test_tritonclient_binary_and_json(served: tuple[ShadowServer, Store, Path]) -> None:
    import tritonclient.http as triton

    server, _, model = served
    client = triton.InferenceServerClient(url=server.url.removeprefix("http://"))
    try:
        assert client.is_server_live() and client.is_model_ready("cnn-small")
        meta = client.get_model_metadata("cnn-small")
        out_name = meta["outputs"][0]["name"]
        x = _image(2)
        want = _reference(model, x)
        for binary in (True, False):
            inp = triton.InferInput("image", list(x.shape), "FP32")
            inp.set_data_from_numpy(x, binary_data=binary)
            out = triton.InferRequestedOutput(out_name, binary_data=binary)
            result = client.infer("cnn-small", [inp], outputs=[out], request_id=f"t{binary}")
            np.testing.assert_allclose(result.as_numpy(out_name), want, rtol=1e-5, atol=1e-6)
            assert result.get_response()["id"] == f"t{binary}"
        # no outputs named: tritonclient asks for all of them in binary
        inp = triton.InferInput("image", list(x.shape), "FP32")
        inp.set_data_from_numpy(x)
        np.testing.assert_allclose(
            client.infer("cnn-small", [inp]).as_numpy(out_name), want, rtol=1e-5, atol=1e-6
        )
    finally:
        client.close()


def test_every_request_is_paired_and_stored(served: tuple[ShadowServer, Store, Path]) -> None:
    server, store, _ = served
    x = _image(3)
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

    def settled() -> dict[str, Any]:
        """The status once every mirrored request is paired (the recorder's counters
        reach the gateway a few times a second)."""
        got: dict[str, Any] = {}

        def done() -> bool:
            got.update(httpx.get(f"{server.url}/shadow/status").json())
            return all(c["paired"] == c["mirrored"] for c in got["candidates"])

        assert wait_until(done, timeout_s=10)
        return got

    before = settled()
    n = 120
    with httpx.Client(base_url=server.url) as c:
        for _ in range(n):
            res = c.post(
                "/v2/models/cnn-small/infer",
                content=head + x.tobytes(),
                headers={"Inference-Header-Content-Length": str(len(head))},
            )
            assert res.status_code == 200
            assert res.headers["content-type"] == "application/octet-stream"
    cand = before["candidates"][0]["name"]
    run_id = server.gateway.run_id
    assert run_id is not None
    want = before["candidates"][0]["paired"] + n
    assert wait_until(lambda: store.count_shadow_pairs(run_id) >= want, timeout_s=10)
    status = settled()
    c0 = status["candidates"][0]
    assert status["requests"] == before["requests"] + n and status["failed"] == 0
    assert (
        c0["name"] == cand and c0["paired"] == want and c0["dropped"] == 0 and c0["censored"] == 0
    )
    assert set(c0) >= {"name", "paired", "dropped", "verdict", "reason"}
    pairs = store.shadow_pairs(run_id, candidate=cand)
    assert len(pairs) == want
    last = pairs[-1]
    assert last.outcome == "ok" and last.agree and last.top1_agree and last.max_abs_diff == 0.0
    assert last.production_ms > 0 and last.candidate_ms is not None and last.candidate_ms > 0
    assert (
        last.production_compute_ms is not None and last.production_compute_ms <= last.production_ms
    )
    assert last.lag_ms is not None and last.lag_ms >= 0
    # an identical candidate, judged on p50 with 50% tolerance: a PASS with a reason
    assert wait_until(
        lambda: httpx.get(f"{server.url}/shadow/status").json()["candidates"][0]["verdict"]
        != "PENDING",
        timeout_s=5,
    )
    verdict = httpx.get(f"{server.url}/shadow/status").json()["candidates"][0]
    assert verdict["verdict"] in {"PASS", "INCONCLUSIVE"}, verdict["reason"]
    assert "requests" in verdict["reason"]
    assert store.shadow_verdicts(run_id), "each look is stored"


def _sent(server: ShadowServer) -> tuple[int, int]:
    s = httpx.get(f"{server.url}/shadow/status").json()
    return s["production"]["replica"]["sent"], s["candidates"][0]["replica"]["sent"]


@pytest.mark.parametrize(
    ("content", "headers", "status", "needle"),
    [
        (b"{bad json", {}, 400, "not valid JSON"),
        (
            json.dumps(
                {
                    "inputs": [
                        {
                            "name": "image",
                            "shape": [1, 3, 64, 64],
                            "datatype": "FP64",
                            "data": [0.0],
                        }
                    ]
                }
            ).encode(),
            {},
            400,
            "datatype FP64",
        ),
        (
            json.dumps(
                {
                    "inputs": [
                        {
                            "name": "image",
                            "shape": [1, 3, 32, 32],
                            "datatype": "FP32",
                            "data": [0.0] * 3072,
                        }
                    ]
                }
            ).encode(),
            {},
            400,
            "does not match",
        ),
        (
            json.dumps(
                {
                    "inputs": [
                        {
                            "name": "image",
                            "shape": [1, 3, 64, 64],
                            "datatype": "FP32",
                            "parameters": {"binary_data_size": 49152},
                        }
                    ]
                }
            ).encode(),
            {},
            400,
            "past the end",
        ),
        (b"x" * ((1 << 20) + 1), {}, 413, "over the"),
    ],
    ids=["bad-json", "wrong-datatype", "wrong-shape", "short-binary", "oversized"],
)
def test_malformed_requests_never_reach_a_worker(
    served: tuple[ShadowServer, Store, Path],
    content: bytes,
    headers: dict[str, str],
    status: int,
    needle: str,
) -> None:
    server, _, _ = served
    before = _sent(server)
    res = httpx.post(f"{server.url}/v2/models/cnn-small/infer", content=content, headers=headers)
    assert res.status_code == status
    assert needle in res.json()["error"]
    assert _sent(server) == before


def test_a_stalled_body_gets_408_and_frees_the_request(
    served: tuple[ShadowServer, Store, Path],
) -> None:
    """A client that declares 4 KiB, sends 11 bytes and stalls is answered after the body
    timeout (1 s here, 30 s by default), and the gateway goes on serving."""
    import socket
    import time
    from urllib.parse import urlsplit

    server, _, _ = served
    before = _sent(server)
    url = urlsplit(server.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v2/models/cnn-small/infer HTTP/1.1\r\nHost: x\r\n"
            b'Content-Type: application/json\r\nContent-Length: 4096\r\n\r\n{"inputs": '
        )
        t0 = time.monotonic()
        reply = sock.recv(65536).decode()
        waited = time.monotonic() - t0
    assert reply.startswith("HTTP/1.1 408"), reply[:200]
    assert "not received within 1 s (11 bytes came)" in reply
    assert 0.8 < waited < 8.0
    assert _sent(server) == before
    assert httpx.get(f"{server.url}/v2/health/ready").status_code == 200


def test_unknown_model_is_404(served: tuple[ShadowServer, Store, Path]) -> None:
    server, _, _ = served
    res = httpx.post(f"{server.url}/v2/models/other/infer", content=b"{}")
    assert res.status_code == 404 and "other" in res.json()["error"]
    res = httpx.get(f"{server.url}/v2/repository/index")
    assert res.status_code == 404 and res.json() == {"error": "Not Found"}
    res = httpx.get(f"{server.url}/v2/models/cnn-small/infer")
    assert res.status_code == 405 and "error" in res.json()
    # it serves version 1 only: another version is refused before any work, not served
    before = _sent(server)
    res = httpx.post(f"{server.url}/v2/models/cnn-small/versions/7/infer", content=b"{}")
    assert res.status_code == 404 and "no version '7'" in res.json()["error"]
    assert _sent(server) == before
    for path in ("/v2/models/cnn-small/versions/7", "/v2/models/cnn-small/versions/7/ready"):
        assert httpx.get(server.url + path).status_code == 404
    assert httpx.get(f"{server.url}/v2/models/cnn-small/versions/1").status_code == 200


def test_metrics_are_prometheus_text(served: tuple[ShadowServer, Store, Path]) -> None:
    server, _, _ = served
    text = httpx.get(f"{server.url}/metrics").text
    assert "# TYPE edgewise_shadow_requests_total counter" in text
    assert 'edgewise_shadow_paired_total{model="cnn-small",candidate="cnn-copy"}' in text
    assert (
        'edgewise_shadow_verdict{model="cnn-small",candidate="cnn-copy",verdict="PENDING"}' in text
    )
    for line in text.splitlines():
        assert (
            line.startswith("#")
            or line.rsplit(" ", 1)[1]
            .replace(".", "")
            .replace("e", "")
            .replace("-", "")
            .replace("+", "")
            .isdigit()
        )


def test_mutations_need_the_token(served: tuple[ShadowServer, Store, Path]) -> None:
    server, _, _ = served
    for path in ("/shadow/promote", "/shadow/rollback"):
        res = httpx.post(server.url + path, json={"candidate": "cnn-copy"})
        assert res.status_code == 401 and "Bearer" in res.json()["error"]
        res = httpx.post(
            server.url + path,
            json={"candidate": "cnn-copy"},
            headers={"Authorization": "Bearer wrong"},
        )
        assert res.status_code == 401
    res = httpx.post(
        server.url + "/shadow/rollback",
        json={"candidate": "nope"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert res.status_code == 404 and "nope" in res.json()["error"]
    assert httpx.get(f"{server.url}/shadow/status").json()["candidates"][0]["state"] == "shadowing"


def test_wait_until_times_out() -> None:
    t0 = time.monotonic()
    assert not wait_until(lambda: False, timeout_s=0.05)
    assert time.monotonic() - t0 < 1.0
