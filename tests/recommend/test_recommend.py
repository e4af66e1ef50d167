"""Ranking on the shipped MLPerf results, a user's ONNX model, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgewise.errors import ConfigError, UnknownNameError
from edgewise.recommend import FITS, Catalog, recommend


def test_resnet50_ranking(mlperf_catalog: Catalog) -> None:
    rec = recommend("resnet50", slo_ms=2.0, catalog=mlperf_catalog)
    assert rec.fits and rec.scenario == "SingleStream" and rec.percentile == 90
    tiers = [FITS.index(o.fit) for o in rec.ranked]
    assert tiers == sorted(tiers)
    for o in rec.ranked:
        assert o.lower_ms <= o.latency_ms <= o.upper_ms
        assert o.why
        if o.fit == "yes":
            assert o.upper_ms <= 2.0
        assert o.latency_ms <= 2.0 or o.fit == "unlikely"
    measured = [o for o in rec.ranked if o.measured]
    predicted = [o for o in rec.ranked if not o.measured]
    assert measured and all(o.n_results >= 1 and "measured" in o.why for o in measured)
    assert all("predicted" in o.why for o in predicted)
    l4 = next(o for o in rec.ranked if o.chip == "NVIDIA L4")
    assert l4.measured and l4.power_w == 72.0 and l4.energy_mj is not None
    doc = rec.to_dict()
    assert doc["best"]["chip"] == rec.best.chip and doc["fits"] is True


def test_no_chip_fits_names_the_nearest_misses(mlperf_catalog: Catalog) -> None:
    rec = recommend("resnet50", slo_ms=0.001, catalog=mlperf_catalog)
    assert not rec.fits and rec.best is None
    assert 1 <= len(rec.nearest_misses) <= 3
    lows = [o.lower_ms for o in rec.nearest_misses]
    assert lows == sorted(lows)
    assert rec.summary().startswith("no chip fits") and "nearest" in rec.summary()


def test_constraints(mlperf_catalog: Catalog) -> None:
    rec = recommend("resnet50", slo_ms=5.0, catalog=mlperf_catalog, max_power_w=65)
    assert all(o.power_w is not None and o.power_w <= 65 for o in rec.ranked)
    assert any(e["reason"] == "power unknown" for e in rec.excluded)
    assert any(e["reason"].startswith("power 72") for e in rec.excluded)
    only = recommend("resnet50", slo_ms=5.0, catalog=mlperf_catalog, chips=["l4", "T4"])
    assert {o.chip for o in only.ranked} == {"NVIDIA L4", "NVIDIA T4"}
    cost = recommend("resnet50", slo_ms=5.0, catalog=mlperf_catalog, max_cost=2000)
    assert [o.chip for o in cost.ranked] == ["NVIDIA GeForce RTX 4090"]


def test_predicted_cells_for_a_sparse_benchmark(mlperf_catalog: Catalog) -> None:
    rec = recommend("mobilenet-v2-1.0-224-int8", slo_ms=50.0, catalog=mlperf_catalog)
    assert any(not o.measured for o in rec.ranked + rec.nearest_misses)
    assert any(o.measured for o in rec.ranked + rec.nearest_misses)


def test_tiny_reports_only_the_median(mlperf_catalog: Catalog) -> None:
    rec = recommend("keyword_spotting", slo_ms=50.0, catalog=mlperf_catalog)
    assert rec.percentile == 50 and any("only p50" in n for n in rec.notes)
    assert any(o.energy_source.startswith("measured") for o in rec.ranked)
    with pytest.raises(ConfigError, match="available percentiles: 50"):
        recommend("keyword_spotting", slo_ms=50.0, catalog=mlperf_catalog, percentile=90)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"query": "resnt50"}, UnknownNameError, "did you mean 'resnet50'"),
        ({"chips": ["NVIDIA L5"]}, UnknownNameError, "did you mean"),
        ({"slo_ms": -1.0}, ConfigError, "--slo-ms"),
        ({"percentile": 95}, ConfigError, "50, 90, 99"),
        ({"scenario": "Offline"}, ConfigError, "has no Offline"),
        ({"scenario": "SingleStrem"}, UnknownNameError, "SingleStream"),
        ({"objective": "speed"}, UnknownNameError, "objective"),
        ({"max_power_w": 0.0}, ConfigError, "max-power-w"),
    ],
)
def test_bad_input(mlperf_catalog: Catalog, kwargs: dict, error: type, match: str) -> None:
    args = {"query": "resnet50", "slo_ms": 1.0, **kwargs}
    with pytest.raises(error, match=match):
        recommend(args.pop("query"), catalog=mlperf_catalog, **args)


def test_empty_catalog() -> None:
    with pytest.raises(ConfigError, match="catalog import"):
        recommend("resnet50", slo_ms=1.0, catalog=Catalog.from_records([], []))


def test_user_onnx_model(mlperf_catalog: Catalog, tmp_path: Path) -> None:
    from edgewise.zoo import write_example

    path = write_example("cnn-small", tmp_path)
    rec = recommend(path, slo_ms=5.0, catalog=mlperf_catalog)
    options = rec.ranked + rec.nearest_misses
    assert options and not any(o.measured for o in options)
    assert rec.benchmark.startswith("onnx:") and any("M MACs" in n for n in rec.notes)
    for o in rec.ranked:
        assert o.lower_ms < o.upper_ms
