"""``edgewise data import FILE``: a latency table into the store, bad rows reported."""

from __future__ import annotations

from pathlib import Path

import typer

from edgewise.cli._app import JSON_OPTION, app, console, err_console, print_json

data_app = typer.Typer(help="Import latency tables into the store.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("import")
def import_cmd(
    file: Path = typer.Argument(
        ..., help="CSV/Parquet with space, arch, device, latency_ms (or model, device, latency_ms)."
    ),
    source: str | None = typer.Option(
        None,
        "--source",
        help="Source label for rows without a source column (default: the file name).",
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Import nothing (exit 2) if any row is unusable."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Validate a latency table and store its usable rows in one transaction."""
    from edgewise.data import import_table
    from edgewise.store import Store

    store = Store()
    with err_console.status(f"importing {file.name}"):
        report = import_table(file, store=store, source=source, strict=strict)
    doc = report.to_dict()
    if as_json:
        print_json(doc)
        return
    console.print(
        f"imported {report.rows_imported} of {report.rows_read} rows "
        f"({len(report.devices)} devices, spaces: {', '.join(report.spaces)})"
    )
    if report.problem_counts:
        from rich.table import Table

        out = Table(title="rows left out")
        out.add_column("reason")
        out.add_column("rows", justify="right")
        out.add_column("first example")
        first: dict[str, str] = {}
        for p in report.problems:
            first.setdefault(p.reason, f"line {p.line}: {p.detail}"[:90])
        for reason, n in report.problem_counts.items():
            out.add_row(reason, str(n), first.get(reason, ""))
        console.print(out)
