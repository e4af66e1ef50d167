"""``edgewise predictor evaluate|fewshot|train`` and ``edgewise predict MODEL --device D``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    parse_shapes,
    print_json,
    split_list,
)
from edgewise.cli._data import SOURCES_OPTION

predictor_app = typer.Typer(
    help="Train, evaluate and adapt latency predictors.", no_args_is_help=True
)
app.add_typer(predictor_app, name="predictor")

DATA_OPTION = typer.Option(
    ...,
    "--data",
    help="Latency table: CSV/Parquet with space, arch, device, latency_ms "
    "(or model, device, latency_ms).",
    exists=False,
    dir_okay=False,
)
SPACE_OPTION = typer.Option(
    None,
    "--space",
    help="Use one space of the table (nasbench201, fbnet, or onnx for "
    "model-path rows); needed when the table holds several.",
)


def _table(path: Path) -> Any:
    from edgewise.data import LatencyTable

    with err_console.status(f"reading {path.name}"):
        return LatencyTable.from_path(path)


@contextmanager
def _progress(enabled: bool = True) -> Iterator[Callable[[int, int, str], None] | None]:
    if not enabled or not err_console.is_terminal:  # no bar (nor its blank line) in pipes
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=1)

        def update(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        yield update


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "-" if v != v else f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


@predictor_app.command("evaluate")
def evaluate_cmd(
    data: Path = DATA_OPTION,
    train_size: int = typer.Option(..., "--train-size", help="Training models per device."),
    seeds: int = typer.Option(3, "--seeds", help="Random splits to average over."),
    devices: list[str] = typer.Option(
        [], "--devices", help="Only these devices (repeat or comma-separate)."
    ),
    space: str | None = SPACE_OPTION,
    n_estimators: int = typer.Option(400, "--n-estimators", help="Trees per booster."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Fit on N random models per device, score the rest (accuracy, ranks, intervals)."""
    from rich import box

    from edgewise.cli._app import Table
    from edgewise.predict import evaluate

    table = _table(data)
    with _progress() as progress:
        report = evaluate(
            table,
            train_size=train_size,
            seeds=seeds,
            devices=split_list(devices),
            space=space,
            params={"n_estimators": n_estimators},
            progress=progress,
        )
    doc = report.to_dict()
    if as_json:
        print_json(doc)
        return
    cols = {
        "device": "device",
        "n_train": "train",
        "n_test": "test",
        "acc5": "acc5",
        "acc10": "acc10",
        "mape": "mape%",
        "spearman": "spearman",
        "coverage90": "cov90",
        "width90_rel": "width",
    }
    out = Table(
        title=f"{report.space}: {train_size} training models, {seeds} seed(s)",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
    )
    for c, label in cols.items():
        out.add_column(label, justify="left" if c == "device" else "right", no_wrap=True)
    for d in doc["devices"]:
        out.add_row(*[_fmt(d[c]) if c != "device" else d[c] for c in cols])
    console.print(out)
    console.print(" ".join(f"{k}={_fmt(v)}" for k, v in report.summary.items()))


@predictor_app.command("fewshot")
def fewshot_cmd(
    data: Path = DATA_OPTION,
    target_device: str = typer.Option(
        ..., "--target-device", help="Device left out of training and adapted to."
    ),
    shots: int = typer.Option(..., "--shots", help="Measured target models used to adapt."),
    seeds: int = typer.Option(
        3, "--seeds", help="Seeds to average over (training subsample; random shot draws)."
    ),
    shot_selection: str = typer.Option(
        "design",
        "--shot-selection",
        help="How the shots are chosen: 'design' (I-optimal on the factors learned from the "
        "training devices, outside the --query range; no target latency is read) or 'random'.",
    ),
    query: str | None = typer.Option(
        None,
        "--query",
        help="Score models with arch_idx in START-END (HELP: 900-1899); "
        "default: every target model except the shots.",
    ),
    trim: bool = typer.Option(
        True,
        "--trim/--no-trim",
        help="Keep the query models between the 10th and 90th latency percentile (HELP protocol).",
    ),
    space: str | None = SPACE_OPTION,
    max_train_models: int = typer.Option(
        3000, "--max-train-models", help="Random training models per seed (speed)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Train on every other device, adapt to the target from K shots, score the query."""
    from edgewise.predict import fewshot
    from edgewise.predict._fewshot import parse_range

    rng = parse_range(query) if query else None
    table = _table(data)
    with _progress() as progress:
        report = fewshot(
            table,
            target_device=target_device,
            shots=shots,
            seeds=seeds,
            query=rng,
            trim=(10.0, 90.0) if trim else None,
            space=space,
            max_train_models=max_train_models,
            progress=progress,
            shot_selection=shot_selection,
        )
    if as_json:
        print_json(report.to_dict())
        return
    console.print(
        f"{escape(report.target_device)}: {report.shots} {report.shot_selection} shots "
        f"({report.measurements_used} target "
        f"measurements in total), {report.n_query} query models, {report.seeds} seed(s)\n"
        f"spearman {report.spearman_mean:.4f} ± {report.spearman_std:.4f}   "
        f"acc10 {report.acc10_mean:.3f}   coverage90 {report.coverage90_mean:.3f} "
        f"(width {report.width90_rel_mean:.2f})"
    )


@predictor_app.command("train")
def train_cmd(
    data: Path | None = typer.Option(
        None,
        "--data",
        help="Latency table: CSV/Parquet with space, arch, device, latency_ms "
        "(or model, device, latency_ms).",
        dir_okay=False,
    ),
    from_store: bool = typer.Option(
        False,
        "--from-store",
        help="Train on the store's latencies instead (see `edgewise data export`).",
    ),
    sources: str = SOURCES_OPTION,
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Predictor file to write (default: predictors/default.zip under EDGEWISE_HOME).",
    ),
    devices: list[str] = typer.Option([], "--devices", help="Only these devices."),
    space: str | None = typer.Option(None, "--space", help="Only this space."),
    max_per_device: int = typer.Option(
        2000, "--max-per-device", help="Random models per device and space used for training."
    ),
    n_estimators: int = typer.Option(400, "--n-estimators", help="Trees per booster."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Fit a predictor on a latency table and save it (JSON + LightGBM text, no pickle)."""
    from edgewise.errors import ConfigError
    from edgewise.predict import train_predictor

    if (data is None) == (not from_store):
        raise ConfigError("give one of --data FILE and --from-store")
    if from_store:
        from edgewise.data import store_table
        from edgewise.store import Store

        store = Store()
        try:
            table = store_table(store, sources=split_list([sources]) or [])
        finally:
            store.close()
    else:
        assert data is not None
        table = _table(data)
    with _progress() as progress:
        _, info = train_predictor(
            table,
            out=out,
            devices=split_list(devices),
            space=space,
            max_per_device=max_per_device,
            params={"n_estimators": n_estimators},
            progress=progress,
        )
    info["rows_rejected"] = len(table.problems)
    info["problem_counts"] = table.problem_counts()
    if as_json:
        print_json(info)
        return
    console.print(
        f"saved {escape(str(info['path']))} ({info['size_bytes'] / 1e6:.1f} MB): "
        f"{len(info['devices'])} devices, {info['rows']} rows, "
        f"{info['elapsed_s']} s",
        soft_wrap=True,
        highlight=False,
    )
    if table.problems:
        err_console.print(f"left out {len(table.problems)} rows: {table.problem_counts()}")


@app.command("predict")
def predict_cmd(
    model: str = typer.Argument(
        ..., help="ONNX file, nasbench201:<arch>, fbnet:<blocks> or ofa_mbv3:<json>."
    ),
    device: str = typer.Option(..., "--device", help="Target device (as named in training)."),
    predictor: Path | None = typer.Option(
        None, "--predictor", help="Predictor file (default: the one `predictor train` wrote)."
    ),
    shape: list[str] = SHAPE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Predict a model's latency on a device, with a 90% conformal interval."""
    from edgewise.predict import predict_model

    result = predict_model(model, device=device, path=predictor, shapes=parse_shapes(shape))
    doc = result.to_dict()
    if as_json:
        print_json(doc)
        return
    lo, hi = result.interval90
    interval = (
        f"90% interval {lo:.3f} - {hi:.3f} ms"
        if result.calibrated
        else "no interval: none of its kernels were in the training data, so this is a guess"
    )
    console.print(
        f"{escape(result.device)}: [bold]{result.latency_ms:.3f} ms[/] ({interval})",
        highlight=False,
    )
    if not result.output_connected:
        err_console.print(
            "note: the output does not depend on the input (a disconnected "
            "graph, e.g. NB201 'none' paths)"
        )
    if result.calibrated and result.unseen_kernel_share > 0.2:
        err_console.print(
            f"warning: {result.unseen_kernel_share:.0%} of the kernels were never "
            "seen in training: this is an extrapolation"
        )
