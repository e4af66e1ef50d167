"""HTML reports: sections with text and plotly figures, written to one self-contained file.

Each capability contributes a :class:`Section` to ``edgewise demo``::

    section = Section(title="Predict", lines=["12 models predicted"], figures_html=[fig_html])
    path = write_report([section], title="edgewise demo")
"""

from __future__ import annotations

from edgewise.report._html import Section, figure_html, write_report

__all__ = ["Section", "figure_html", "write_report"]
