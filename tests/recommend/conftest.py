"""Fixtures: the shipped MLPerf data as an in-memory catalog (read once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgewise.recommend import Catalog
from edgewise.recommend._importers import (
    MLPERF_STATS,
    MLPERF_TIDY,
    MLPERF_TINY,
    read_mlperf_inference,
    read_mlperf_tiny,
)


@pytest.fixture(scope="session")
def mlperf_batches(shared_data: Path) -> tuple:
    return (
        read_mlperf_inference(shared_data / MLPERF_STATS, shared_data / MLPERF_TIDY),
        read_mlperf_tiny(shared_data / MLPERF_TINY),
    )


@pytest.fixture(scope="session")
def mlperf_catalog(mlperf_batches: tuple) -> Catalog:
    chips = [c for b in mlperf_batches for c in b.chips]
    results = [r for b in mlperf_batches for r in b.results]
    return Catalog.from_records(chips, results)
