"""A minimal self-contained HTML report (plotly.js is inlined once)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edgewise._paths import reports_dir


@dataclass(frozen=True)
class Section:
    """One titled part of a report: text lines, an optional table and plotly figures."""

    title: str
    lines: list[str] = field(default_factory=list)
    table_header: list[str] = field(default_factory=list)
    table_rows: list[list[str]] = field(default_factory=list)
    figures_html: list[str] = field(default_factory=list)


def figure_html(fig: Any) -> str:
    """A plotly figure as an HTML div (plotly.js is added once by :func:`write_report`)."""
    return str(fig.to_html(full_html=False, include_plotlyjs=False))


def _table(header: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
h1{margin-bottom:0}.sub{color:#666;margin-top:.2em}
section{border-top:1px solid #ddd;margin-top:1.5em;padding-top:.5em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:right}th{background:#f4f4f4}td:first-child{text-align:left}
"""


def write_report(sections: list[Section], *, title: str, path: Path | None = None) -> Path:
    """Write ``sections`` as one HTML file and return its path."""
    from plotly.offline import get_plotlyjs

    if path is None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        path = reports_dir() / f"{title.replace(' ', '-')}-{stamp}.html"
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style>",
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='sub'>generated {datetime.now(UTC).isoformat(timespec='seconds')}</p>",
    ]
    for s in sections:
        parts.append(f"<section><h2>{html.escape(s.title)}</h2>")
        parts.extend(f"<p>{html.escape(line)}</p>" for line in s.lines)
        parts.append(_table(s.table_header, s.table_rows))
        parts.extend(s.figures_html)
        parts.append("</section>")
    parts.append("</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
