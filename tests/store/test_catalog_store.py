"""Catalog tables on SQLite and PostgreSQL: round trip, replace by origin, atomic writes."""

from __future__ import annotations

import pytest

from edgewise.errors import StoreError
from edgewise.store import CatalogResultRecord, ChipRecord, Store


def _result(chip: str, value: float, origin: str = "mlperf", bench: str = "resnet50"):
    return CatalogResultRecord(
        chip=chip,
        origin=origin,
        benchmark=bench,
        scenario="SingleStream",
        metric="latency_p90_ms",
        value=value,
        units="ms",
        system="box",
        source="file.csv:2",
    )


def test_round_trip(any_store: Store) -> None:
    spec = {"tdp_w": {"value": 72.0, "source": "datasheet"}}
    chips = [
        ChipRecord(
            name="NVIDIA L4",
            kind="gpu",
            vendor="NVIDIA",
            specs=spec,
            aliases=("NVIDIA L4-PCIe-24GB",),
        ),
        ChipRecord(name="Arm Cortex-M4F", kind="mcu"),
    ]
    n = any_store.replace_catalog(
        origin="mlperf",
        chips=chips,
        results=[_result("NVIDIA L4", 0.34), _result("Arm Cortex-M4F", 80.0)],
    )
    assert n == (2, 2)
    got = {c.name: c for c in any_store.list_chips()}
    assert got["NVIDIA L4"].specs == spec and got["NVIDIA L4"].origins == ("mlperf",)
    assert got["NVIDIA L4"].aliases == ("NVIDIA L4-PCIe-24GB",)
    assert any_store.get_chip("nope") is None
    rows = any_store.catalog_results(chip="NVIDIA L4")
    assert [(r.benchmark, r.value, r.source) for r in rows] == [("resnet50", 0.34, "file.csv:2")]
    assert len(any_store.catalog_results(benchmark="resnet50")) == 2


def test_reimport_replaces_only_its_origin(any_store: Store) -> None:
    chip = ChipRecord(name="NVIDIA L4", kind="gpu")
    any_store.replace_catalog(origin="mlperf", chips=[chip], results=[_result("NVIDIA L4", 1.0)])
    any_store.replace_catalog(
        origin="fleet", chips=[chip], results=[_result("NVIDIA L4", 2.0, origin="fleet")]
    )
    any_store.replace_catalog(origin="mlperf", chips=[chip], results=[_result("NVIDIA L4", 3.0)])
    values = sorted((r.origin, r.value) for r in any_store.catalog_results())
    assert values == [("fleet", 2.0), ("mlperf", 3.0)]
    assert any_store.get_chip("NVIDIA L4").origins == ("fleet", "mlperf")


def test_a_bad_write_lands_nothing(any_store: Store) -> None:
    any_store.replace_catalog(
        origin="mlperf", chips=[ChipRecord(name="A", kind="gpu")], results=[_result("A", 1.0)]
    )
    with pytest.raises(StoreError, match="unknown chip"):
        any_store.replace_catalog(
            origin="mlperf",
            chips=[ChipRecord(name="B", kind="cpu")],
            results=[_result("B", 1.0), _result("ghost", 2.0)],
        )
    assert [c.name for c in any_store.list_chips()] == ["A"]
    assert [r.chip for r in any_store.catalog_results()] == ["A"]
