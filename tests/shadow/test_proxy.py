"""Proxy mode: production and candidate are existing OIP servers behind the gateway.

The two backends are themselves edgewise gateways without candidates (plain OIP
servers), so everything runs for real on 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from edgewise.shadow.gateway import ShadowConfig, ShadowServer
from edgewise.shadow.gateway._recorder import wait_until
from edgewise.store import Store


def test_proxy_mirrors_to_remote_oip_servers(tmp_path: Path, model_path) -> None:  # type: ignore[no-untyped-def]
    model = str(model_path("mlp-tiny"))
    store = Store(f"sqlite:///{tmp_path / 'proxy.db'}")
    with (
        ShadowServer(ShadowConfig(production=model, port=0), token="t") as prod,
        ShadowServer(ShadowConfig(production=model, port=0), token="t") as cand,
    ):
        config = ShadowConfig(
            production_url=f"{prod.url}/v2/models/mlp-tiny",
            candidate_urls=(cand.url,),
            name="mlp-tiny",
            port=0,
            warmup=0,
            look_every=20,
            flush_interval_s=0.1,
        )
        with ShadowServer(config, store=store, token="t") as gw:
            meta = httpx.get(f"{gw.url}/v2/models/mlp-tiny").json()
            assert meta["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [1, 256]}]
            x = np.random.default_rng(0).standard_normal((1, 256)).astype(np.float32)
            body = {
                "inputs": [
                    {"name": "x", "shape": [1, 256], "datatype": "FP32", "data": x.ravel().tolist()}
                ]
            }
            direct = httpx.post(f"{prod.url}/v2/models/mlp-tiny/infer", json=body).json()
            n = 40
            with httpx.Client(base_url=gw.url) as c:
                for _ in range(n):
                    res = c.post("/v2/models/mlp-tiny/infer", json=body)
                    assert res.status_code == 200
            assert res.json()["outputs"][0]["data"] == direct["outputs"][0]["data"]
            bad = httpx.post(
                f"{gw.url}/v2/models/mlp-tiny/infer",
                json={
                    "inputs": [
                        {"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}
                    ]
                },
            )
            assert bad.status_code == 400
            run_id = gw.gateway.run_id
            assert run_id is not None
            assert wait_until(lambda: store.count_shadow_pairs(run_id) == n, timeout_s=10)
            status = httpx.get(f"{gw.url}/shadow/status").json()
            assert status["failed"] == 0 and status["candidates"][0]["replica"]["kind"] == "url"
        # each backend saw exactly the requests it was sent, the bad one never
        assert httpx.get(f"{prod.url}/shadow/status").json()["requests"] == n + 1
        assert httpx.get(f"{cand.url}/shadow/status").json()["requests"] == n
    pairs = store.shadow_pairs(run_id)
    assert all(p.outcome == "ok" and p.agree and p.candidate_ms is not None for p in pairs)
    assert {r.production.get("url") for r in store.list_shadow_runs()} == {
        f"{prod.url}/v2/models/mlp-tiny"
    }
    store.close()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>hello</html>", "not JSON"),
        (b"[1, 2]", "no inputs list"),
        (b'{"inputs": [{"datatype": "FP32", "shape": [1]}]}', "has no name"),
        (b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": ["a", 256]}]}', "not a list"),
    ],
)
def test_a_server_that_is_not_oip_is_a_clear_error(body: bytes, message: str) -> None:
    """A hunt pointed --production-url at an HTML page, a JSON list, a nameless tensor:
    tracebacks (JSONDecodeError, AttributeError, KeyError, ValueError), exit 1."""
    import http.server
    import threading

    from edgewise.errors import ConfigError

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v2/models/m"
        with pytest.raises(ConfigError, match=message):
            ShadowServer(ShadowConfig(production_url=url, port=0), token="t").__enter__()
    finally:
        server.shutdown()
        server.server_close()


def test_odd_settings_are_refused() -> None:
    from edgewise.errors import ConfigError

    with pytest.raises(ConfigError, match="give production"):
        ShadowConfig(production_url="")
    with pytest.raises(ConfigError, match="--flush-interval must be a finite"):
        ShadowConfig(production="m.onnx", flush_interval_s=float("inf"))
