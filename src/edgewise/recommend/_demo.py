"""The recommend stage of ``edgewise demo``: import MLPerf, rank chips for ResNet-50.

>>> section = demo_section(workdir=Path("/tmp/demo"), store=Store("sqlite://"))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from edgewise.report import Section, figure_html
from edgewise.store import Store

DEMO_BENCHMARK = "resnet50"
DEMO_SLO_MS = 1.0


def demo_section(*, workdir: Path, store: Store, data: Path | None = None) -> Section:
    """Import the shipped MLPerf results and recommend chips for ResNet-50 at 1 ms p90."""
    from edgewise._paths import data_dir
    from edgewise.recommend._catalog import import_catalog
    from edgewise.recommend._figures import ranking_figure
    from edgewise.recommend._recommend import recommend

    del workdir  # everything lands in the store
    root = data if data is not None else data_dir()
    if not (root / "mlperf").is_dir():
        return Section(
            title="Recommend a chip",
            lines=[f"skipped: MLPerf data not found under {root} (set EDGEWISE_DATA_DIR)"],
        )
    report = import_catalog(store, data=root, sources=("mlperf", "mlperf_tiny"))
    rec = recommend(DEMO_BENCHMARK, slo_ms=DEMO_SLO_MS, store=store)
    lines = [
        f"catalog: {report.chips} chips, {report.results} results imported; "
        f"{len(report.problems)} bad rows reported (e.g. {report.problems[0]})"
        if report.problems
        else f"catalog: {report.chips} chips, {report.results} results",
        rec.summary(),
        *rec.notes,
    ]
    rows = [
        [
            o.chip,
            f"{o.latency_ms:.3g}",
            f"{o.lower_ms:.3g}-{o.upper_ms:.3g}",
            o.source,
            o.fit,
            o.why,
        ]
        for o in list(rec.ranked[:10]) or list(rec.nearest_misses)
    ]
    return Section(
        title=f"Recommend a chip: {DEMO_BENCHMARK} SingleStream p90 <= {DEMO_SLO_MS:g} ms",
        lines=lines,
        table_header=["chip", "latency ms", "interval ms", "source", "fit", "why"],
        table_rows=rows,
        figures_html=[figure_html(ranking_figure(rec))],
    )
