"""``edgewise demo``: the main job, end to end on the bundled examples."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.text import Text

from edgewise.cli._app import JSON_OPTION, app, console, err_console, print_json


@app.command()
def demo(
    duration: float = typer.Option(3.0, "--duration", help="Seconds per profiled model."),
    out: Path | None = typer.Option(None, "--out", help="Where to write the HTML report."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Build the example models, profile them, run every stage, and write an HTML report."""
    from edgewise.cli._app import Table
    from edgewise.demo import run_demo

    def step(msg: str) -> None:
        if not as_json:
            err_console.print(f"[dim]>[/] {escape(msg)}", highlight=False)

    result = run_demo(duration_s=duration, report_path=out, on_step=step)
    if as_json:
        print_json(
            {
                "report": str(result.report_path),
                "seconds": result.seconds,
                "profiles": [r.to_json() for r in result.results],
                "sections": [s.title for s in result.sections],
            }
        )
        return
    table = Table(title="Measured on this machine", title_justify="left")
    for col in ("model", "scenario", "queries", "p50 ms", "p99 ms", "I/O share", "LoadGen"):
        table.add_column(col, justify="left" if col in ("model", "scenario") else "right")
    for r in result.results:
        table.add_row(
            r.model.name,
            r.scenario,
            f"{r.queries:,}",
            f"{r.latency.p50_ms:.4g}",
            f"{r.latency.p99_ms:.4g}",
            f"{r.io.p50_ms / r.latency.p50_ms:.0%}",
            Text("VALID") if r.valid else Text("INVALID", style="red"),
        )
    console.print(table)
    for section in result.sections:
        console.print(f"[bold]{escape(section.title)}[/]")
        for line in section.lines[:6]:
            console.print(f"  {line}", highlight=False, markup=False)
    console.print(
        f"done in {result.seconds:.0f} s; report: [bold]{escape(str(result.report_path))}[/]"
    )
