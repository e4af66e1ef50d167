"""Latency tables: CSV or Parquet with ``space, arch, device, latency_ms`` or ``model, device, latency_ms``.

Rows that cannot be used are kept out and reported with their line number and reason
(bad architecture string, unknown space, missing model file, non-positive latency,
duplicate...), never dropped silently.

>>> import pandas as pd
>>> t = LatencyTable.from_frame(pd.DataFrame({
...     "space": ["nasbench201", "nasbench201"],
...     "arch": ["|skip_connect~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|", "bad"],
...     "device": ["pixel3", "pixel3"], "latency_ms": [1.5, 2.0]}))
>>> len(t.frame), t.problems[0].reason
(1, 'bad architecture')
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgewise.errors import DataError, EdgewiseError

if TYPE_CHECKING:
    import pandas as pd

    from edgewise.store import LatencyRecord

#: A latency above one day is a unit or data error, not a measurement.
MAX_LATENCY_MS = 86_400_000.0

#: Columns of the clean frame, in order.
COLUMNS = (
    "model",
    "space",
    "arch",
    "model_path",
    "model_sha256",
    "device",
    "latency_ms",
    "arch_idx",
    "source",
)


@dataclass(frozen=True)
class RowProblem:
    """One unusable row: its line in the file (header is line 1), the reason and a detail."""

    line: int
    reason: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason, "detail": self.detail}


@dataclass(frozen=True)
class LatencyTable:
    """Validated latency rows (``frame``) plus the rows that were left out (``problems``).

    ``frame`` has the columns in :data:`COLUMNS`; ``model`` is ``space:arch`` or the
    ONNX path, the key the predictor uses.
    """

    frame: pd.DataFrame
    problems: tuple[RowProblem, ...]
    path: str = ""

    @property
    def devices(self) -> list[str]:
        return sorted(self.frame["device"].unique().tolist())

    @property
    def spaces(self) -> list[str]:
        return sorted(s for s in self.frame["space"].unique().tolist() if s)

    def problem_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(p.reason for p in self.problems).items()))

    def select(
        self, *, space: str | None = None, devices: Iterable[str] | None = None
    ) -> LatencyTable:
        """Rows of one space (``"onnx"`` selects model-path rows) and/or some devices."""
        from edgewise.errors import UnknownNameError

        df = self.frame
        if space is not None:
            known = [*self.spaces, *(["onnx"] if (df["space"] == "").any() else [])]
            if space not in known:
                raise UnknownNameError("space", space, known)
            df = df[df["space"] == ("" if space == "onnx" else space)]
        if devices is not None:
            wanted = list(devices)
            have = set(df["device"].unique().tolist())
            for d in wanted:
                if d not in have:
                    raise UnknownNameError("device", d, sorted(have))
            df = df[df["device"].isin(wanted)]
        return LatencyTable(frame=df.reset_index(drop=True), problems=self.problems, path=self.path)

    @classmethod
    def from_path(cls, path: str | Path, *, source: str | None = None) -> LatencyTable:
        """Read and validate a CSV (optionally compressed) or Parquet file."""
        import pandas as pd

        p = Path(path)
        if p.is_dir():
            raise DataError(f"{p} is a folder: give a CSV or Parquet file")
        if not p.is_file():
            raise DataError(f"latency table not found: {p}")
        try:
            if p.suffix.lower() in {".parquet", ".pq"}:
                df = pd.read_parquet(p)
            else:
                df = pd.read_csv(
                    p,
                    dtype={
                        "arch": "string",
                        "model": "string",
                        "device": "string",
                        "space": "string",
                    },
                    low_memory=False,
                )
        except Exception as exc:  # pandas/pyarrow raise many types for bad files
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(f"cannot read {p.name} as CSV or Parquet: {msg}") from exc
        for col in ("space", "arch", "model", "device", "latency_ms"):
            if f"{col}.1" in df.columns and col in df.columns:  # pandas renames a repeat
                raise DataError(f"{p.name}: column {col!r} appears more than once")
        # the file's name labels its rows in the store, which holds UTF-8 text only
        label = p.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return cls.from_frame(df, base_dir=p.parent, source=source or label, path=str(p))

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        base_dir: Path | None = None,
        source: str = "",
        path: str = "",
    ) -> LatencyTable:
        """Validate a frame with the table columns (see the module docstring)."""
        import pandas as pd

        cols = set(df.columns)
        has_arch = {"space", "arch"} <= cols
        if "device" not in cols or "latency_ms" not in cols or not (has_arch or "model" in cols):
            raise DataError(
                "a latency table needs columns space, arch, device, latency_ms "
                f"(or model, device, latency_ms); found {sorted(map(str, cols))}"
            )
        n = len(df)
        spaces = _column(df, "space", n)
        archs = _column(df, "arch", n)
        models = _column(df, "model", n)
        devices = _column(df, "device", n)
        sources = _column(df, "source", n) if "source" in cols else [source] * n
        if pd.api.types.is_bool_dtype(df["latency_ms"]):  # True would be 1 ms
            raise DataError("latency_ms holds true/false values, not milliseconds")
        lat = pd.to_numeric(df["latency_ms"], errors="coerce").to_numpy(dtype=float)
        idx = (
            pd.to_numeric(df["arch_idx"], errors="coerce").to_numpy(dtype=float)
            if "arch_idx" in cols
            else [math.nan] * n
        )
        arch_check: dict[tuple[str, str], str | None] = {}
        model_check: dict[str, tuple[str, str] | str] = {}
        problems: list[RowProblem] = []
        seen: dict[tuple[str, str], tuple[int, float]] = {}  # -> (line, latency)
        out: dict[str, list[Any]] = {c: [] for c in COLUMNS}
        for i in range(n):
            line = i + 2
            device = devices[i]
            if not device:
                problems.append(RowProblem(line, "missing device", ""))
                continue
            value = lat[i]
            if not math.isfinite(value):
                problems.append(
                    RowProblem(line, "latency not a number", str(df["latency_ms"].iloc[i]))
                )
                continue
            if value <= 0:
                problems.append(RowProblem(line, "non-positive latency", f"{value:g}"))
                continue
            if value > MAX_LATENCY_MS:
                problems.append(RowProblem(line, "implausible latency", f"{value:g} ms (> 1 day)"))
                continue
            space, arch, model = spaces[i].lower(), archs[i], models[i]
            path_s = sha = ""
            if space or arch:
                space, arch = _canonical_space(space), arch.strip()
                key = (space, arch)
                if key not in arch_check:
                    arch_check[key] = _check_arch(space, arch)
                err = arch_check[key]
                if err is not None:
                    reason = "unknown space" if err.startswith("no builder") else "bad architecture"
                    problems.append(RowProblem(line, reason, err))
                    continue
                model = f"{space}:{arch}"
            elif model:
                if model not in model_check:
                    model_check[model] = _check_model(model, base_dir)
                checked = model_check[model]
                if isinstance(checked, str):
                    problems.append(RowProblem(line, "bad model file", checked))
                    continue
                path_s, sha = checked
                model = path_s
            else:
                problems.append(RowProblem(line, "missing architecture or model", ""))
                continue
            # a model file is keyed by its content, as the store keys it: two copies of
            # one file are one model (the store refused the second with a crash)
            dup_key = (sha or model, device)
            if dup_key in seen:
                first, first_ms = seen[dup_key]
                same = f"same model (sha256 {sha[:12]})" if sha else "same model"
                detail = f"{same} and device as line {first}"
                if value != first_ms:
                    detail += f", another latency ({value:g} vs {first_ms:g} ms; line {first} kept)"
                problems.append(RowProblem(line, "duplicate", detail))
                continue
            seen[dup_key] = (line, value)
            for c, v in zip(
                COLUMNS,
                (
                    model,
                    space,
                    arch,
                    path_s,
                    sha,
                    device,
                    float(value),
                    idx[i],
                    sources[i] or source,
                ),
                strict=True,
            ):
                out[c].append(v)
        frame = pd.DataFrame(out, columns=list(COLUMNS))
        return cls(frame=frame, problems=tuple(problems), path=path)

    def to_records(self) -> list[LatencyRecord]:
        """The rows as :class:`edgewise.store.LatencyRecord` for ``Store.add_latency_records``."""
        from edgewise.store import LatencyRecord

        f = self.frame
        return [
            LatencyRecord(
                device=d, latency_ms=float(v), space=s, arch=a, model_sha256=h, source=src
            )
            for d, v, s, a, h, src in zip(
                f["device"],
                f["latency_ms"],
                f["space"],
                f["arch"],
                f["model_sha256"],
                f["source"],
                strict=True,
            )
        ]


def _column(df: pd.DataFrame, name: str, n: int) -> list[str]:
    if name not in df.columns:
        return [""] * n
    return [
        ""
        if v is None or (isinstance(v, float) and math.isnan(v)) or str(v) == "<NA>"
        else str(v).strip()
        for v in df[name].tolist()
    ]


def _canonical_space(space: str) -> str:
    from edgewise.graph.builders import SPACES

    return SPACES.get(space, space)


def _check_arch(space: str, arch: str) -> str | None:
    """None if ``arch`` builds in ``space``, else the reason."""
    from edgewise.graph.builders import BUILDERS

    if space not in BUILDERS:
        return f"no builder for space {space!r} (supported: {', '.join(BUILDERS)})"
    if not arch:
        return "empty architecture string"
    try:
        BUILDERS[space][1](arch)
    except EdgewiseError as exc:
        return str(exc)
    return None


def _check_model(model: str, base_dir: Path | None) -> tuple[str, str] | str:
    """``(resolved path, sha256)`` of a loadable ONNX file, else the reason."""
    from edgewise.graph import load_graph

    p = Path(model).expanduser()
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    if not p.is_file():
        return f"model file not found: {model}"
    try:
        load_graph(p)
    except EdgewiseError as exc:
        return f"{model}: {exc}"
    return str(p.resolve()), hashlib.sha256(p.read_bytes()).hexdigest()


def check_table_path(path: Path, *, what: str) -> None:
    """DataError/ConfigError unless ``path`` is a writable ``.csv`` or ``.parquet`` file
    (callers check before long work, then :func:`write_table`)."""
    from edgewise._paths import check_writable

    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise DataError(f"{what}: write a .csv or .parquet file, not {suffix or 'no suffix'!r}")
    check_writable(path, what=what)


def write_table(frame: pd.DataFrame, path: Path, *, what: str) -> None:
    """Write ``frame`` as CSV or Parquet, by ``path``'s suffix (checked first)."""
    check_table_path(path, what=what)
    path.parent.mkdir(parents=True, exist_ok=True)  # check_table_path allows a new folder
    if path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
