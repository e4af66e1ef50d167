"""`edgewise serve` as a user runs it: a real process on loopback, every page answering."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def test_serve_answers_every_page_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [str(Path(sys.executable).with_name("edgewise")), "serve", "--port", str(port), "--json"]
    env = {**os.environ, "EDGEWISE_DB": f"sqlite:///{tmp_path / 'serve.db'}"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        lines = []
        while not lines or lines[-1].rstrip() != "}":  # the --json document, then it serves
            line = proc.stdout.readline()
            assert line, f"no JSON from `edgewise serve`: {proc.communicate(timeout=10)}"
            lines.append(line)
        doc = json.loads("".join(lines))
        assert doc["url"] == f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(doc["url"] + "/api/benchmarks", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
                time.sleep(0.2)
        for key in ("dashboard", "measurements", "shadow", "docs"):
            page = httpx.get(doc[key], timeout=10)
            assert page.status_code == 200 and "<html" in page.text.lower(), key
        assert httpx.get(doc["url"] + "/api/shadow/runs").json() == []  # an empty store
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
