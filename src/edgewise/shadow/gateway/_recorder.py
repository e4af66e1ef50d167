"""The background writer: pairs in, agreement + judge + batched store writes out.

The event loop only appends finished pairs to a deque. Every 10 ms this thread
drains it, compares outputs and feeds the judge; every ``flush_interval_s`` it
writes the records so far in one transaction. So a hard kill loses at most the
records of the last ``flush_interval_s`` plus one write in progress (documented in
docs/shadow.md).
"""

from __future__ import annotations

import collections
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgewise.errors import EdgewiseError
from edgewise.shadow._judge import Judge
from edgewise.shadow._verdict import Verdict
from edgewise.shadow.gateway._agreement import Agreement
from edgewise.shadow.gateway._wire import Reply
from edgewise.store import ShadowPairRecord, ShadowVerdictRecord, Store


@dataclass(frozen=True, slots=True)
class PairEvent:
    """One request answered by production and tried on one candidate."""

    candidate: str
    seq: int
    request_id: str
    production: Reply
    reply: Reply | None  # None: censored (``outcome`` says why)
    outcome: str
    lag_ns: int | None


def _ms(ns: int) -> float:
    return ns / 1e6


def pair_record(event: PairEvent, agreement: Agreement | None) -> ShadowPairRecord:
    """The stored form of a pair (latencies in ms, on each replica's own clock)."""
    p, c = event.production, event.reply
    return ShadowPairRecord(
        candidate=event.candidate,
        seq=event.seq,
        request_id=event.request_id,
        outcome=event.outcome,
        production_ms=_ms(p.total_ns),
        production_compute_ms=_ms(p.compute_ns),
        production_io_ms=_ms(p.io_in_ns + p.io_out_ns),
        candidate_ms=None if c is None else _ms(c.total_ns),
        candidate_compute_ms=None if c is None else _ms(c.compute_ns),
        candidate_io_ms=None if c is None else _ms(c.io_in_ns + c.io_out_ns),
        lag_ms=None if event.lag_ns is None else _ms(event.lag_ns),
        max_abs_diff=None if agreement is None else agreement.max_abs_diff,
        rel_diff=None if agreement is None else agreement.rel_diff,
        top1_agree=None if agreement is None else agreement.top1_agree,
        cosine=None if agreement is None else agreement.cosine,
        agree=bool(agreement.agree) if agreement is not None else False,
    )


#: How often the writer thread judges the pairs that arrived (seconds).
TICK_S = 0.01


class Recorder:
    """Judges and stores paired records on a background thread.

    >>> rec = Recorder(judge=Judge(["c"]), store=None, run_id=None)   # doctest: +SKIP
    >>> rec.start(); rec.put(event); rec.stop()                       # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        judge: Judge,
        store: Store | None,
        run_id: int | None,
        flush_interval_s: float = 0.5,
        rel_tol: float = 1e-2,
        on_verdict: Callable[[Verdict, int], None] | None = None,
        keep_latencies: int = 0,
    ) -> None:
        self.judge: Judge | None = judge
        self.generation = 0
        self._settings: dict[str, Any] = {
            "quantiles": judge.quantiles,
            "tolerance": judge.tolerance,
            "alpha": judge.alpha,
            "max_disagreement": judge.max_disagreement,
            "warmup": judge.warmup,
            "look_every": judge.look_every,
            "max_requests": judge.max_requests,
            "ratio_bounds": judge.ratio_bounds,
        }
        self.store = store
        self.run_id = run_id
        self.flush_interval_s = flush_interval_s
        self.rel_tol = rel_tol
        self.on_verdict = on_verdict
        self.written = 0
        self.lost = 0
        self.disagreements: collections.Counter[str] = collections.Counter()
        self.verdicts: dict[str, Verdict] = dict(judge.verdicts())
        #: The last ``keep_latencies`` (production_ms, candidate_ms or inf) per candidate.
        self.latencies: dict[str, collections.deque[tuple[float, float]]] = collections.defaultdict(
            lambda: collections.deque(maxlen=max(keep_latencies, 1))
        )
        self._keep = keep_latencies > 0
        self._inbox: collections.deque[PairEvent] = collections.deque()
        self._pending: list[ShadowPairRecord] = []
        self._pending_looks: list[Verdict] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._looks: dict[str, int] = {}

    def put(self, event: PairEvent) -> None:
        self._inbox.append(event)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="edgewise-shadow-writer", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Flush what is left and end the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.flush()

    def reset(self, candidates: Sequence[str]) -> None:
        """Judge ``candidates`` afresh: production changed under them (a promotion).

        Candidates whose verdict is already final keep it. Bumps ``generation``.
        """
        with self._lock:
            self.generation += 1
            live = [n for n in candidates if not (n in self.verdicts and self.verdicts[n].final)]
            self.judge = Judge(live, **self._settings) if live else None
            self._looks = {}
            for name in live:
                self.verdicts[name] = self.judge.verdict(name)  # type: ignore[union-attr]

    def _run(self) -> None:
        # Judge in small steps as pairs arrive (short GIL holds, so requests on the event
        # loop barely wait), and write to the store in one transaction per flush interval.
        next_write = time.monotonic() + self.flush_interval_s
        while not self._stop.wait(TICK_S):
            self._process()
            if time.monotonic() >= next_write:
                self._write_pending()
                next_write = time.monotonic() + self.flush_interval_s

    def flush(self) -> None:
        """Judge every pair received so far and write them all now."""
        self._process()
        self._write_pending()

    def _process(self) -> None:
        new_looks: list[Verdict] = []
        with self._lock:
            events = []
            while self._inbox:
                events.append(self._inbox.popleft())
            if not events:
                return
            judge = self.judge
            for ev in events:
                agreement = None
                if ev.reply is not None:
                    agreement = Agreement.of(
                        [t.array() for t in ev.production.outputs],
                        [t.array() for t in ev.reply.outputs],
                        rel_tol=self.rel_tol,
                    )
                rec = pair_record(ev, agreement)
                self._pending.append(rec)
                if not rec.agree and not rec.censored:
                    self.disagreements[ev.candidate] += 1
                if self._keep:
                    c = np.inf if rec.candidate_ms is None else rec.candidate_ms
                    self.latencies[ev.candidate].append((rec.production_ms, c))
                if judge is not None and ev.candidate in judge.candidates:
                    judge.add(
                        ev.candidate,
                        production_ms=rec.production_ms,
                        candidate_ms=rec.candidate_ms,
                        agree=rec.agree or rec.censored,
                    )
            for name in judge.candidates if judge is not None else ():
                history = judge.history(name)  # type: ignore[union-attr]
                seen = self._looks.get(name, 0)
                new_looks.extend(history[seen:])
                self._looks[name] = len(history)
                self.verdicts[name] = judge.verdict(name)  # type: ignore[union-attr]
            self._pending_looks.extend(new_looks)
            generation = self.generation
        if self.on_verdict is not None:
            for verdict in new_looks:
                self.on_verdict(verdict, generation)

    def _write_pending(self) -> None:
        with self._lock:
            records, self._pending = self._pending, []
            looks, self._pending_looks = self._pending_looks, []
        if records or looks:
            self._write(records, looks)

    def _write(self, records: list[ShadowPairRecord], looks: list[Verdict]) -> None:
        if self.store is None or self.run_id is None:
            self.written += len(records)
            return
        try:
            self.written += self.store.add_shadow_pairs(self.run_id, records)
            for v in looks:
                self.store.add_shadow_verdict(self.run_id, verdict_record(v))
        except EdgewiseError as exc:
            self.lost += len(records)
            print(f"edgewise shadow: lost {len(records)} records: {exc}", file=sys.stderr)


def verdict_record(v: Verdict) -> ShadowVerdictRecord:
    detail = v.to_dict()
    return ShadowVerdictRecord(
        candidate=v.candidate,
        verdict=str(v.verdict),
        rule=v.rule,
        reason=v.reason,
        final=v.final,
        requests_used=v.requests_used,
        detail={k: detail[k] for k in ("quantiles", "agreement", "censored", "tolerance", "alpha")},
    )


def wait_until(predicate: Callable[[], bool], *, timeout_s: float) -> bool:
    """Poll ``predicate`` until true or ``timeout_s`` (a helper for tests and the demo)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
