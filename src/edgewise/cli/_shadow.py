"""``edgewise shadow serve|status|promote|rollback``: the shadow gateway from the terminal."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from edgewise.cli._app import JSON_OPTION, app, console, err_console, print_json

shadow_app = typer.Typer(
    help="Shadow candidates on mirrored production traffic (OIP v2), judge, promote or roll back.",
    no_args_is_help=True,
)
app.add_typer(shadow_app, name="shadow")

URL_OPTION = typer.Option(
    None,
    "--url",
    help="Gateway URL (default: the last one started here, else http://127.0.0.1:8000).",
)
TOKEN_OPTION = typer.Option(
    None, "--token", help="API token (default: $EDGEWISE_TOKEN, else <EDGEWISE_HOME>/token)."
)


@shadow_app.command("serve")
def serve(
    production: Path | None = typer.Option(None, "--production", help="Production model file."),
    candidate: list[Path] = typer.Option(
        [], "--candidate", help="Candidate model file (repeat for more)."
    ),
    production_url: str | None = typer.Option(
        None, "--production-url", help="Proxy mode: an existing OIP server as production."
    ),
    candidate_url: list[str] = typer.Option(
        [],
        "--candidate-url",
        help="Proxy mode: an existing OIP server as a candidate (repeatable).",
    ),
    production_cpus: str = typer.Option(
        "", "--production-cpus", help="Pin production, e.g. 0 or 0-1."
    ),
    candidate_cpus: list[str] = typer.Option(
        [], "--candidate-cpus", help="Pin candidates: once for all, or once per candidate."
    ),
    gateway_cpus: str = typer.Option(
        "",
        "--gateway-cpus",
        help="Pin the gateway itself (HTTP, mirroring), e.g. 0. The recorder follows the candidates.",
    ),
    candidate_nice: int = typer.Option(
        0,
        "--candidate-nice",
        help="Lower candidates' CPU priority (0-19): production's path first, candidates' timings biased.",
    ),
    baseline: bool = typer.Option(
        False,
        "--baseline",
        help="Also mirror to a twin of production and judge candidates against it, not "
        "against production: fair when the candidates' CPUs are placed unlike production's.",
    ),
    baseline_cpus: str = typer.Option(
        "", "--baseline-cpus", help="Pin the baseline (default: the first candidate's CPUs)."
    ),
    mirror_percent: float = typer.Option(
        100.0, "--mirror-percent", help="Share of requests mirrored."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    port: int = typer.Option(8000, "--port", help="Port (0 picks a free one)."),
    name: str | None = typer.Option(
        None, "--name", help="Model name served (default: production's stem)."
    ),
    auto: bool = typer.Option(
        False, "--auto", help="Promote on PASS, roll back on FAIL, by itself."
    ),
    device: str | None = typer.Option(None, "--device", help="Device name for the registry."),
    tolerance: str = typer.Option("10%", "--tolerance", help="Allowed slowdown per quantile."),
    alpha: float = typer.Option(0.05, "--alpha", help="Error rate of the judge (1 - confidence)."),
    quantile: list[float] = typer.Option(
        [], "--quantile", help="Percentiles to judge (default 50 and 99)."
    ),
    max_disagreement: str = typer.Option(
        "1%", "--max-disagreement", help="Largest share of disagreeing outputs; 'off' to skip."
    ),
    warmup: int = typer.Option(100, "--warmup", help="Paired requests ignored at the start."),
    look_every: int = typer.Option(500, "--look-every", help="Paired requests between looks."),
    max_requests: int = typer.Option(
        60_000, "--max-requests", help="After this many, undecided is INCONCLUSIVE."
    ),
    candidate_timeout_ms: float = typer.Option(
        1000.0, "--candidate-timeout-ms", help="A slower candidate answer is censored."
    ),
    queue_size: int = typer.Option(
        64, "--queue-size", help="Mirrored requests in flight per candidate before drops."
    ),
    max_body_mb: float = typer.Option(
        64.0, "--max-body-mb", help="Largest request body accepted (413 above)."
    ),
    body_timeout: float = typer.Option(
        30.0, "--body-timeout", help="Seconds a request body may take to arrive (408 after)."
    ),
    flush_interval: float = typer.Option(
        0.5, "--flush-interval", help="Seconds between batched store writes."
    ),
    threads: int | None = typer.Option(
        None, "--threads", min=1, help="Threads per replica (default: its CPU count or 1)."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Serve PRODUCTION over OIP v2 and shadow each CANDIDATE on mirrored requests.

    Example: edgewise shadow serve --production a.onnx --candidate b.onnx --production-cpus 0 --candidate-cpus 1
    """
    from edgewise._listen import check_listen
    from edgewise.shadow.gateway import ShadowConfig, parse_cpus, parse_percent, serve_forever
    from edgewise.shadow.gateway._auth import TOKEN_ENV, token_path
    from edgewise.store import Store

    def cpus(text: str) -> tuple[int, ...]:
        try:
            return parse_cpus(text)
        except ValueError:
            from edgewise.errors import ConfigError

            raise ConfigError(f"bad CPU list {text!r}: expected e.g. 0, 0,2 or 0-3") from None

    off = max_disagreement.strip().lower() in ("off", "none", "")
    config = ShadowConfig(
        production=str(production) if production else None,
        candidates=tuple(str(c) for c in candidate),
        production_url=production_url,
        candidate_urls=tuple(candidate_url),
        name=name,
        host=host,
        port=port,
        mirror_percent=mirror_percent,
        production_cpus=cpus(production_cpus),
        candidate_cpus=tuple(cpus(c) for c in candidate_cpus),
        gateway_cpus=cpus(gateway_cpus),
        threads=threads,
        candidate_nice=candidate_nice,
        baseline=baseline,
        baseline_cpus=cpus(baseline_cpus),
        auto=auto,
        device=device,
        quantiles=tuple(q / 100.0 for q in quantile) or (0.5, 0.99),
        tolerance=parse_percent(tolerance, what="--tolerance"),
        alpha=alpha,
        max_disagreement=None
        if off
        else parse_percent(max_disagreement, what="--max-disagreement"),
        warmup=warmup,
        look_every=look_every,
        max_requests=max_requests,
        candidate_timeout_ms=candidate_timeout_ms,
        queue_size=queue_size,
        max_body_bytes=int(max_body_mb * (1 << 20)),
        body_timeout_s=body_timeout,
        flush_interval_s=flush_interval,
    )
    store = Store()

    def ready(url: str, gateway: Any) -> None:
        token_hint = f"${TOKEN_ENV}" if os.environ.get(TOKEN_ENV) else str(token_path())
        info = {
            "url": url,
            "name": gateway.name,
            "run_id": gateway.run_id,
            "candidates": [c.name for c in gateway.candidates],
            "baseline": gateway.baseline is not None,
            "token": token_hint,
        }
        if json_out:
            print_json(info)
        else:
            shadowing = (
                f"shadowing {', '.join(info['candidates'])}"
                f"{' against a baseline' if info['baseline'] else ''} (run {gateway.run_id})"
                if info["candidates"]
                else "no candidate: serving production only"
            )
            console.print(
                f"serving [bold]{gateway.name}[/] on {url}/v2/models/{gateway.name}/infer; "
                f"{shadowing}; token for promote/rollback: {token_hint}",
                highlight=False,
            )

    check_listen(config.host, config.port)  # before workers start or the run is stored
    serve_forever(config, store=store, on_ready=ready)


@shadow_app.command("status")
def status(url: str | None = URL_OPTION, json_out: bool = JSON_OPTION) -> None:
    """Live state of a gateway: production, requests, and each candidate's verdict.

    Example: edgewise shadow status --url http://127.0.0.1:8000 --json
    """
    from rich.table import Table

    from edgewise.shadow.gateway._client import gateway_status

    doc = gateway_status(url)
    if json_out:
        print_json(doc)
        return
    prod = doc["production"]
    p50, p99 = prod.get("p50_ms"), prod.get("p99_ms")
    lat = f"p50 {p50:.3f} ms, p99 {p99:.3f} ms" if p50 is not None else "no requests yet"
    console.print(
        f"[bold]{doc['name']}[/]: production {prod['name']} ({lat}); "
        f"{doc['requests']} requests, {doc['failed']} failed, {doc['rejected']} rejected",
        highlight=False,
    )
    if doc.get("recorder_alive") is False:
        err_console.print(
            "[bold red]warning:[/] the shadow recorder has exited: nothing is paired, "
            "recorded or judged any more (see the gateway's stderr); restart the gateway",
            highlight=False,
        )
    table = Table("candidate", "state", "paired", "censored", "dropped", "verdict", "reason")
    for c in doc["candidates"]:
        table.add_row(
            c["name"],
            c["state"],
            str(c["paired"]),
            str(c["censored"]),
            str(c["dropped"]),
            c["verdict"],
            c["reason"],
        )
    console.print(table)
    base = doc.get("baseline")
    if base:
        console.print(
            f"candidates are judged against a baseline (production's model, mirrored): "
            f"{base['state']}, {base['paired']} paired, {base['censored']} censored, "
            f"{base['dropped']} dropped",
            highlight=False,
        )
    elif doc["candidates"]:
        console.print(
            "[dim]candidates are judged against production itself: one placed on other CPUs "
            "can look slower for its placement alone (docs/shadow.md, A/A); --baseline judges "
            "them against a twin of production placed like them[/]",
            highlight=False,
        )


def _act(
    action: str, candidate: str | None, url: str | None, token: str | None, json_out: bool
) -> None:
    from edgewise.shadow.gateway._client import gateway_action

    event = gateway_action(action, candidate=candidate, url=url, token=token)
    if json_out:
        print_json(event)
    else:
        done = {"promote": "promoted", "rollback": "rolled back"}[action]
        console.print(f"{done} {event['candidate']}: {event['reason']}", highlight=False)


@shadow_app.command("promote")
def promote(
    candidate: str | None = typer.Argument(None, help="Candidate name (optional when only one)."),
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Make a candidate production, without dropping in-flight requests; recorded in the registry.

    Example: edgewise shadow promote cnn-fast --url http://127.0.0.1:8000
    """
    _act("promote", candidate, url, token, json_out)


@shadow_app.command("rollback")
def rollback(
    candidate: str | None = typer.Argument(None, help="Candidate name (optional when only one)."),
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Stop shadowing a candidate (production unchanged); recorded in the registry.

    Example: edgewise shadow rollback cnn-slow
    """
    _act("rollback", candidate, url, token, json_out)
