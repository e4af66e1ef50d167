"""A compact log-spaced latency histogram, for storing long runs cheaply."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edgewise.stats._quantiles import ArrayLike, _as_sorted_latencies

#: 64 bins per decade gives under 3.7% relative bin width.
BINS_PER_DECADE = 64


@dataclass(frozen=True)
class LogHistogram:
    """Counts per log-spaced bin; ``edges_ms`` has one more entry than ``counts``.

    >>> h = LogHistogram.from_values([1.0, 1.0, 10.0])
    >>> sum(h.counts)
    3
    """

    edges_ms: tuple[float, ...]
    counts: tuple[int, ...]

    @classmethod
    def from_values(cls, values_ms: ArrayLike) -> LogHistogram:
        xs = _as_sorted_latencies(values_ms)
        lo = max(float(xs[0]), 1e-6)
        hi = max(float(xs[-1]), lo * 1.0001)
        start = math.floor(math.log10(lo) * BINS_PER_DECADE)
        stop = math.ceil(math.log10(hi) * BINS_PER_DECADE) + 1
        edges = 10.0 ** (np.arange(start, stop + 1) / BINS_PER_DECADE)
        counts, _ = np.histogram(np.clip(xs, edges[0], edges[-1]), bins=edges)
        return cls(edges_ms=tuple(float(e) for e in edges), counts=tuple(int(c) for c in counts))

    def to_dict(self) -> dict[str, list[float] | list[int]]:
        return {"edges_ms": list(self.edges_ms), "counts": list(self.counts)}
