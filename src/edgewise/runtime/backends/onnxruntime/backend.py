"""ONNX Runtime backend: compute isolated with IO binding, operators from ORT's profiler."""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from edgewise.errors import ModelError, RuntimeBackendError
from edgewise.runtime._model import ModelInfo
from edgewise.runtime.backends.base import Backend, BackendConfig, OperatorTime, TimedRun
from edgewise.runtime.backends.onnxruntime.config import resolve_providers, session_options


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class OnnxRuntimeBackend(Backend):
    """An ``onnxruntime.InferenceSession`` timed per query.

    >>> backend = OnnxRuntimeBackend(load_model_info("m.onnx"), BackendConfig(threads=1))  # doctest: +SKIP
    """

    name = "onnxruntime"

    def __init__(self, info: ModelInfo, config: BackendConfig) -> None:
        super().__init__(info, config)
        self.providers = resolve_providers(config.providers)
        self.session = self._session(session_options(config))
        self._outputs = [o.name for o in self.session.get_outputs()]
        self._local = threading.local()  # one IO binding per worker thread
        self._device = "cpu" if self.providers[0] == "CPUExecutionProvider" else "cuda"

    def _session(self, options: Any) -> Any:
        import onnxruntime as ort

        try:
            return ort.InferenceSession(
                str(self.info.path), sess_options=options, providers=self.providers
            )
        except Exception as exc:  # ORT raises its own pybind classes (Fail, InvalidGraph, ...)
            raise ModelError(
                f"{self.info.path.name}: ONNX Runtime cannot load this model: {_first_line(exc)}"
            ) from exc

    def int_input_bounds(self) -> dict[str, int]:
        """Vocabulary sizes for integer inputs used as ``Gather`` indices."""
        import onnx

        model = onnx.load(str(self.info.path), load_external_data=False)
        inits = {i.name: tuple(i.dims) for i in model.graph.initializer}
        int_inputs = {s.name for s in self.info.inputs if np.dtype(s.dtype).kind in "iu"}
        bounds: dict[str, int] = {}
        for node in model.graph.node:
            if node.op_type == "Gather" and len(node.input) > 1 and node.input[1] in int_inputs:
                dims = inits.get(node.input[0])
                if dims:
                    axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
                    size = int(dims[axis])
                    bounds[node.input[1]] = min(bounds.get(node.input[1], size), size)
        return bounds

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        try:
            return list(self.session.run(None, dict(feeds)))
        except Exception as exc:
            raise RuntimeBackendError(f"inference failed: {_first_line(exc)}") from exc

    def _binding(self) -> Any:
        """This thread's IO binding, outputs bound once.

        ORT allocates bound outputs per run; binding them again every query would cost
        more than a tiny model's compute.
        """
        binding = getattr(self._local, "binding", None)
        if binding is None:
            binding = self._local.binding = self.session.io_binding()
            for name in self._outputs:
                binding.bind_output(name, self._device)
        return binding

    def timed_run(self, feeds: Mapping[str, np.ndarray]) -> tuple[int, int, int]:
        clock = time.perf_counter_ns
        binding = self._binding()
        t0 = clock()
        for name, arr in feeds.items():
            binding.bind_cpu_input(name, arr)
        t1 = clock()
        self._run(binding)
        t2 = clock()
        binding.copy_outputs_to_cpu()
        t3 = clock()
        return t1 - t0, t2 - t1, t3 - t2

    def sample_runner(self, feeds: Mapping[str, np.ndarray]) -> TimedRun:
        """Wrap the sample's arrays as ``OrtValue`` once; each query binds and runs them.

        Only for a CPU device: elsewhere the host-to-device copy is the I/O to time,
        which ``bind_cpu_input`` does per query in ``timed_run``.
        """
        if self._device != "cpu":
            return super().sample_runner(feeds)
        import onnxruntime as ort

        arrays = {name: np.ascontiguousarray(arr) for name, arr in feeds.items()}
        values = tuple(  # shares the arrays' memory, which ``arrays`` keeps alive
            (name, ort.OrtValue.ortvalue_from_numpy(arr)) for name, arr in arrays.items()
        )
        clock, binding_of, run = time.perf_counter_ns, self._binding, self._run

        def timed() -> tuple[int, int, int]:
            binding = binding_of()
            t0 = clock()
            for name, value in values:
                binding.bind_ortvalue_input(name, value)
            t1 = clock()
            run(binding)
            t2 = clock()
            binding.copy_outputs_to_cpu()
            t3 = clock()
            return t1 - t0, t2 - t1, t3 - t2

        timed.arrays = arrays  # type: ignore[attr-defined]
        return timed

    def _run(self, binding: Any) -> None:
        try:
            self.session.run_with_iobinding(binding)
        except Exception as exc:
            raise RuntimeBackendError(f"inference failed: {_first_line(exc)}") from exc

    def profile_operators(
        self, feeds: Mapping[str, np.ndarray], *, runs: int = 20
    ) -> list[OperatorTime]:
        """Run a separate profiling session, so the timed run never pays for profiling."""
        with tempfile.TemporaryDirectory(prefix="edgewise-ortprof-") as tmp:
            session = self._session(
                session_options(self.config, profile_prefix=os.path.join(tmp, "ort"))
            )
            session.run(None, dict(feeds))  # warm-up, excluded below
            for _ in range(runs):
                session.run(None, dict(feeds))
            trace = Path(session.end_profiling())
            events = json.loads(trace.read_text())
        return operators_from_trace(events, runs=runs + 1, skip_runs=1)

    def versions(self) -> dict[str, str]:
        import onnxruntime as ort

        return {"onnxruntime": ort.__version__}

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "threads": self.config.threads,
            "providers": self.providers,
            "graph_optimization": self.config.graph_optimization,
        }

    def close(self) -> None:
        self.session = None


def operators_from_trace(
    events: list[dict[str, Any]], *, runs: int, skip_runs: int = 0
) -> list[OperatorTime]:
    """Sum ORT ``Node`` kernel events per node; ms per inference over the kept runs."""
    run_starts = sorted(e["ts"] for e in events if e.get("name") == "model_run")
    cutoff = run_starts[skip_runs] if skip_runs and len(run_starts) > skip_runs else -1
    kept = max(1, runs - skip_runs)
    per_node: dict[str, list[Any]] = {}
    for e in events:
        if e.get("cat") != "Node" or not str(e.get("name", "")).endswith("_kernel_time"):
            continue
        if e.get("ts", 0) < cutoff:
            continue
        name = e["name"][: -len("_kernel_time")]
        op_type = e.get("args", {}).get("op_name", "?")
        slot = per_node.setdefault(name, [op_type, 0.0])
        slot[1] += float(e.get("dur", 0)) / 1000.0
    total = sum(v[1] for v in per_node.values()) or 1.0
    ops = [
        OperatorTime(name=n, op_type=v[0], total_ms=v[1] / kept, share=v[1] / total)
        for n, v in per_node.items()
    ]
    return sorted(ops, key=lambda o: o.total_ms, reverse=True)
