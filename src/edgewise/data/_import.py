"""``edgewise data import``: a validated latency table into the store, in one transaction.

>>> from edgewise.store import Store
>>> report = import_table("latency.csv", store=Store("sqlite://"))  # doctest: +SKIP
>>> report.rows_imported, report.problem_counts                      # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgewise.data._table import LatencyTable, RowProblem
from edgewise.errors import DataError

if TYPE_CHECKING:
    from edgewise.store import ModelRecord, Store

#: How many problem rows an import report lists one by one.
MAX_LISTED_PROBLEMS = 20


@dataclass(frozen=True)
class ImportReport:
    """What an import read, stored and left out (and why)."""

    path: str
    rows_read: int
    rows_imported: int
    devices: list[str]
    spaces: list[str]
    problem_counts: dict[str, int]
    problems: list[RowProblem]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "rows_read": self.rows_read,
            "rows_imported": self.rows_imported,
            "rows_rejected": self.rows_read - self.rows_imported,
            "devices": self.devices,
            "spaces": self.spaces,
            "problem_counts": self.problem_counts,
            "problems": [p.to_dict() for p in self.problems],
        }


def import_table(
    path: str | Path, *, store: Store, source: str | None = None, strict: bool = False
) -> ImportReport:
    """Validate ``path`` and write its usable rows to ``store`` (all or nothing).

    With ``strict``, one unusable row refuses the whole file (DataError, nothing
    written): for pipelines where a bad row means a broken export, not noise.
    """
    table = LatencyTable.from_path(path, source=source)
    rows_read = len(table.frame) + len(table.problems)
    counts = ", ".join(f"{k}: {v}" for k, v in table.problem_counts().items())
    if table.frame.empty:
        raise DataError(f"no usable rows in {Path(path).name} ({counts or 'empty'})")
    if strict and table.problems:
        first = table.problems[0]
        raise DataError(
            f"{len(table.problems)} of {rows_read} rows in {Path(path).name} are unusable "
            f"({counts}; first: line {first.line}: {first.detail}); nothing imported "
            "(--strict)"
        )
    imported = store.add_latency_records(table.to_records(), models=_models(table))
    return ImportReport(
        path=str(path),
        rows_read=rows_read,
        rows_imported=imported,
        devices=table.devices,
        spaces=[*table.spaces, *(["onnx"] if (table.frame["space"] == "").any() else [])],
        problem_counts=table.problem_counts(),
        problems=list(table.problems[:MAX_LISTED_PROBLEMS]),
    )


def _models(table: LatencyTable) -> list[ModelRecord]:
    """The model files of the table's model-path rows (already checked loadable)."""
    from edgewise.runtime import load_model_info
    from edgewise.store import ModelRecord

    paths = sorted({p for p in table.frame["model_path"] if p})
    return [ModelRecord.from_info(load_model_info(p)) for p in paths]
