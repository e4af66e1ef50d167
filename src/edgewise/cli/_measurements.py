"""``edgewise measurements list|show``: read back what profile stored."""

from __future__ import annotations

import typer

from edgewise.cli._app import JSON_OPTION, MAX_LIMIT, app, console, print_json
from edgewise.errors import UnknownNameError

measurements_app = typer.Typer(help="Read stored measurements.", no_args_is_help=True)
app.add_typer(measurements_app, name="measurements")


@measurements_app.command("list")
def list_(
    model: str | None = typer.Option(None, "--model", help="Filter by model sha256 (prefix)."),
    device: str | None = typer.Option(None, "--device", help="Filter by device name."),
    limit: int = typer.Option(
        50, "--limit", min=1, max=MAX_LIMIT, help="Show at most this many (newest first)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """List stored measurements, newest first."""
    from edgewise.cli._app import Table
    from edgewise.profile import measurement_doc
    from edgewise.store import Store

    rows = Store().list_measurements(model_sha256=model, device=device, limit=limit)
    docs = [measurement_doc(m) for m in rows]
    if as_json:
        print_json(docs)
        return
    table = Table()
    for col in (
        "id",
        "when",
        "model",
        "device",
        "scenario",
        "queries",
        "p50 ms",
        "p99 ms",
        "valid",
    ):
        table.add_column(col)
    for d in docs:
        lat = d["latency_ms"]
        table.add_row(
            str(d["measurement_id"]),
            (d["created_at"] or "")[:19],
            d["model"]["name"],
            d["device"]["name"],
            d["scenario"],
            f"{d['queries']:,}",
            f"{lat['p50']:.4g}",
            f"{lat['p99']:.4g}",
            "yes" if d["valid"] else "NO",
        )
    empty = (
        "no measurement matches those filters"
        if model is not None or device is not None
        else "no measurements stored yet: run `edgewise profile MODEL`"
    )
    console.print(table if docs else empty)


@measurements_app.command("show")
def show(
    measurement_id: int = typer.Argument(
        ..., min=1, max=2**63 - 1, help="The measurement id (see `measurements list`)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show one measurement in full, LoadGen's logs included with --json."""
    from edgewise.cli._profile import render_profile
    from edgewise.profile import measurement_doc
    from edgewise.store import Store

    m = Store().get_measurement(measurement_id)
    if m is None:
        known = [str(x.id) for x in Store().list_measurements(limit=20)]
        raise UnknownNameError("measurement", str(measurement_id), known)
    doc = measurement_doc(m, full=True)
    if as_json:
        print_json(doc)
        return
    render_profile(doc)
    console.print(
        m.loadgen_summary.split("Additional Stats")[0].rstrip("= \n"), style="dim", highlight=False
    )
