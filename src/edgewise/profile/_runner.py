"""``profile_model``: load, synthesise inputs, warm up, run LoadGen, summarise, warn.

>>> result = profile_model("model.onnx", ProfileSettings(duration_s=2))  # doctest: +SKIP
>>> result.latency.p50_ms                                               # doctest: +SKIP
0.84
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from edgewise._checks import check_int, is_int, is_number
from edgewise.errors import ConfigError, ModelError, RuntimeBackendError
from edgewise.profile import _fingerprint as fp
from edgewise.profile._loadgen import (
    SCENARIOS,
    LoadGenRun,
    LoadGenSettings,
    run_loadgen,
    scenario_name,
    usable_cores,
)
from edgewise.profile._result import ProfileResult
from edgewise.runtime import (
    Backend,
    BackendConfig,
    Feeds,
    TimedRun,
    load_model_info,
    load_npz,
    open_backend,
    resolve_shapes,
    synthesize,
)
from edgewise.stats import DriftCheck, LatencySummary, early_stopping_estimate, quantile

#: Default server arrival rate, as a share of the capacity (workers / warm-up median).
DEFAULT_SERVER_LOAD = 0.5
#: Default server latency bound, as a multiple of the warm-up median (at least 1 ms).
DEFAULT_BOUND_X_MEDIAN = 10
#: Bounds that catch typos (a run of days, a thread count no machine has) up front.
MAX_DURATION_S = 7 * 24 * 3600.0
MAX_QUERIES = 1 << 31
MAX_THREADS = 1024
MAX_SAMPLES_PER_QUERY = 1 << 16  # LoadGen allocates every query's samples up front
#: A machine is "busy" when its 1-minute load average exceeds this share of its cores.
BUSY_LOAD_SHARE = 0.75
#: Warn when I/O + compute + queue miss the end-to-end median by more than this share...
UNACCOUNTED_SHARE = 0.05
#: ...and by more than this many milliseconds (Python's own per-query cost).
UNACCOUNTED_FLOOR_MS = 0.02


@dataclass(frozen=True)
class ProfileSettings:
    """Options of one profile run (the CLI's flags)."""

    scenario: str = "single-stream"
    duration_s: float = 10.0
    min_queries: int = 100
    warmup: int = 20
    threads: int | None = None
    backend: str = "auto"
    providers: tuple[str, ...] = ()
    target_qps: float | None = None
    latency_bound_ms: float | None = None
    workers: int = 1
    samples: int = 8
    samples_per_query: int = 8
    operator_runs: int | None = None
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    inputs_path: Path | None = None
    device_name: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.scenario, str):  # anything else is left for validate()
            object.__setattr__(self, "scenario", scenario_name(self.scenario))

    def validate(self) -> None:
        """Reject impossible or contradictory options before anything runs.

        Types too: a string, a float where LoadGen takes an integer or a bool
        (``True`` is not a count) failed deep inside NumPy or LoadGen, or crashed it.
        """
        if not isinstance(self.scenario, str) or self.scenario not in SCENARIOS:
            raise ConfigError(
                f"unknown scenario {self.scenario!r} (choose from {', '.join(SCENARIOS)})"
            )
        if not (
            is_number(self.duration_s)
            and math.isfinite(self.duration_s)
            and 0 < self.duration_s <= MAX_DURATION_S
        ):
            raise ConfigError(
                f"--duration must be a positive number of seconds up to {MAX_DURATION_S:g}, "
                f"got {self.duration_s!r}"
            )
        check_int("--min-queries", self.min_queries, 1, MAX_QUERIES)
        if self.threads is not None:
            check_int("--threads", self.threads, 1, MAX_THREADS)
        if self.device_name is not None and not (
            isinstance(self.device_name, str) and _printable_name(self.device_name)
        ):
            raise ConfigError(
                "--device-name must be 1-200 printable characters with no line breaks, "
                f"got {str(self.device_name)[:40]!r}"
            )
        check_int("--warmup", self.warmup, 0, MAX_QUERIES)
        if not isinstance(self.backend, str):
            raise ConfigError(f"--backend must be a name, got {self.backend!r}")
        if not (
            isinstance(self.providers, tuple | list)
            and all(isinstance(p, str) for p in self.providers)
        ):
            raise ConfigError(f"--provider must be a tuple of names, got {self.providers!r}")
        if self.inputs_path is not None and not isinstance(self.inputs_path, str | os.PathLike):
            raise ConfigError(f"--inputs must be a path, got {self.inputs_path!r}")
        if not (
            isinstance(self.shapes, Mapping)
            and all(
                isinstance(k, str)
                and isinstance(v, tuple | list)
                and all(is_int(d) and d > 0 for d in v)
                for k, v in self.shapes.items()
            )
        ):
            raise ConfigError(
                f"--shape must map input names to tuples of positive integers, got {self.shapes!r}"
            )
        if self.inputs_path is not None and self.shapes:  # --shape was silently ignored
            raise ConfigError("--inputs gives the input shapes: drop --shape")
        check_int("--workers", self.workers, 1, MAX_THREADS)
        check_int("samples", self.samples, 1, MAX_QUERIES)
        # only multi-stream uses it, but a count of 0 or less is wrong in any scenario
        # (multi-stream with 0 made LoadGen throw std::bad_alloc and segfault)
        check_int("samples_per_query", self.samples_per_query, 1, MAX_SAMPLES_PER_QUERY)
        if self.operator_runs is not None:
            check_int("operator_runs", self.operator_runs, 0, MAX_QUERIES)
        check_int("seed", self.seed, 0)
        server_only = {"--target-qps": self.target_qps, "--latency-bound-ms": self.latency_bound_ms}
        if self.scenario != "server":
            given = [k for k, v in server_only.items() if v is not None]
            if given:
                verb = "applies" if len(given) == 1 else "apply"
                raise ConfigError(f"{' and '.join(given)} only {verb} to --scenario server")
        if self.target_qps is not None and not (
            is_number(self.target_qps) and math.isfinite(self.target_qps) and self.target_qps > 0
        ):
            raise ConfigError(
                f"impossible server target: --target-qps must be positive, got {self.target_qps!r}"
            )
        if self.latency_bound_ms is not None and not (
            is_number(self.latency_bound_ms)
            and math.isfinite(self.latency_bound_ms)
            and self.latency_bound_ms > 0
        ):
            raise ConfigError(
                f"impossible server target: --latency-bound-ms must be positive, got {self.latency_bound_ms!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["shapes"] = {k: list(v) for k, v in self.shapes.items()}
        d["inputs_path"] = str(self.inputs_path) if self.inputs_path else None
        return d


def _printable_name(name: str) -> bool:
    return 0 < len(name.strip()) and len(name) <= 200 and name.isprintable()


def make_samples(backend: Backend, settings: ProfileSettings) -> list[Feeds]:
    """The query samples: from ``--inputs`` or synthesised from the signature."""
    specs = backend.inputs
    if settings.inputs_path is not None:
        feeds = load_npz(settings.inputs_path, specs)
        backend.prepare({k: tuple(v.shape) for k, v in feeds.items()})
        return [feeds]
    shapes = resolve_shapes(specs, settings.shapes)
    backend.prepare(shapes)
    rng = np.random.default_rng(settings.seed)
    bounds = backend.int_input_bounds()
    return [synthesize(specs, shapes, rng=rng, int_high=bounds) for _ in range(settings.samples)]


def _warm_up(runners: list[TimedRun], count: int, name: str = "the model") -> np.ndarray:
    """Run ``count`` (at least 3) queries; return their service times in ns."""
    times = []
    for i in range(max(3, count)):
        try:
            io_in, comp, io_out = runners[i % len(runners)]()
        except RuntimeBackendError as exc:
            if i:  # it ran before: the runtime, not the model
                raise
            # the very first query, on inputs its signature accepts: the model is broken
            raise ModelError(f"{name} loads but cannot run: {exc}") from exc
        times.append(io_in + comp + io_out)
    return np.asarray(times[max(0, len(times) - max(3, count)) :], dtype=np.int64)


def _server_targets(settings: ProfileSettings, service_ns: np.ndarray) -> tuple[float, float]:
    """Target QPS and latency bound, checked against what the model can do at all."""
    fastest_ms = float(service_ns.min()) / 1e6
    typical_ms = float(np.median(service_ns)) / 1e6
    # workers beyond the cores add no throughput (as for offline's expected QPS)
    parallel = min(settings.workers, usable_cores())
    capacity = parallel * 1000.0 / fastest_ms
    bound = (
        settings.latency_bound_ms
        if settings.latency_bound_ms is not None
        else max(DEFAULT_BOUND_X_MEDIAN * typical_ms, 1.0)
    )
    qps = (
        settings.target_qps
        if settings.target_qps is not None
        else DEFAULT_SERVER_LOAD * parallel * 1000.0 / typical_ms
    )
    if bound < fastest_ms:
        raise ConfigError(
            f"impossible server target: --latency-bound-ms {bound:g} is below the fastest single "
            f"inference measured in warm-up ({fastest_ms:.3f} ms)"
        )
    if qps > capacity:
        raise ConfigError(
            f"impossible server target: --target-qps {qps:g} exceeds what {parallel} "
            f"worker(s) on {usable_cores()} core(s) can serve even at the fastest measured "
            f"inference ({capacity:.0f} QPS)"
        )
    return qps, bound


def _warnings(
    run: LoadGenRun,
    e2e_ms: np.ndarray,
    parts_p50: float,
    env_start: dict[str, Any],
    env_end: dict[str, Any],
    es_ms: float | None,
    es_pct: float,
) -> list[str]:
    out: list[str] = []
    if not run.valid:
        reasons = [
            k
            for k in (
                "result_min_duration_met",
                "result_min_queries_met",
                "early_stopping_met",
                "result_perf_constraints_met",
            )
            if run.detail.get(k) is False
        ]
        out.append(
            "LoadGen judged the run INVALID" + (f" ({', '.join(reasons)} false)" if reasons else "")
        )
    drift = DriftCheck.from_values(e2e_ms)
    if drift is not None and drift.drifted:
        out.append(
            f"drift: the last third of the run is {drift.slowdown:+.1%} slower than the first "
            f"(median {drift.first_p50_ms:.4g} -> {drift.last_p50_ms:.4g} ms, beyond the 95% CIs)"
        )
    cores = env_start.get("cores_logical") or 1
    for label, env in (("start", env_start), ("end", env_end)):
        load = env.get("load_avg")
        if load and load[0] > BUSY_LOAD_SHARE * cores:
            out.append(
                f"busy machine: 1-min load average {load[0]:.2f} on {cores} cores at the {label} of the run"
            )
            break
    f0, f1 = env_start["freq"].get("cur_mhz"), env_end["freq"].get("cur_mhz")
    fmax = env_start["freq"].get("max_mhz")
    if f0 and f1 and f1 < 0.9 * f0:
        out.append(f"throttling: CPU frequency fell from {f0:.0f} to {f1:.0f} MHz during the run")
    elif f1 and fmax and f1 < 0.7 * fmax:
        out.append(f"throttling: CPU runs at {f1:.0f} MHz, well under its {fmax:.0f} MHz maximum")
    temp = env_end.get("temperature_c")
    if temp is not None and temp >= 85:
        out.append(f"throttling risk: hottest thermal zone at {temp:.0f} °C")
    e2e_p50 = quantile(e2e_ms, 0.5)
    gap = e2e_p50 - parts_p50
    if gap > max(UNACCOUNTED_SHARE * e2e_p50, UNACCOUNTED_FLOOR_MS):
        out.append(
            f"I/O + compute + queue (median {parts_p50:.4g} ms) miss the end-to-end median "
            f"{e2e_p50:.4g} ms by {gap:.4g} ms: time is spent outside the measured parts"
        )
    if es_ms is None:
        out.append(
            f"too few queries ({e2e_ms.size}) for an early-stopping p{es_pct * 100:g} estimate"
        )
    return out


def profile_model(
    model: str | Path,
    settings: ProfileSettings | None = None,
    *,
    on_progress: Callable[[str, float], None] | None = None,
) -> ProfileResult:
    """Measure ``model`` on this machine with LoadGen; nothing is saved here.

    ``on_progress(stage, fraction)`` is called now and then (fraction of the run).
    """
    settings = settings or ProfileSettings()
    settings.validate()
    info = load_model_info(model)
    config = BackendConfig(threads=settings.threads, providers=settings.providers)
    backend = open_backend(info, backend=settings.backend, config=config)
    try:
        samples = make_samples(backend, settings)
        runners = [backend.sample_runner(feeds) for feeds in samples]
        service = _warm_up(runners, settings.warmup, info.path.name)
        expected_ns = int(np.median(service))
        qps = bound = None
        if settings.scenario == "server":
            qps, bound = _server_targets(settings, service)
        lg_settings = LoadGenSettings(
            scenario=settings.scenario,
            duration_s=settings.duration_s,
            min_queries=settings.min_queries,
            expected_latency_ns=expected_ns,
            target_qps=qps,
            latency_bound_ms=bound,
            samples_per_query=settings.samples_per_query,
            workers=settings.workers,
        )
        env_start = fp.collect(threads=settings.threads, runtime_versions=backend.versions())
        t0 = time.perf_counter()

        def progress(_: int) -> None:
            if on_progress:
                on_progress("measuring", min(1.0, (time.perf_counter() - t0) / settings.duration_s))

        run = run_loadgen(runners, lg_settings, on_progress=progress)
        env_end = fp.collect(threads=settings.threads, runtime_versions=backend.versions())
        if on_progress:
            on_progress("operators", 1.0)
        runs = settings.operator_runs
        if runs is None:
            runs = int(np.clip(0.5e9 / max(expected_ns, 1), 3, 50))
        operators = tuple(backend.profile_operators(samples[0], runs=runs)) if runs > 0 else ()
        describe = backend.describe()
    finally:
        backend.close()

    log = run.log
    e2e_ms = log.e2e_ns / 1e6
    parts_ms = (log.queue_ns + log.io_ns + log.compute_ns) / 1e6
    es_pct = 0.90 if settings.scenario == "single-stream" else 0.99
    es_ms = early_stopping_estimate(e2e_ms, es_pct)
    device_name = settings.device_name or fp.default_device_name()
    warnings = _warnings(run, e2e_ms, quantile(parts_ms, 0.5), env_start, env_end, es_ms, es_pct)
    if info.format == "tflite" and not operators:
        warnings.append("per-operator breakdown is not available for LiteRT models")
    samples_done = log.e2e_ns.size * (
        settings.samples_per_query if settings.scenario == "multi-stream" else 1
    )
    effective = replace(settings, target_qps=qps, latency_bound_ms=bound)
    return ProfileResult(
        model=info,
        device_name=device_name,
        fingerprint=env_end | {"load_avg_start": env_start.get("load_avg")},
        fingerprint_sha=fp.identity_sha(env_end),
        scenario=settings.scenario,
        settings={**effective.to_dict(), **describe},
        queries=int(log.e2e_ns.size),
        valid=run.valid,
        latency=LatencySummary.from_values(e2e_ms),
        io=LatencySummary.from_values(log.io_ns / 1e6),
        compute=LatencySummary.from_values(log.compute_ns / 1e6),
        queue=LatencySummary.from_values(log.queue_ns / 1e6),
        unaccounted_p50_ms=float(np.median(e2e_ms - parts_ms)),
        early_stopping_ms=es_ms,
        early_stopping_percentile=es_pct,
        throughput_qps=samples_done / log.wall_s if log.wall_s > 0 else 0.0,
        operators=operators,
        warnings=tuple(warnings),
        loadgen_summary=run.summary_text,
        loadgen_detail=run.detail_text,
        loadgen=_loadgen_view(run),
        latencies_ms=e2e_ms,
    )


def _loadgen_view(run: LoadGenRun) -> dict[str, Any]:
    """LoadGen's own headline numbers, as it computed them."""
    keys = (
        "result_validity",
        "early_stopping_latency_ss",
        "early_stopping_latency_ms",
        "result_50.00_percentile_latency_ns",
        "result_90.00_percentile_latency_ns",
        "result_99.00_percentile_latency_ns",
        "result_samples_per_second",
        "result_scheduled_samples_per_sec",
        "result_completed_samples_per_sec",
        "result_min_duration_met",
        "result_min_queries_met",
        "early_stopping_met",
        "result_perf_constraints_met",
        "effective_scenario",
    )
    return {k: run.detail[k] for k in keys if k in run.detail}
