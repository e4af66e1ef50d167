"""``edgewise recommend MODEL|BENCHMARK --slo-ms X``: the best chips for a latency SLO.

Exit codes: 0 when at least one chip fits; 2 when no chip fits the constraints (the
nearest misses are still printed, and ``--json`` still writes the full answer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.text import Text

from edgewise.cli._app import (
    JSON_OPTION,
    SHAPE_OPTION,
    app,
    console,
    err_console,
    parse_shapes,
    print_json,
)

if TYPE_CHECKING:
    from edgewise.recommend import Recommendation


@app.command("recommend")
def recommend_cmd(
    query: str = typer.Argument(..., help="An MLPerf benchmark name or a path to an ONNX model."),
    slo_ms: float = typer.Option(..., "--slo-ms", help="Latency SLO in milliseconds."),
    percentile: int | None = typer.Option(
        None, "--percentile", help="50, 90 or 99 (default: MLPerf's for the scenario)."
    ),
    scenario: str | None = typer.Option(
        None, "--scenario", help="SingleStream (default), MultiStream, Server..."
    ),
    max_power_w: float | None = typer.Option(None, "--max-power-w", help="Power budget (W)."),
    max_cost: float | None = typer.Option(None, "--max-cost", help="Price cap (USD)."),
    chips: list[str] | None = typer.Option(
        None, "--chips", help="Only these chips (repeat, or comma-separated)."
    ),
    objective: str = typer.Option(
        "latency", "--objective", help="Order within a fit tier: latency, power, cost, energy."
    ),
    confidence: float = typer.Option(0.9, "--confidence", help="Interval coverage (0.5-0.99)."),
    top: int = typer.Option(15, "--top", min=0, help="Show at most this many chips (0: all)."),
    shape: list[str] = SHAPE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Rank chips for a model: confident fits first, then uncertain ones, with why."""
    from edgewise.recommend import recommend

    names = [c.strip() for item in (chips or []) for c in item.split(",") if c.strip()]
    if chips and not names:
        from edgewise.errors import ConfigError

        raise ConfigError("--chips names no chip")
    rec = recommend(
        query,
        slo_ms=slo_ms,
        percentile=percentile,
        scenario=scenario,
        max_power_w=max_power_w,
        max_cost=max_cost,
        chips=names or None,
        objective=objective,
        confidence=confidence,
        top=top or None,
        shapes=parse_shapes(shape),
    )
    if as_json:
        print_json(rec.to_dict())
    else:
        _print(rec)
    if not rec.fits:
        err_console.print(
            f"[bold red]error:[/] {escape(rec.summary())}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(2)


def _print(rec: Recommendation) -> None:
    from edgewise.cli._app import Table

    for note in rec.notes:
        console.print(f"[dim]note: {escape(note)}[/]", highlight=False)
    rows = rec.ranked or rec.nearest_misses
    title = (
        f"{rec.benchmark} {rec.scenario} p{rec.percentile} <= {rec.slo_ms:g} ms"
        if rec.ranked
        else "nearest misses"
    )
    table = Table(title=title)
    for col in (
        "#",
        "chip",
        "kind",
        "latency ms",
        f"{rec.confidence:.0%} interval",
        "source",
        "fit",
        "power W",
    ):
        table.add_column(col, overflow="fold")
    colour = {"yes": "green", "likely": "yellow", "unlikely": "red", "no": "red"}
    for i, o in enumerate(rows, 1):
        table.add_row(
            str(i),
            o.chip,
            o.kind,
            f"{o.latency_ms:.3g}",
            f"{o.lower_ms:.3g}-{o.upper_ms:.3g}",
            o.source,
            Text(o.fit, style=colour[o.fit]),
            "-" if o.power_w is None else f"{o.power_w:.3g}",
        )
    console.print(table)
    for i, o in enumerate(rows, 1):
        console.print(f"  {i}. {escape(o.chip)}: {escape(o.why)}", highlight=False)
    if rec.ranked:
        console.print(escape(rec.summary()), highlight=False)
