"""``edgewise data import FILE``: a latency table into the store, bad rows reported."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from edgewise.cli._app import JSON_OPTION, app, console, err_console, print_json

if TYPE_CHECKING:
    from edgewise.data import RowProblem

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
        f"({len(report.devices)} devices, spaces: {', '.join(report.spaces)})",
        markup=False,
    )
    _print_left_out(report.problems, report.problem_counts)


def _print_left_out(
    problems: Sequence[RowProblem], counts: dict[str, int], *, where: str = "line"
) -> None:
    """The rows left out, a line per reason with its count (``counts``: the listed
    ``problems`` may be the first few) and first example."""
    if not counts:
        return
    from edgewise.cli._app import Table

    out = Table(title="rows left out")
    out.add_column("reason")
    out.add_column("rows", justify="right")
    out.add_column("first example")
    first: dict[str, str] = {}
    for p in problems:
        at = f"line {p.line}: " if where == "line" else ""
        first.setdefault(p.reason, f"{at}{p.detail}"[:90])
    for reason, n in counts.items():
        out.add_row(reason, str(n), first.get(reason, ""))
    console.print(out)


SOURCES_OPTION = typer.Option(
    "measured,shadow,imported",
    "--sources",
    help="Which stored latencies: measured (profile runs), shadow (shadow runs' replicas), "
    "imported (data import); comma-separated.",
)


@data_app.command("export")
def export_cmd(
    file: Path = typer.Argument(..., help="CSV or Parquet file to write."),
    sources: str = SOURCES_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Write the store's latencies as a table `predictor train|evaluate --data` reads.

    One row per (model, device): profile runs' p50, shadow replicas' medians, imported rows.
    """
    from edgewise.cli._app import split_list
    from edgewise.data import check_table_path, store_table, write_table
    from edgewise.data._store_table import source_kind
    from edgewise.store import Store

    check_table_path(file, what="the table")  # before reading the whole store
    store = Store()
    try:
        table = store_table(store, sources=split_list([sources]) or [])
    finally:
        store.close()
    frame = table.frame[["space", "arch", "model", "device", "latency_ms", "source"]].copy()
    # model-path rows keep the path; space rows are written as space + arch
    frame.loc[frame["space"] != "", "model"] = ""
    write_table(frame, file, what="the table")
    doc = {
        "path": str(file),
        "rows": len(frame),
        "devices": table.devices,
        "by_source": {
            k: int(v) for k, v in frame["source"].map(source_kind).value_counts().items()
        },
        "rows_left_out": len(table.problems),
        "problem_counts": table.problem_counts(),
        "problems": [{"reason": p.reason, "detail": p.detail} for p in table.problems],
    }
    if as_json:
        print_json(doc)
        return
    console.print(
        f"wrote {len(frame)} rows ({len(table.devices)} devices) to {file}",
        highlight=False,
        markup=False,
    )
    _print_left_out(table.problems, table.problem_counts(), where="store")
