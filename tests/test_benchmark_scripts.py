"""Every benchmark script imports and answers --help (they are not run by the suite,
so a moved import would otherwise surface only when someone runs `make bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = sorted(p for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))


def test_there_are_benchmark_scripts() -> None:
    assert len(SCRIPTS) >= 10


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_benchmark_script_help(script: Path) -> None:
    res = subprocess.run(
        [sys.executable, str(script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=BENCHMARKS.parent,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.startswith("usage:"), res.stdout[:500]


def test_run_all_lists_every_script() -> None:
    """run_all.py (what `make bench` runs) covers every benchmark script."""
    res = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run_all.py"), "--list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    listed = {word for line in res.stdout.splitlines() for word in line.split()}
    helpers = {"run_all.py", "predict_tables.py"}  # the runner itself; tables from results
    missing = [
        p.name for p in SCRIPTS if p.name not in helpers and f"benchmarks/{p.name}" not in listed
    ]
    assert not missing, f"run_all.py does not run: {missing}"
