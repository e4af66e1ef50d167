"""Latency tables in and out: read, validate and import ``space, arch, device, latency_ms``.

>>> from edgewise.data import LatencyTable
>>> table = LatencyTable.from_path("../shared/data/latency/help.csv.gz")  # doctest: +SKIP
>>> table.problem_counts()                                                # doctest: +SKIP
{'unknown space': 60000}
"""

from __future__ import annotations

from edgewise.data._import import ImportReport, import_table
from edgewise.data._store_table import SOURCES, store_table
from edgewise.data._table import (
    COLUMNS,
    LatencyTable,
    RowProblem,
    check_table_path,
    write_table,
)

__all__ = [
    "COLUMNS",
    "SOURCES",
    "ImportReport",
    "LatencyTable",
    "RowProblem",
    "check_table_path",
    "import_table",
    "store_table",
    "write_table",
]
