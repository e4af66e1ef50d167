"""The dashboard in a real headless Chromium against a real uvicorn server."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from edgewise.service import create_app
from edgewise.store import Store

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def server(tiny_store: Store) -> Iterator[str]:
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        create_app(store=tiny_store), host="127.0.0.1", port=port, log_level="warning"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@contextmanager
def _page() -> Iterator[Any]:
    """A fresh page in headless Chromium (the test is skipped where Chromium is missing)."""
    if shutil.which(CHROMIUM) is None:
        pytest.skip("chromium not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_dashboard_draws_the_ranking(server: str) -> None:
    import httpx

    expected = httpx.post(
        f"{server}/api/recommend", json={"benchmark": "keyword_spotting", "slo_ms": 100}
    ).json()
    n_points = len(expected["ranked"][:25])
    with _page() as page:
        page.goto(f"{server}/?benchmark=keyword_spotting&slo_ms=100")
        page.wait_for_selector("body[data-points]", timeout=20_000)
        points = page.locator("#chart .scatterlayer .trace .points path")
        assert points.count() == n_points
        legend = page.locator("#chart .legend .legendtext").all_text_contents()
        sources = {o["source"] for o in expected["ranked"][:25]}
        assert set(legend) == sources  # plotly shows a legend entry per colour
        assert page.locator("#table tr").count() == n_points + 1
        assert expected["best"]["chip"] in page.locator("#status").inner_text()


def test_api_docs_render_offline(server: str) -> None:
    """/docs draws Swagger UI from local assets: every request the page makes stays on
    this server (no CDN), and the recommend operation is listed."""
    with _page() as page:
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(f"{server}/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=20_000)
        paths = page.locator(".opblock-summary-path").all_text_contents()
        assert any("/api/recommend" in x for x in paths), paths
        assert requested and all(u.startswith(server) for u in requested), requested


def test_shadow_page_lists_runs_and_draws_a_run(server: str, tiny_store: Store) -> None:
    """/shadow lists the stored runs; clicking one shows each candidate's numbers and its
    latency bands against production."""
    from tests.service.conftest import add_shadow_run

    with _page() as page:
        run_id = add_shadow_run(tiny_store)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{server}/shadow")
        page.wait_for_selector("tr.run", timeout=20_000)
        page.locator(f"tr.run[data-id='{run_id}']").click()
        page.wait_for_selector(f"body[data-shown='{run_id}']", timeout=20_000)
        assert "slow: FAIL" in page.locator("#run h2").inner_text()
        assert "FAIL after 150 requests" in page.locator("#run .reason").inner_text()
        # two bands (p10-p90) and two medians: production and the candidate
        legend = page.locator("#run .chart .legend .legendtext").all_text_contents()
        assert sorted(legend) == sorted(
            ["production p10-p90", "production p50", "candidate p10-p90", "candidate p50"]
        )
        assert "inf" in page.locator("#run table").inner_text()  # 2 timeouts: p99 CI open
        assert not errors, errors


def test_measurements_page_draws_cdf_split_and_registry(
    server: str, tiny_store: Store, model_path
) -> None:  # type: ignore[no-untyped-def]
    """/measurements draws the newest measurement's CDF and I/O vs compute bars, and the
    registry's predicted vs observed scatter."""
    from tests.service.conftest import add_measurement_and_gate

    with _page() as page:
        mid = add_measurement_and_gate(tiny_store, model_path("mlp-tiny"))
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{server}/measurements")
        page.wait_for_selector(f"body[data-shown='{mid}']", timeout=20_000)
        page.wait_for_selector("body[data-registry]", timeout=20_000)
        assert page.locator("#cdf .scatterlayer .trace").count() == 1
        bars = page.locator("#split .legend .legendtext").all_text_contents()
        assert {"io", "compute"} <= set(bars)
        assert page.locator("body").get_attribute("data-registry") == "1"
        assert page.locator("#pvo .scatterlayer .trace").count() == 2  # events + y = x
        assert not errors, errors
