"""The predict stage of `edgewise demo`: a real small run, and a clear skip without data."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgewise.predict import demo_section
from edgewise.store import Store


def test_demo_section_runs_on_the_public_data(
    shared_data: Path, tmp_path: Path, fresh_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEWISE_DATA_DIR", str(shared_data))
    section = demo_section(workdir=tmp_path, store=fresh_store, n_train=80, n_test=60)
    assert section.title == "Predict"
    assert section.table_header[0] == "device" and len(section.table_rows) == 3
    assert len(section.figures_html) == 1 and "plotly" in section.figures_html[0]
    assert any("as ONNX" in line for line in section.lines)
    assert len(fresh_store.latency_records()) == 3 * 80


def test_demo_section_without_data_says_why(
    tmp_path: Path, fresh_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEWISE_DATA_DIR", str(tmp_path / "nothing-here"))
    section = demo_section(workdir=tmp_path, store=fresh_store)
    assert section.lines and section.lines[0].startswith("skipped")
    assert "EDGEWISE_DATA_DIR" in section.lines[0]
    assert fresh_store.latency_records() == []
