"""Prometheus text exposition (format 0.0.4) of a gateway's counters and verdicts.

No client library: the handful of series is written by hand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from edgewise.shadow.gateway._gateway import ShadowGateway

_VERDICTS = ("PENDING", "PASS", "FAIL", "INCONCLUSIVE")


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(gateway: ShadowGateway) -> str:
    """All series as one text block."""
    status = gateway.status()
    model = _esc(gateway.name)
    lines: list[str] = []

    def series(name: str, kind: str, help_text: str, rows: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in rows:
            lines.append(f"{name}{{{labels}}} {value:.10g}")

    base = f'model="{model}"'
    series(
        "edgewise_shadow_requests_total",
        "counter",
        "Infer requests answered by production.",
        [(base, status["requests"])],
    )
    series(
        "edgewise_shadow_failed_total",
        "counter",
        "Infer requests production failed (5xx).",
        [(base, status["failed"])],
    )
    series(
        "edgewise_shadow_rejected_total",
        "counter",
        "Malformed infer requests refused (4xx).",
        [(base, status["rejected"])],
    )
    series(
        "edgewise_shadow_records_written_total",
        "counter",
        "Paired records written to the store.",
        [(base, status["records_written"])],
    )
    if status["recorder_alive"] is not None:
        series(
            "edgewise_shadow_recorder_up",
            "gauge",
            "1 while the recorder (pairing, judge, store writes) runs; 0 once it has exited.",
            [(base, float(status["recorder_alive"]))],
        )
    lat = np.fromiter(gateway._latencies, dtype=np.float64)
    rows = []
    for q in (0.5, 0.9, 0.99):
        if lat.size:
            rows.append((f'{base},quantile="{q}"', float(np.quantile(lat, q))))
    series(
        "edgewise_shadow_production_latency_ms",
        "gauge",
        "Production replica latency over the last requests (own clock, arrival to ready).",
        rows,
    )
    per = {
        "edgewise_shadow_mirrored_total": (
            "counter",
            "Requests mirrored to the candidate.",
            "mirrored",
        ),
        "edgewise_shadow_paired_total": (
            "counter",
            "Paired records (censored included).",
            "paired",
        ),
        "edgewise_shadow_censored_total": (
            "counter",
            "Candidate timeouts, errors and outages.",
            "censored",
        ),
        "edgewise_shadow_dropped_total": (
            "counter",
            "Mirrored requests dropped by the full queue.",
            "dropped",
        ),
        "edgewise_shadow_disagreements_total": (
            "counter",
            "Pairs whose outputs disagree.",
            "disagreements",
        ),
    }
    for name, (kind, help_text, key) in per.items():
        series(
            name,
            kind,
            help_text,
            [(f'{base},candidate="{_esc(c["name"])}"', c[key]) for c in status["candidates"]],
        )
    series(
        "edgewise_shadow_verdict",
        "gauge",
        "1 for the candidate's current verdict.",
        [
            (
                f'{base},candidate="{_esc(c["name"])}",verdict="{v}"',
                1.0 if c["verdict"] == v else 0.0,
            )
            for c in status["candidates"]
            for v in _VERDICTS
        ],
    )
    return "\n".join(lines) + "\n"
