"""The HTTP API in-process through httpx.ASGITransport."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from edgewise.service import create_app
from edgewise.store import Store


def _call(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


@pytest.fixture(scope="module")
def app(tiny_store: Store) -> Any:
    return create_app(store=tiny_store)


def test_chips(app: Any) -> None:
    chips = _call(app, "GET", "/api/chips").json()
    assert chips and {"name", "kind", "specs", "results"} <= set(chips[0])
    mcus = _call(app, "GET", "/api/chips", params={"kind": "mcu"}).json()
    assert mcus and all(c["kind"] == "mcu" for c in mcus)
    one = _call(app, "GET", "/api/chips/32-bit Arm Cortex-M0+")
    assert one.status_code == 200 and one.json()["latency"]
    unknown = _call(app, "GET", "/api/chips/Cortex-M0 plus plus")
    assert unknown.status_code == 404 and "unknown chip" in unknown.json()["error"]
    typo = _call(app, "GET", "/api/chips", params={"kind": "gpus"})
    assert typo.status_code == 404 and typo.json()["suggestions"][0] == "gpu"
    for method, url in (("GET", "/api/nope"), ("DELETE", "/api/chips")):
        r = _call(app, method, url)  # the framework's 404/405 in the same error shape
        assert r.status_code in (404, 405) and r.json()["error"], r.text


def test_recommend(app: Any) -> None:
    r = _call(app, "POST", "/api/recommend", json={"benchmark": "keyword_spotting", "slo_ms": 100})
    assert r.status_code == 200
    doc = r.json()
    assert doc["fits"] and doc["ranked"][0]["chip"] == doc["best"]["chip"]
    assert all(o["lower_ms"] <= o["latency_ms"] <= o["upper_ms"] for o in doc["ranked"])


def test_recommend_errors(app: Any) -> None:
    none = _call(
        app, "POST", "/api/recommend", json={"benchmark": "keyword_spotting", "slo_ms": 1e-6}
    )
    assert none.status_code == 422
    assert none.json()["error"].startswith("no chip fits")
    assert none.json()["recommendation"]["nearest_misses"]
    typo = _call(app, "POST", "/api/recommend", json={"benchmark": "keyword_spoting", "slo_ms": 1})
    assert typo.status_code == 404 and typo.json()["suggestions"] == ["keyword_spotting"]
    bad = _call(app, "POST", "/api/recommend", json={"benchmark": "x", "slo_ms": -1})
    assert bad.status_code == 422
    pct = _call(
        app,
        "POST",
        "/api/recommend",
        json={"benchmark": "keyword_spotting", "slo_ms": 5, "percentile": 99},
    )
    assert pct.status_code == 400 and "available percentiles" in pct.json()["error"]
    onnx = _call(app, "POST", "/api/recommend", json={"benchmark": "m.onnx", "slo_ms": 5})
    assert onnx.status_code == 400


def test_recommend_never_opens_a_path_and_nan_is_a_422(app: Any, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A benchmark is a name: an existing file is as unknown as a missing one (no oracle)."""
    there = tmp_path / "model"
    there.write_bytes(b"not a model")
    for name in (str(there), str(tmp_path / "missing"), "/etc/passwd"):
        r = _call(app, "POST", "/api/recommend", json={"benchmark": name, "slo_ms": 5})
        assert r.status_code == 404 and "unknown benchmark" in r.json()["error"], r.text
    long = _call(app, "POST", "/api/recommend", json={"benchmark": "x" * 100_000, "slo_ms": 5})
    assert long.status_code == 422
    body = '{"benchmark": "keyword_spotting", "slo_ms": NaN}'
    nan = _call(
        app, "POST", "/api/recommend", content=body, headers={"content-type": "application/json"}
    )
    assert nan.status_code == 422 and "slo_ms" in nan.json()["error"], nan.text


def test_openapi_and_dashboard(app: Any) -> None:
    spec = _call(app, "GET", "/openapi.json").json()
    assert {"/api/recommend", "/api/chips"} <= set(spec["paths"])
    docs = _call(app, "GET", "/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    # no network at runtime: every script and stylesheet the page loads is served here
    import re

    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert assets and all(a.startswith("/") for a in assets), assets
    for a in assets:
        assert _call(app, "GET", a).status_code == 200, a
    redoc = _call(app, "GET", "/redoc")
    assert redoc.status_code == 200
    assert all(a.startswith("/") for a in re.findall(r'src="([^"]+)"', redoc.text))
    page = _call(app, "GET", "/")
    assert page.status_code == 200 and "/api/recommend" in page.text
    js = _call(app, "GET", "/static/plotly.min.js")
    assert js.status_code == 200 and "plotly" in js.text[:2000].lower()


def test_empty_store_says_import() -> None:
    app = create_app(store=Store("sqlite://"))
    r = _call(app, "POST", "/api/recommend", json={"benchmark": "resnet50", "slo_ms": 1})
    assert r.status_code == 400 and "catalog import" in r.json()["error"]


def test_oversized_bodies_are_refused(app: Any) -> None:
    big = b'{"benchmark": "keyword_spotting", "slo_ms": 5, "pad": "' + b"x" * (2 << 20) + b'"}'
    r = _call(
        app, "POST", "/api/recommend", content=big, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413 and "over" in r.json()["error"]

    async def chunks() -> Any:  # no Content-Length: the limit is counted as it streams
        for _ in range(3):
            yield b"x" * (1 << 19)

    r = _call(app, "POST", "/api/recommend", content=chunks())
    assert r.status_code == 413 and "over 1048576 bytes" in r.json()["error"]


def test_a_stalled_body_gets_408(tiny_store: Store) -> None:
    async def stalls() -> Any:
        yield b'{"benchmark": "keyword_spotting", '
        await asyncio.sleep(30)  # the client stops sending
        yield b"}"

    app = create_app(store=tiny_store, body_timeout_s=0.3)
    r = _call(app, "POST", "/api/recommend", content=stalls())
    assert r.status_code == 408
    assert r.json()["error"] == "request body not received within 0.3 s (34 bytes came)"
