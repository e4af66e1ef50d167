"""Drift between the start and the end of a run, judged by quantile CIs."""

from __future__ import annotations

from dataclasses import dataclass

from edgewise.errors import DataError
from edgewise.stats._quantiles import ArrayLike, _as_floats, quantile, quantile_ci


@dataclass(frozen=True)
class DriftCheck:
    """Compares the median of the first and last third of a run (in run order).

    ``drifted`` is True when the last third's 95% CI for the median lies wholly
    above the first third's: the run slowed down by more than its uncertainty.
    """

    first_p50_ms: float
    last_p50_ms: float
    first_ci95: tuple[float, float]
    last_ci95: tuple[float, float]
    drifted: bool

    @property
    def slowdown(self) -> float:
        """Relative change of the median from the first to the last third."""
        return self.last_p50_ms / self.first_p50_ms - 1.0 if self.first_p50_ms > 0 else 0.0

    @classmethod
    def from_values(cls, values_in_order: ArrayLike) -> DriftCheck | None:
        """None when the run is too short (under 30 values) to judge."""
        arr = _as_floats(values_in_order, "values_in_order")
        if (arr < 0.0).any():
            raise DataError(f"latencies cannot be negative, got {float(arr.min()):g} ms")
        if arr.size < 30:
            return None
        third = arr.size // 3
        first, last = arr[:third], arr[-third:]
        first_ci = quantile_ci(first, 0.5)
        last_ci = quantile_ci(last, 0.5)
        return cls(
            first_p50_ms=quantile(first, 0.5),
            last_p50_ms=quantile(last, 0.5),
            first_ci95=first_ci,
            last_ci95=last_ci,
            drifted=bool(last_ci[0] > first_ci[1]),
        )
