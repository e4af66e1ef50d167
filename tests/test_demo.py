from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from edgewise.cli import app
from edgewise.store import Store


def test_demo_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    res = CliRunner().invoke(app, ["demo", "--duration", "0.3", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["report"] == str(out)
    scenarios = [(p["model"]["name"], p["scenario"]) for p in doc["profiles"]]
    assert ("cnn-large", "single-stream") in scenarios and ("cnn-small", "server") in scenarios
    assert doc["sections"][0] == "Measure"
    html = out.read_text()
    assert "plotly" in html and "End-to-end latency CDF" in html and "Where the time goes" in html
    assert len(Store().list_measurements()) == len(doc["profiles"])
