"""``edgewise shadow serve|status|promote|rollback``: the shadow gateway from the terminal."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from edgewise.cli._app import JSON_OPTION, MAX_LIMIT, app, console, err_console, print_json

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
        64.0,
        "--max-body-mb",
        min=1 / 1024,
        max=1 << 20,
        help="Largest request body accepted, in MiB (413 above).",
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
        quantiles=_levels(quantile),
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
                f"serving [bold]{escape(gateway.name)}[/] on {url}/v2/models/{gateway.name}/infer; "
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
    from edgewise.cli._app import Table
    from edgewise.shadow.gateway._client import gateway_status

    doc = gateway_status(url)
    if json_out:
        print_json(doc)
        return
    prod = doc["production"]
    p50, p99 = prod.get("p50_ms"), prod.get("p99_ms")
    lat = f"p50 {p50:.3f} ms, p99 {p99:.3f} ms" if p50 is not None else "no requests yet"
    console.print(
        f"[bold]{escape(doc['name'])}[/]: production {escape(prod['name'])} ({lat}); "
        f"{doc['requests']} requests, {doc['failed']} failed, {doc['rejected']} rejected",
        highlight=False,
    )
    if doc.get("recorder_alive") is False:
        err_console.print(
            "[bold red]warning:[/] the shadow recorder has exited: nothing is paired, "
            "recorded or judged any more (see the gateway's stderr); restart the gateway",
            highlight=False,
        )
    if doc.get("recorder_priority") == "normal":
        err_console.print(
            "note: the shadow recorder got no CPU for a while (busy CPUs) and now runs at "
            "normal priority (nice 10); copies dropped meanwhile are in `dropped`",
            highlight=False,
            soft_wrap=True,
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


@shadow_app.command("runs")
def runs(
    limit: int = typer.Option(
        20, "--limit", min=1, max=MAX_LIMIT, help="How many of the newest runs."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Past shadow runs in the store, newest first: production, candidates, last verdicts."""
    from edgewise.cli._app import Table
    from edgewise.shadow._history import list_runs
    from edgewise.store import Store

    store = Store()
    docs = list_runs(store, limit=limit)
    store.close()
    if json_out:
        print_json(docs)
        return
    if not docs:
        console.print("no shadow runs stored yet (`edgewise shadow serve` records them)")
        return
    table = Table("run", "started", "name", "device", "production", "pairs", "verdicts")
    for d in docs:
        table.add_row(
            str(d["id"]),
            (d["time"] or "")[:19].replace("T", " "),
            d["name"],
            d["device"],
            _model_name(d["production"]),
            str(d["pairs"]),
            ", ".join(f"{n} {v}" for n, v in d["verdicts"].items()) or "-",
        )
    console.print(table)


def _model_name(identity: dict[str, Any]) -> str:
    """A stored replica identity's model: its file name, or its URL in proxy mode."""
    if identity.get("path"):
        return Path(str(identity["path"])).name
    return str(identity.get("url") or identity.get("name", ""))


def _ms(q: dict[str, Any]) -> str:
    if not q:
        return "-"
    lo, hi = q["ci95"]
    return f"{q['ms']:.3f} ({lo:.3f}-{hi:.3f})"


@shadow_app.command("show")
def show(
    run_id: int = typer.Argument(
        ..., min=1, max=2**63 - 1, help="Run id (see `edgewise shadow runs`)."
    ),
    pairs: Path | None = typer.Option(
        None, "--pairs", help="Also write the run's paired records to FILE (.csv or .parquet)."
    ),
    html: Path | None = typer.Option(
        None, "--html", help="Also write an HTML report with each candidate's latency plot."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """One stored run: each candidate's latencies against production (95% CIs), its
    verdict changes and why, and the promotions or rollbacks it caused.

    Example: edgewise shadow show 3 --pairs run3.parquet
    """
    from edgewise.cli._app import Table
    from edgewise.shadow._history import export_pairs, run_report
    from edgewise.store import Store

    store = Store()
    try:
        doc = run_report(store, run_id)
        if pairs is not None:
            doc["pairs_file"] = str(pairs)
            doc["pairs_written"] = export_pairs(store, run_id, pairs)
        if html is not None:
            doc["html"] = str(_show_html(store, doc, html))
    finally:
        store.close()
    if json_out:
        print_json(doc)
        return
    console.print(
        f"[bold]run {doc['id']}[/] {doc['name']} on {doc['device']}, started "
        f"{(doc['time'] or '?')[:19].replace('T', ' ')}: production "
        f"{_model_name(doc['production'])} ({str(doc['production'].get('sha256', ''))[:12]})",
        highlight=False,
    )
    for c in doc["candidates"]:
        console.print(
            f"\n[bold]{c['name']}[/] {c['verdict']}: {c['pairs']:,} pairs, "
            f"{c['censored']:,} censored, {c['disagreements']:,} disagreeing",
            highlight=False,
        )
        table = Table("", "p50 ms (95% CI)", "p99 ms (95% CI)", box=None, padding=(0, 2))
        for label, q in (("production", c["production"]), ("candidate", c["candidate"])):
            table.add_row(label, _ms(q.get("p50", {})), _ms(q.get("p99", {})))
        console.print(table)
        for look in c["history"]:
            said = f"{look['verdict']} after {look['requests_used']:,} requests: "
            console.print(
                f"  {'final ' if look['final'] else ''}{said}{look['reason'].removeprefix(said)}",
                highlight=False,
            )
    if doc["events"]:
        console.print()
    for e in doc["events"]:
        console.print(f"event #{e['id']} {e['event']}: {escape(e['reason'])}", highlight=False)
    if pairs is not None:
        console.print(
            f"wrote {doc['pairs_written']} paired records to {escape(str(pairs))}", highlight=False
        )
    if html is not None:
        console.print(f"wrote {escape(str(doc['html']))}", highlight=False)


def _show_html(store: Any, doc: dict[str, Any], path: Path) -> Path:
    from edgewise._paths import check_writable
    from edgewise.report import Section, figure_html, write_report
    from edgewise.shadow._history import run_figures

    check_writable(path, what="the report")
    rows = [
        [
            c["name"],
            str(c["pairs"]),
            str(c["censored"]),
            c["verdict"],
            c["history"][-1]["reason"] if c["history"] else "",
        ]
        for c in doc["candidates"]
    ]
    section = Section(
        title=f"Shadow run {doc['id']}: {doc['name']} on {doc['device']}",
        lines=[f"production {doc['production'].get('name')}, started {doc['time']}"],
        table_header=["candidate", "pairs", "censored", "verdict", "reason"],
        table_rows=rows,
        figures_html=[figure_html(f) for f in run_figures(store, doc["id"])],
    )
    return write_report([section], title=f"shadow run {doc['id']}", path=path)


def _act(
    action: str, candidate: str | None, url: str | None, token: str | None, json_out: bool
) -> None:
    from edgewise.shadow.gateway._client import gateway_action

    event = gateway_action(action, candidate=candidate, url=url, token=token)
    if json_out:
        print_json(event)
    else:
        done = {"promote": "promoted", "rollback": "rolled back"}[action]
        console.print(
            f"{done} {escape(event['candidate'])}: {escape(event['reason'])}", highlight=False
        )


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


def _levels(percentiles: list[float]) -> tuple[float, ...]:
    """``--quantile 50 --quantile 99`` as the judge's levels (the judge's own error spoke
    of levels in (0, 1), which the flag does not take)."""
    from edgewise.errors import ConfigError

    for p in percentiles:
        if not 0.0 < p < 100.0:
            raise ConfigError(f"--quantile takes percentiles in (0, 100), got {p:g}")
    return tuple(p / 100.0 for p in percentiles) or (0.5, 0.99)
