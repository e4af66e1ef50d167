"""``edgewise profile MODEL``: measure latency on this machine with LoadGen."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from edgewise.cli._app import (
    JSON_OPTION,
    SHAPE_OPTION,
    app,
    console,
    err_console,
    print_json,
)


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.4g}" if x < 1000 else f"{x:,.0f}"


def _ci(pair: list[float | None] | None) -> str:
    if not pair:
        return ""
    lo, hi = pair
    return f"[{_fmt(lo)}, {_fmt(hi)}]"


def render_profile(doc: dict[str, Any]) -> None:
    """The human view of a profile JSON document (also used by ``measurements show``)."""
    from edgewise.cli._app import Table

    model, lat, br = doc["model"], doc["latency_ms"], doc["breakdown_ms"]
    valid = "[green]VALID[/]" if doc["valid"] else "[red]INVALID[/]"
    console.print(
        f"[bold]{escape(model['name'])}[/] ({model['format']}, sha256 {model['sha256'][:12]}) on "
        f"[bold]{escape(doc['device']['name'])}[/] - {doc['scenario']}, {doc['queries']:,} queries, "
        f"LoadGen {valid}"
    )
    table = Table(title="latency (ms)", title_justify="left")
    for col in ("", "p50", "p90", "p95", "p99", "p99.9", "mean"):
        table.add_column(col, justify="right" if col else "left")
    table.add_row(
        "end to end", *(_fmt(lat[k]) for k in ("p50", "p90", "p95", "p99", "p999", "mean"))
    )
    ci = lat.get("ci95", {})
    table.add_row(
        "95% CI",
        _ci(ci.get("p50")),
        _ci(ci.get("p90")),
        "",
        _ci(ci.get("p99")),
        "",
        "",
        style="dim",
    )
    for part in ("io", "compute", "queue"):
        if part in br:
            table.add_row(
                part,
                _fmt(br[part]["p50"]),
                _fmt(br[part]["p90"]),
                "",
                _fmt(br[part]["p99"]),
                "",
                "",
            )
    console.print(table)
    es = doc.get("early_stopping_ms")
    pct = doc.get("early_stopping_percentile", 0.9) * 100
    console.print(
        f"early-stopping p{pct:g}: {_fmt(es)} ms   throughput: {doc.get('throughput_qps', 0):,.1f} QPS"
        f"   unaccounted (median): {_fmt(br.get('unaccounted_p50'))} ms"
    )
    ops = doc.get("operators") or []
    if ops:
        t = Table(title="top operators (per inference)", title_justify="left")
        for col in ("op_type", "name", "ms", "share"):
            t.add_column(col, justify="right" if col in ("ms", "share") else "left")
        for op in ops[:10]:
            t.add_row(op["op_type"], op["name"], _fmt(op["total_ms"]), f"{op['share']:.1%}")
        console.print(t)
    for w in doc.get("warnings", []):
        console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)
    if doc.get("measurement_id") is not None:
        console.print(f"saved as measurement {doc['measurement_id']}", style="dim")


@app.command()
def profile(
    model: Path = typer.Argument(..., help="An .onnx or .tflite model file."),
    scenario: str = typer.Option(
        "single-stream",
        help="single-stream | multi-stream | server | offline (MLPerf's SingleStream... too).",
    ),
    duration: float = typer.Option(10.0, "--duration", help="Minimum run time in seconds."),
    min_queries: int = typer.Option(100, "--min-queries", help="Minimum number of queries."),
    target_qps: float | None = typer.Option(
        None,
        "--target-qps",
        help="Server: Poisson arrival rate (default: half the capacity, workers / warm-up median).",
    ),
    latency_bound_ms: float | None = typer.Option(
        None,
        "--latency-bound-ms",
        help="Server: p99 latency bound (default: 10x the warm-up median, at least 1 ms).",
    ),
    threads: int | None = typer.Option(
        None, "--threads", help="Intra-op threads (default: runtime's choice)."
    ),
    backend: str = typer.Option("auto", "--backend", help="auto | onnxruntime | litert."),
    provider: list[str] = typer.Option(
        [], "--provider", help="ORT execution provider(s), e.g. CUDA."
    ),
    warmup: int = typer.Option(20, "--warmup", help="Warm-up queries before the measured run."),
    workers: int = typer.Option(1, "--workers", help="Worker threads (server and offline)."),
    shape: list[str] = SHAPE_OPTION,
    inputs: Path | None = typer.Option(
        None, "--inputs", help="Read inputs from an .npz file instead."
    ),
    device_name: str | None = typer.Option(
        None, "--device-name", help="Device name in the store (default: hostname)."
    ),
    save: bool = typer.Option(True, "--save/--no-save", help="Save the measurement to the store."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Measure MODEL's latency on this machine: LoadGen scenario, I/O vs compute, CIs, operators."""
    from edgewise.profile import ProfileSettings, profile_model, save_result
    from edgewise.runtime import parse_shape_overrides
    from edgewise.store import Store

    settings = ProfileSettings(
        scenario=scenario,
        duration_s=duration,
        min_queries=min_queries,
        warmup=warmup,
        threads=threads,
        backend=backend,
        providers=tuple(provider),
        target_qps=target_qps,
        latency_bound_ms=latency_bound_ms,
        workers=workers,
        shapes=parse_shape_overrides(shape),
        inputs_path=inputs,
        device_name=device_name,
    )
    settings.validate()
    store = Store() if save else None  # fail fast on an unreachable store, before measuring
    show_progress = not as_json and sys.stderr.isatty()
    if show_progress:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            task = bar.add_task(f"profiling {model.name}", total=1.0)
            result = profile_model(
                model,
                settings,
                on_progress=lambda stage, frac: bar.update(
                    task, completed=frac, description=f"{stage} {model.name}"
                ),
            )
    else:
        result = profile_model(model, settings)
    if store is not None:
        result = save_result(result, store)
        store.close()
    doc = result.to_json()
    if as_json:
        print_json(doc)
    else:
        render_profile(doc)
