"""The LoadGen harness: a system-under-test that times every query on one clock.

LoadGen (``mlperf_loadgen``) decides when queries are issued (the scenario); the
harness runs them on a backend and records, per query, on ``perf_counter_ns``:
queue wait, I/O in, compute, I/O out and end-to-end (issue callback to completion).
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import re
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgewise.errors import ConfigError, RuntimeBackendError
from edgewise.runtime import TimedRun

SCENARIOS = ("single-stream", "multi-stream", "server", "offline")


def scenario_name(name: str) -> str:
    """Our spelling of a scenario from any other (``SingleStream``, as MLPerf results and
    ``edgewise recommend`` write it, -> ``single-stream``); an unknown name comes back
    unchanged, for the caller's error."""
    key = re.sub(r"[\s_-]", "", name).lower()
    return next((s for s in SCENARIOS if s.replace("-", "") == key), name)


@dataclass(frozen=True)
class LoadGenSettings:
    """What LoadGen needs to run one scenario."""

    scenario: str
    duration_s: float
    min_queries: int
    expected_latency_ns: int
    target_qps: float | None = None
    latency_bound_ms: float | None = None
    samples_per_query: int = 8
    workers: int = 1
    max_duration_s: float | None = None


@dataclass(frozen=True)
class QueryLog:
    """Per-query timings in nanoseconds, in completion order."""

    e2e_ns: np.ndarray
    queue_ns: np.ndarray
    io_ns: np.ndarray
    compute_ns: np.ndarray
    samples: int
    wall_s: float


@dataclass(frozen=True)
class LoadGenRun:
    """A finished LoadGen run: our timings plus LoadGen's own logs and verdict."""

    log: QueryLog
    summary_text: str
    detail_text: str
    detail: dict[str, Any]

    @property
    def valid(self) -> bool:
        return self.detail.get("result_validity") == "VALID"


def parse_detail(text: str) -> dict[str, Any]:
    """LoadGen's ``:::MLLOG {json}`` detail lines as ``{key: value}`` (last wins)."""
    out: dict[str, Any] = {}
    for line in text.splitlines():
        if not line.startswith(":::MLLOG"):
            continue
        try:
            entry = json.loads(line[len(":::MLLOG") :])
        except json.JSONDecodeError:
            continue
        key = entry.get("key")
        if key:
            out[key] = entry.get("value")
    return out


@contextmanager
def _quiet_stdout() -> Any:
    """LoadGen's C++ side may print; keep stdout clean for ``--json``."""
    try:
        fd = os.dup(1)
    except OSError:  # pragma: no cover - no stdout at all
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(fd, 1)
        os.close(fd)


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask, else all of them)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


#: How long each query of a test abandoned by Ctrl-C or an error takes (seconds).
ABANDONED_QUERY_S = 0.01


class _Harness:
    """Runs LoadGen's queries on a backend and records timings."""

    def __init__(
        self,
        runners: Sequence[TimedRun],
        *,
        inline: bool,
        workers: int,
        on_progress: Callable[[int], None] | None,
    ) -> None:
        import mlperf_loadgen as lg

        self.lg = lg
        self.runners = runners
        self.inline = inline
        self.on_progress = on_progress
        self.records: list[tuple[int, int, int, int]] = []  # e2e, queue, io, compute
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._last_progress = 0.0
        self._queue: queue.Queue[Any] = queue.Queue()
        self._threads = (
            []
            if inline
            else [
                threading.Thread(target=self._worker, daemon=True, name=f"edgewise-sut-{i}")
                for i in range(workers)
            ]
        )
        for t in self._threads:
            t.start()

    def _serve(self, query: Sequence[Any]) -> tuple[int, int]:
        """Run a query's samples; return its (I/O, compute) nanoseconds."""
        io = compute = 0
        if self.error is not None:
            # The run is lost: answer LoadGen, slowly, until it ends. Answered at once, an
            # abandoned test issued millions of queries, and LoadGen's logging of them
            # lagged into the next test, which then failed its minimum duration.
            time.sleep(ABANDONED_QUERY_S)
            return io, compute
        try:
            for qs in query:
                io_in, comp, io_out = self.runners[qs.index]()
                io += io_in + io_out
                compute += comp
        except BaseException as exc:  # noqa: BLE001 - reported after LoadGen returns
            self.error = exc
        return io, compute

    def _run_query(self, query: Sequence[Any], t_issue: int) -> None:
        clock = time.perf_counter_ns
        t_start = clock()
        io, compute = self._serve(query)
        t_done = clock()
        self._complete(query, (t_done - t_issue, t_start - t_issue, io, compute), t_done)

    def _complete(self, query: Sequence[Any], record: tuple[int, int, int, int], now: int) -> None:
        """Tell LoadGen, then keep the record (after the end-to-end clock has stopped)."""
        self.lg.QuerySamplesComplete([self.lg.QuerySampleResponse(qs.id, 0, 0) for qs in query])
        with self._lock:
            self.records.append(record)
            if self.on_progress and (now - self._last_progress) > 100_000_000:
                self._last_progress = now
                self.on_progress(len(self.records))

    def issue_inline(self, query_samples: list[Any]) -> None:
        """Single- and multi-stream: run on LoadGen's issue thread, no queue, no wait."""
        clock = time.perf_counter_ns
        t_issue = clock()
        io, compute = self._serve(query_samples)
        t_done = clock()
        self._complete(query_samples, (t_done - t_issue, 0, io, compute), t_done)

    def issue(self, query_samples: list[Any], *, per_sample: bool = True) -> None:
        t_issue = time.perf_counter_ns()
        if per_sample:
            for qs in query_samples:
                self._queue.put(([qs], t_issue))
        else:
            self._queue.put((query_samples, t_issue))

    def _worker(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            self._run_query(*item)

    def stop(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join(timeout=10)


#: Held while a LoadGen test runs (LoadGen is one per process); released by its thread.
_loadgen_owner = threading.Lock()


def busy() -> bool:
    """Whether a LoadGen test (perhaps one abandoned by Ctrl-C) is still running."""
    return _loadgen_owner.locked()


#: How long an exiting interpreter waits for an abandoned LoadGen test (seconds).
EXIT_WAIT_S = 120.0


def _wait_at_exit() -> None:
    """Let an abandoned test end before the interpreter does: finalizing under LoadGen's
    C++ threads aborts the process ("terminate called without an active exception").
    The CLI leaves with ``os._exit`` instead, and never gets here."""
    if _loadgen_owner.acquire(timeout=EXIT_WAIT_S):
        _loadgen_owner.release()


atexit.register(_wait_at_exit)


def _in_loadgen_thread(test: Callable[[], Any]) -> Any:
    """``test()`` on its own thread, so that Ctrl-C reaches this one at once.

    LoadGen's ``StartTest`` blocks in C++ until its minimum duration, whatever the SUT
    does, and has no abort: a Ctrl-C would wait for it (minutes, on a long run). Here
    the caller gets KeyboardInterrupt at once while the abandoned test answers its last
    queries without inference; the CLI then exits (``os._exit``), and a caller in the
    same process that starts another test first waits for it to end.
    """
    while not _loadgen_owner.acquire(timeout=0.2):  # another test (or its remains) runs
        pass
    out: dict[str, Any] = {}
    # An Event, not Thread.join: a join interrupted by Ctrl-C marks the thread stopped
    # while it still runs (CPython's _wait_for_tstate_lock releases its lock).
    done = threading.Event()

    def body() -> None:
        try:
            out["value"] = test()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            out["error"] = exc
        finally:
            done.set()
            _loadgen_owner.release()

    try:
        threading.Thread(target=body, name="edgewise-loadgen", daemon=True).start()
    except BaseException:
        _loadgen_owner.release()
        raise
    while not done.wait(0.2):  # wakes for signals: Ctrl-C raises here
        pass
    if "error" in out:
        raise out["error"]
    return out["value"]


def run_loadgen(
    runners: Sequence[TimedRun],
    settings: LoadGenSettings,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> LoadGenRun:
    """Run one LoadGen test in PerformanceOnly mode and return timings and logs.

    ``runners`` are the loaded samples, one timed inference each (``Backend.sample_runner``).
    """
    import mlperf_loadgen as lg

    if settings.scenario not in SCENARIOS:
        raise ConfigError(
            f"unknown scenario {settings.scenario!r} (choose from {', '.join(SCENARIOS)})"
        )
    ts = lg.TestSettings()
    ts.mode = lg.TestMode.PerformanceOnly
    ts.min_duration_ms = int(settings.duration_s * 1000)
    max_s = settings.max_duration_s or max(2 * settings.duration_s, settings.duration_s + 30)
    ts.max_duration_ms = int(max_s * 1000)
    ts.min_query_count = settings.min_queries
    ts.performance_sample_count_override = len(runners)
    expected = max(1, settings.expected_latency_ns)
    inline = False
    if settings.scenario == "single-stream":
        ts.scenario = lg.TestScenario.SingleStream
        ts.single_stream_expected_latency_ns = expected
        inline = True
    elif settings.scenario == "multi-stream":
        ts.scenario = lg.TestScenario.MultiStream
        ts.multi_stream_samples_per_query = settings.samples_per_query
        ts.multi_stream_expected_latency_ns = expected * settings.samples_per_query
        inline = True
    elif settings.scenario == "server":
        ts.scenario = lg.TestScenario.Server
        if settings.target_qps is None or settings.latency_bound_ms is None:
            raise ConfigError("the server scenario needs a target QPS and a latency bound")
        ts.server_target_qps = settings.target_qps
        ts.server_target_latency_ns = int(settings.latency_bound_ms * 1e6)
    else:
        ts.scenario = lg.TestScenario.Offline
        # LoadGen issues one query of ~1.1 x duration x this many samples and waits for
        # all of them. Workers beyond the cores add no throughput: workers x the
        # single-query rate made a 0.2 s run with 128 workers on 2 cores last 57 s. Too
        # few samples end the run early, INVALID (min duration not met): so not less.
        ts.offline_expected_qps = min(settings.workers, usable_cores()) * 1e9 / expected

    harness = _Harness(runners, inline=inline, workers=settings.workers, on_progress=on_progress)
    issue: Callable[[list[Any]], None]
    if inline:
        issue = harness.issue_inline
    else:
        per_sample = settings.scenario != "multi-stream"

        def issue(qs: list[Any]) -> None:
            harness.issue(qs, per_sample=per_sample)

    def test() -> tuple[str, str, float]:
        sut = lg.ConstructSUT(issue, lambda: None)
        qsl = lg.ConstructQSL(len(runners), len(runners), lambda _: None, lambda _: None)
        with tempfile.TemporaryDirectory(prefix="edgewise-loadgen-") as tmp:
            log_settings = lg.LogSettings()
            log_settings.log_output.outdir = tmp
            log_settings.log_output.copy_summary_to_stdout = False
            log_settings.enable_trace = False
            start = time.perf_counter()
            try:
                with _quiet_stdout():
                    lg.StartTestWithLogSettings(sut, qsl, ts, log_settings)
            finally:
                wall = time.perf_counter() - start
                harness.stop()
                lg.DestroyQSL(qsl)
                lg.DestroySUT(sut)
            return (
                Path(tmp, "mlperf_log_summary.txt").read_text(errors="replace"),
                Path(tmp, "mlperf_log_detail.txt").read_text(errors="replace"),
                wall,
            )

    try:
        summary, detail_text, wall = _in_loadgen_thread(test)
    except KeyboardInterrupt:  # Ctrl-C: nothing is saved
        harness.error = harness.error or KeyboardInterrupt()  # LoadGen's queries end at once
        raise
    if isinstance(harness.error, KeyboardInterrupt):
        raise harness.error
    if harness.error is not None:
        raise RuntimeBackendError(
            f"inference failed during the run: {harness.error}"
        ) from harness.error
    if not harness.records:
        raise RuntimeBackendError("LoadGen issued no queries")
    rec = np.asarray(harness.records, dtype=np.int64)
    log = QueryLog(
        e2e_ns=rec[:, 0],
        queue_ns=rec[:, 1],
        io_ns=rec[:, 2],
        compute_ns=rec[:, 3],
        samples=len(runners),
        wall_s=wall,
    )
    return LoadGenRun(
        log=log, summary_text=summary, detail_text=detail_text, detail=parse_detail(detail_text)
    )
