"""``/api/chips`` and ``/api/recommend``: thin handlers over ``edgewise.recommend``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from edgewise._json import json_safe
from edgewise.service._app import get_store
from edgewise.store import Store

router = APIRouter(prefix="/api", tags=["recommend"])


def get_catalog(request: Request, store: Annotated[Store, Depends(get_store)]) -> Any:
    """The catalog, loaded once per app (``?refresh=true`` reloads it)."""
    from edgewise.recommend import Catalog

    cache: dict[str, Any] = request.app.state.catalog_cache
    if "catalog" not in cache or request.query_params.get("refresh") == "true":
        cache["catalog"] = Catalog.from_store(store)
    return cache["catalog"]


class RecommendRequest(BaseModel):
    """A recommendation query (the same options as ``edgewise recommend``)."""

    benchmark: str = Field(
        ..., min_length=1, max_length=200, description="MLPerf benchmark name, e.g. resnet50"
    )
    # strict: JSON true is not 1 ms
    slo_ms: float = Field(..., gt=0, strict=True, description="Latency SLO in milliseconds")
    percentile: Literal[50, 90, 99] | None = None
    scenario: str | None = None
    max_power_w: float | None = Field(None, gt=0)
    max_cost: float | None = Field(None, gt=0)
    chips: list[str] | None = None
    objective: Literal["latency", "power", "cost", "energy"] = "latency"
    confidence: float = Field(0.9, ge=0.5, lt=1.0)
    top: int | None = Field(None, ge=1)


def _chip_doc(chip: Any, n_results: int) -> dict[str, Any]:
    return {
        "name": chip.name,
        "kind": chip.kind,
        "vendor": chip.vendor,
        "origins": list(chip.origins),
        "aliases": list(chip.aliases),
        "specs": chip.specs,
        "results": n_results,
    }


@router.get("/chips", summary="List the chips in the catalog")
def list_chips(
    catalog: Annotated[Any, Depends(get_catalog)],
    kind: Annotated[str | None, Query(description="cpu, gpu, npu, dsp, mcu, fpga")] = None,
    origin: Annotated[str | None, Query(description="mlperf, mlperf_tiny, help, fleet")] = None,
) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for r in catalog.results:
        counts[r.chip] = counts.get(r.chip, 0) + 1
    return [
        _chip_doc(c, counts.get(c.name, 0)) for c in catalog.filter_chips(kind=kind, origin=origin)
    ]


@router.get("/chips/{name:path}", summary="One chip: specs with sources and its latencies")
def show_chip(name: str, catalog: Annotated[Any, Depends(get_catalog)]) -> dict[str, Any]:
    chip = catalog.resolve_chip(name)
    cells = [c for c in catalog.latency_cells() if c.chip == chip]
    doc = _chip_doc(catalog.chips[chip], sum(1 for r in catalog.results if r.chip == chip))
    doc["latency"] = [
        {
            "benchmark": c.benchmark,
            "scenario": c.scenario,
            "metric": c.metric,
            "median_ms": c.value_ms,
            "min_ms": c.min_ms,
            "max_ms": c.max_ms,
            "results": c.n_results,
        }
        for c in cells
    ]
    return doc


@router.get("/benchmarks", summary="Benchmarks with latency figures")
def list_benchmarks(catalog: Annotated[Any, Depends(get_catalog)]) -> list[str]:
    return sorted({c.benchmark for c in catalog.latency_cells()})


@router.post(
    "/recommend",
    summary="Rank chips for a benchmark under an SLO (422 with nearest misses if none fits)",
)
def post_recommend(
    body: RecommendRequest, catalog: Annotated[Any, Depends(get_catalog)]
) -> JSONResponse:
    from edgewise.errors import ConfigError
    from edgewise.recommend import recommend

    if body.benchmark.lower().endswith(".onnx"):
        raise ConfigError(
            "model files are not accepted over HTTP; "
            "use `edgewise recommend model.onnx` or name a benchmark"
        )
    rec = recommend(
        body.benchmark,
        slo_ms=body.slo_ms,
        catalog=catalog,
        percentile=body.percentile,
        scenario=body.scenario,
        max_power_w=body.max_power_w,
        max_cost=body.max_cost,
        chips=body.chips,
        objective=body.objective,
        confidence=body.confidence,
        top=body.top,
        files=False,  # a name only: the server never opens a path a caller sends
    )
    doc = json_safe(rec.to_dict())
    if not rec.fits:
        return JSONResponse(
            status_code=422, content={"error": rec.summary(), "recommendation": doc}
        )
    return JSONResponse(content=doc)
