"""What every runtime backend provides: timed runs split into I/O and compute.

A backend times one inference in three parts with one monotonic clock:

* ``io_in_ns``: input preparation, copies and binding;
* ``compute_ns``: the runtime's own run call, nothing else;
* ``io_out_ns``: fetching outputs back into host arrays.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from edgewise.runtime._model import ModelInfo, TensorSpec

#: A zero-argument timed inference: ``() -> (io_in_ns, compute_ns, io_out_ns)``.
TimedRun = Callable[[], tuple[int, int, int]]


@dataclass(frozen=True)
class BackendConfig:
    """Knobs shared by backends: thread count and (for ORT) execution providers."""

    threads: int | None = None
    providers: tuple[str, ...] = ()
    graph_optimization: str = "all"


@dataclass(frozen=True)
class OperatorTime:
    """Time spent in one graph node per inference, from the runtime's profiler."""

    name: str
    op_type: str
    total_ms: float
    share: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "op_type": self.op_type,
            "name": self.name,
            "total_ms": self.total_ms,
            "share": self.share,
        }


class Backend(ABC):
    """A loaded model that can run and time inferences."""

    #: Short name used on the CLI (``--backend``) and in the store.
    name: str = ""

    def __init__(self, info: ModelInfo, config: BackendConfig) -> None:
        self.info = info
        self.config = config

    @property
    def inputs(self) -> tuple[TensorSpec, ...]:
        return self.info.inputs

    def int_input_bounds(self) -> dict[str, int]:
        """Exclusive upper bounds for integer inputs the graph reveals (e.g. vocab size)."""
        return {}

    def prepare(self, shapes: Mapping[str, tuple[int, ...]]) -> None:  # noqa: B027
        """Fix dynamic input shapes before the first run (needed by LiteRT)."""

    @abstractmethod
    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """One plain inference."""

    @abstractmethod
    def timed_run(self, feeds: Mapping[str, np.ndarray]) -> tuple[int, int, int]:
        """One inference; returns ``(io_in_ns, compute_ns, io_out_ns)``."""

    def sample_runner(self, feeds: Mapping[str, np.ndarray]) -> TimedRun:
        """``timed_run`` of one fixed sample, prepared before the measurement starts.

        LoadGen loads a test's samples into memory before timing (``LoadSamplesToRam``);
        backends override this to do the per-sample work that a deployment would do once
        (wrapping arrays for the runtime), so the timed path keeps only binding, the run
        and the output fetch.
        """
        return partial(self.timed_run, feeds)

    def profile_operators(
        self, feeds: Mapping[str, np.ndarray], *, runs: int = 20
    ) -> list[OperatorTime]:
        """Per-node time per inference, slowest first; empty if the runtime has no profiler."""
        return []

    def versions(self) -> dict[str, str]:
        """Runtime versions for the environment fingerprint."""
        return {}

    def describe(self) -> dict[str, Any]:
        """Settings that matter for reproducing a measurement."""
        return {"backend": self.name, "threads": self.config.threads}

    def close(self) -> None:  # noqa: B027
        """Release the session."""
