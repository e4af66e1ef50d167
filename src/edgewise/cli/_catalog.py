"""``edgewise catalog import|list|show``: the chip catalog behind ``recommend``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from edgewise.cli._app import JSON_OPTION, app, console, err_console, print_json
from edgewise.errors import ConfigError

catalog_app = typer.Typer(
    help="The chip catalog: MLPerf, device datasets, your fleet.", no_args_is_help=True
)
app.add_typer(catalog_app, name="catalog")


@catalog_app.command("import")
def import_(
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Folder with mlperf/ and latency/ (default ../shared/data)."
    ),
    source: list[str] | None = typer.Option(
        None, "--source", help="Import only these: mlperf, mlperf_tiny, latency, fleet."
    ),
    archs_per_space: int = typer.Option(
        100, "--archs-per-space", help="Architectures per space taken from the latency dataset."
    ),
    strict: bool = typer.Option(False, "--strict", help="Import nothing if any row is bad."),
    show_problems: int = typer.Option(20, "--show-problems", help="Bad rows to print."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Import chips and results into the store (re-running replaces each source)."""
    from edgewise.recommend import SOURCES, import_catalog
    from edgewise.store import Store

    if show_problems < 0:
        raise ConfigError(f"--show-problems cannot be negative, got {show_problems}")
    report = import_catalog(
        Store(),
        data=data_dir,
        sources=tuple(source or SOURCES),
        archs_per_space=archs_per_space,
        strict=strict,
    )
    if as_json:
        print_json(report.to_dict())
        return
    from edgewise.cli._app import Table

    table = Table(title="catalog import")
    for col in ("source", "rows read", "chips", "results", "bad rows"):
        table.add_column(col, justify="right" if col != "source" else "left")
    for s in report.sources:
        table.add_row(
            s.origin, str(s.rows_read), str(s.chips), str(s.results), str(len(s.problems))
        )
    console.print(table)
    problems = report.problems
    for p in problems[:show_problems]:
        err_console.print(f"[yellow]bad row[/] {escape(str(p))}", highlight=False, soft_wrap=True)
    if len(problems) > show_problems:
        err_console.print(
            f"... and {len(problems) - show_problems} more bad rows (--json lists them all)"
        )


def _chip_doc(chip: Any, results: list[Any]) -> dict[str, Any]:
    return {
        "name": chip.name,
        "kind": chip.kind,
        "vendor": chip.vendor,
        "origins": list(chip.origins),
        "aliases": list(chip.aliases),
        "specs": chip.specs,
        "results": len(results),
        "benchmarks": len({r.benchmark for r in results}),
    }


@catalog_app.command("list")
def list_(
    kind: str | None = typer.Option(None, "--kind", help="Only chips of this kind (cpu, gpu...)."),
    origin: str | None = typer.Option(None, "--origin", help="Only chips from this source."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List the chips in the catalog."""
    from collections import defaultdict

    from edgewise.recommend import Catalog
    from edgewise.store import Store

    catalog = Catalog.from_store(Store())
    by_chip: dict[str, list[Any]] = defaultdict(list)
    for r in catalog.results:
        by_chip[r.chip].append(r)
    docs = [_chip_doc(c, by_chip[c.name]) for c in catalog.filter_chips(kind=kind, origin=origin)]
    if as_json:
        print_json(docs)
        return
    if not docs:
        filtered = kind is not None or origin is not None
        console.print(
            "no chip matches those filters"
            if filtered and catalog.chips
            else "no chips (run `edgewise catalog import`)"
        )
        return
    from edgewise.cli._app import Table

    table = Table(title=f"{len(docs)} chips")
    for col in ("chip", "kind", "origins", "benchmarks", "results", "specs"):
        table.add_column(col)
    for d in docs:
        table.add_row(
            d["name"],
            d["kind"],
            ",".join(d["origins"]),
            str(d["benchmarks"]),
            str(d["results"]),
            ",".join(sorted(d["specs"])) or "-",
        )
    console.print(table)


@catalog_app.command("show")
def show(
    chip: str = typer.Argument(..., help="Chip name (case-insensitive; a unique part is enough)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show one chip: specs with their sources, and its latency per benchmark."""
    from edgewise.recommend import Catalog
    from edgewise.store import Store

    catalog = Catalog.from_store(Store())
    catalog.require_nonempty()
    name = catalog.resolve_chip(chip)
    cells = [c for c in catalog.latency_cells() if c.chip == name]
    results = [r for r in catalog.results if r.chip == name]
    doc = _chip_doc(catalog.chips[name], results)
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
    if as_json:
        print_json(doc)
        return
    from edgewise.cli._app import Table

    console.print(
        f"[bold]{escape(name)}[/]  kind={doc['kind']}  vendor={escape(doc['vendor'] or '?')}  "
        f"origins={','.join(doc['origins'])}",
        highlight=False,
    )
    for field, spec in sorted(doc["specs"].items()):
        console.print(
            f"  {field} = {spec['value']:g}   [dim]{escape(str(spec['source']))}[/]",
            highlight=False,
        )
    table = Table(title=f"{len(cells)} latency figures")
    for col in ("benchmark", "scenario", "metric", "median ms", "range ms", "results"):
        table.add_column(col)
    for c in cells:
        table.add_row(
            c.benchmark,
            c.scenario,
            c.metric,
            f"{c.value_ms:.4g}",
            f"{c.min_ms:.4g}-{c.max_ms:.4g}",
            str(c.n_results),
        )
    console.print(table)
