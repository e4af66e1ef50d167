"""The ranking chart: latency with its interval per chip, measured vs predicted.

>>> fig = ranking_figure(rec)  # doctest: +SKIP
>>> fig.write_html("ranking.html")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from edgewise.recommend._recommend import ChipOption, Recommendation

#: Colours shared with the dashboard's JavaScript.
COLOURS = {"measured": "#1f77b4", "predicted": "#ff7f0e"}


def ranked_options(rec: Recommendation, *, limit: int = 25) -> list[ChipOption]:
    """What the chart shows: the ranked chips, else the nearest misses."""
    return list(rec.ranked[:limit] or rec.nearest_misses)


def ranking_figure(rec: Recommendation, *, limit: int = 25) -> Any:
    """A plotly figure: one point per chip with its interval, SLO as a dashed line."""
    import plotly.graph_objects as go

    options = ranked_options(rec, limit=limit)
    fig = go.Figure()
    for source in ("measured", "predicted"):
        opts = [o for o in options if o.source == source]
        if not opts:
            continue
        fig.add_trace(
            go.Scatter(
                x=[o.latency_ms for o in opts],
                y=[o.chip for o in opts],
                mode="markers",
                name=source,
                marker={"color": COLOURS[source], "size": 9},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [o.upper_ms - o.latency_ms for o in opts],
                    "arrayminus": [o.latency_ms - o.lower_ms for o in opts],
                },
                text=[o.why for o in opts],
                hovertemplate="%{y}: %{x:.3g} ms<br>%{text}<extra></extra>",
            )
        )
    fig.add_vline(
        x=rec.slo_ms, line_dash="dash", line_color="#c00", annotation_text=f"SLO {rec.slo_ms:g} ms"
    )
    fig.update_layout(
        title=f"{rec.benchmark} {rec.scenario} p{rec.percentile}: chips ranked for "
        f"SLO {rec.slo_ms:g} ms",
        xaxis={"title": f"p{rec.percentile} latency (ms)", "type": "log"},
        yaxis={
            "autorange": "reversed",
            "categoryorder": "array",
            "categoryarray": [o.chip for o in options],
        },
        height=max(320, 28 * len(options) + 140),
        margin={"l": 320},
        showlegend=True,
    )
    return fig
