"""Plotly figures and report sections for profile results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from edgewise.profile._result import ProfileResult
from edgewise.report import Section, figure_html


def latency_cdf(results: Sequence[ProfileResult]) -> Any:
    """Empirical CDF of end-to-end latency per model, log x axis."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for r in results:
        xs = np.sort(r.latencies_ms)
        ys = np.arange(1, xs.size + 1) / xs.size
        step = max(1, xs.size // 2000)  # keep the page light
        fig.add_trace(
            go.Scatter(
                x=xs[::step], y=ys[::step], mode="lines", name=f"{r.model.name} ({r.scenario})"
            )
        )
    fig.update_layout(
        title="End-to-end latency CDF",
        xaxis_title="latency (ms)",
        yaxis_title="fraction of queries",
        xaxis_type="log",
        height=420,
    )
    return fig


def io_compute_bars(results: Sequence[ProfileResult]) -> Any:
    """Median compute, I/O, queue and unaccounted time per run, as shares of the median."""
    import plotly.graph_objects as go

    names = [f"{r.model.name} ({r.scenario})" for r in results]
    e2e = np.array([r.latency.p50_ms for r in results])
    parts = {
        "compute": np.array([r.compute.p50_ms for r in results]),
        "I/O": np.array([r.io.p50_ms for r in results]),
        "queue": np.array([r.queue.p50_ms for r in results]),
        "unaccounted": np.array([max(r.unaccounted_p50_ms, 0.0) for r in results]),
    }
    fig = go.Figure(
        [
            go.Bar(
                name=label,
                x=names,
                y=ms / e2e * 100,
                customdata=ms,
                hovertemplate="%{customdata:.4g} ms",
            )
            for label, ms in parts.items()
        ]
    )
    fig.update_layout(
        barmode="stack",
        title="Where the time goes (share of the median, %)",
        yaxis_title="% of end-to-end p50 (medians of parts)",
        height=380,
    )
    return fig


def operator_bars(result: ProfileResult, *, top: int = 10) -> Any:
    import plotly.graph_objects as go

    ops = list(result.operators[:top])[::-1]
    fig = go.Figure(
        go.Bar(
            x=[o.total_ms for o in ops],
            y=[f"{o.op_type}: {o.name}" for o in ops],
            orientation="h",
            text=[f"{o.share:.0%}" for o in ops],
        )
    )
    fig.update_layout(
        title=f"Top operators of {result.model.name} (ms per inference)",
        height=120 + 28 * len(ops),
        margin={"l": 260},
    )
    return fig


def profile_section(results: Sequence[ProfileResult], *, title: str = "Measure") -> Section:
    """A report section: summary table, CDF, I/O vs compute, operators of the slowest model."""
    header = [
        "model",
        "scenario",
        "queries",
        "p50 ms",
        "p50 95% CI",
        "p99 ms",
        "early stop ms",
        "I/O p50",
        "compute p50",
        "LoadGen",
        "warnings",
    ]
    rows = []
    for r in results:
        lo, hi = r.latency.ci95["p50"]
        rows.append(
            [
                r.model.name,
                r.scenario,
                f"{r.queries:,}",
                f"{r.latency.p50_ms:.4g}",
                f"[{lo:.4g}, {hi:.4g}]",
                f"{r.latency.p99_ms:.4g}",
                f"{r.early_stopping_ms:.4g}" if r.early_stopping_ms else "-",
                f"{r.io.p50_ms:.3g}",
                f"{r.compute.p50_ms:.4g}",
                "VALID" if r.valid else "INVALID",
                str(len(r.warnings)),
            ]
        )
    figures = [figure_html(latency_cdf(results)), figure_html(io_compute_bars(results))]
    with_ops = [r for r in results if r.operators]
    if with_ops:
        slowest = max(with_ops, key=lambda r: r.compute.p50_ms)
        figures.append(figure_html(operator_bars(slowest)))
    lines = [f"{len(results)} LoadGen runs on this machine."]
    lines += [f"{r.model.name}: {w}" for r in results for w in r.warnings]
    return Section(
        title=title, lines=lines, table_header=header, table_rows=rows, figures_html=figures
    )
