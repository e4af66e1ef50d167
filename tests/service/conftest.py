"""A store with the MLPerf Tiny results imported (small and fast)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgewise.recommend import import_catalog
from edgewise.store import Store


@pytest.fixture(scope="module")
def tiny_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('svc') / 'svc.db'}")
    import_catalog(store, data=shared_data, sources=("mlperf_tiny",))
    return store
