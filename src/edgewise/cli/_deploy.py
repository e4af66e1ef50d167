"""``edgewise gate`` and ``edgewise deployments list``: the pre-deploy gate and the registry."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from edgewise.cli._app import (
    JSON_OPTION,
    MAX_LIMIT,
    SHAPE_OPTION,
    app,
    console,
    parse_shapes,
    print_json,
)

deployments_app = typer.Typer(
    help="The deployment registry: gate decisions, promotions and rollbacks.",
    no_args_is_help=True,
)
app.add_typer(deployments_app, name="deployments")


@app.command("gate")
def gate(
    model: Path = typer.Argument(..., help="Model file (.onnx or .tflite)."),
    device: str = typer.Option(..., "--device", help="Target device name (as stored by profile)."),
    slo_ms: float = typer.Option(..., "--slo-ms", help="Latency SLO in milliseconds."),
    percentile: float = typer.Option(99.0, "--percentile", help="Percentile the SLO applies to."),
    confidence: float = typer.Option(0.95, "--confidence", help="Confidence of the interval."),
    scenario: str = typer.Option(
        "single-stream",
        "--scenario",
        help="Whose measurements judge it: single-stream (a query alone), multi-stream or "
        "server (latency under load). The newest VALID run wins.",
    ),
    shape: list[str] = SHAPE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Does MODEL meet the SLO on DEVICE? Exit 0 fits, 1 does not fit, 3 uncertain; recorded.

    Example: edgewise gate model.onnx --device raspi4 --slo-ms 20 --percentile 99
    """
    from edgewise.deploy import gate as run_gate

    result = run_gate(
        model,
        device=device,
        slo_ms=slo_ms,
        percentile=percentile,
        confidence=confidence,
        scenario=scenario,
        shapes=parse_shapes(shape),
    )
    if json_out:
        print_json(result.to_dict())
    else:
        color = {0: "green", 1: "red", 3: "yellow"}[result.exit_code]
        rest = result.reason.removeprefix(f"{result.decision}: ")  # the reason leads with it
        console.print(f"[bold {color}]{result.decision}[/]: {escape(rest)}", highlight=False)
    raise typer.Exit(result.exit_code)


@deployments_app.command("list")
def list_cmd(
    model: str | None = typer.Option(None, "--model", help="Model sha256 (or a prefix)."),
    device: str | None = typer.Option(None, "--device", help="Only this device."),
    event: str | None = typer.Option(None, "--event", help="gate, promote or rollback."),
    limit: int = typer.Option(
        50, "--limit", min=1, max=MAX_LIMIT, help="At most this many, newest first."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Deployment events, newest first: model sha, device, predicted vs observed, verdict, reason.

    Example: edgewise deployments list --device raspi4 --json
    """
    from edgewise.cli._app import Table
    from edgewise.deploy import list_deployments

    events = list_deployments(model_sha256=model, device=device, event=event, limit=limit)
    if json_out:
        print_json([e.to_dict() for e in events])
        return
    if not events:
        filtered = any(x is not None for x in (model, device, event))
        console.print(
            "no deployment event matches those filters" if filtered else "no deployment events yet"
        )
        return

    def ms(x: float | None) -> str:
        return "" if x is None else f"{x:.3f}"

    table = Table("id", "time", "event", "model", "device", "pred ms", "obs ms", "verdict")
    for e in events:
        table.add_row(
            str(e.id),
            e.created_at.strftime("%m-%d %H:%M:%S") if e.created_at else "",
            e.event,
            f"{e.model_name} {e.model_sha256[:8]}",
            e.device,
            ms(e.predicted_ms),
            ms(e.observed_ms),
            e.verdict,
        )
    console.print(table)
    for e in events:
        console.print(f"#{e.id} {e.event}: {escape(e.reason)}", highlight=False)
