"""The gateway's side of the recorder process: start it, feed it, read its counters.

Per mirrored request the gateway does one write here (production's raw answer
frame plus a 19-byte head); everything else (pairing, agreement, judge, store)
happens in the recorder process (:mod:`edgewise.shadow.gateway._recorder`). Its
counters, verdicts and new looks come back a few times a second.

>>> link = RecorderLink(names={0: "cand"}, workers={0: sock}, init={...})  # doctest: +SKIP
>>> await link.start(); link.production(...); await link.stop()            # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import os
import pickle
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

from edgewise.errors import ConfigError
from edgewise.shadow.gateway import _wire as wire
from edgewise.shadow.gateway._recorder import (
    CAND,
    FAIL,
    KIND_CAND,
    KIND_FAIL,
    KIND_INIT,
    KIND_PROD,
    KIND_RESET,
    KIND_STOP,
    LAG,
    PROD,
    _Frames,
    _in_memory,
    frame,
)

#: Silence from the recorder (seconds; at least four flush intervals) read as starvation.
STARVED_AFTER_S = 2.0

_NO_COUNTS: dict[str, Any] = {"paired": 0, "censored": 0, "disagreements": 0, "outcomes": {}}


class _Protocol(asyncio.Protocol):
    def __init__(self, link: RecorderLink) -> None:
        self.link = link
        self.frames = _Frames()

    def data_received(self, data: bytes) -> None:
        for body in self.frames.feed(data):
            self.link._on_stats(pickle.loads(body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.link._on_lost()


class RecorderLink:
    """The recorder process of one gateway run, as the gateway sees it."""

    def __init__(
        self,
        *,
        names: dict[int, str],
        workers: dict[int, socket.socket],
        on_verdict: Callable[[Any, int], None] | None = None,
        on_stats: Callable[[RecorderLink], None] | None = None,
        cpus: tuple[int, ...] = (),
    ) -> None:
        self.names = dict(names)
        self.cpus = tuple(cpus)
        self.pid: int | None = None
        self.on_stats = on_stats
        self.workers = dict(workers)
        self.on_verdict = on_verdict
        self.generation = 0
        self.counts: dict[str, dict[str, Any]] = {}
        self.verdicts: dict[str, Any] = {}
        self.stalled: set[str] = set()
        self.written = 0
        self.lost = 0
        self.alive = False
        self.store: Any = None
        self.run_id: int | None = None
        self._ship = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._transport: asyncio.Transport | None = None
        self._final: asyncio.Future[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self._writes: asyncio.Task[None] | None = None
        self._write_queue: list[tuple[list[Any], list[Any]]] = []
        #: ``"idle"`` (SCHED_IDLE, as it starts) or ``"normal"`` once starved (see _watch).
        self.priority = "idle"
        self._heard = 0.0
        self._starved_after_s = STARVED_AFTER_S
        self._watchdog: asyncio.Task[None] | None = None

    async def spawn(self) -> None:
        """Start the process (it warms its imports while the workers load)."""
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fds = [theirs.fileno(), *(s.fileno() for s in self.workers.values())]
        cmd = [
            sys.executable,
            "-m",
            "edgewise.shadow.gateway._recorder",
            "--control-fd",
            str(theirs.fileno()),
        ]
        for slot, sock in self.workers.items():
            cmd += ["--worker", f"{slot}:{sock.fileno()}"]
        if self.cpus:
            cmd += ["--cpus", ",".join(map(str, self.cpus))]
        try:
            self._proc = subprocess.Popen(cmd, pass_fds=fds, stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
            for sock in self.workers.values():
                sock.close()  # the recorder holds them now
        self._final = loop.create_future()
        self._ready = loop.create_future()
        self.pid = self._proc.pid
        self._transport, _ = await loop.create_unix_connection(lambda: _Protocol(self), sock=ours)
        self.alive = True
        self._heard = loop.time()
        self._watchdog = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        """Give a starved recorder normal priority.

        It runs ``SCHED_IDLE`` so that it never delays a replica (docs/shadow.md, "A/A");
        but on CPUs that something else keeps busy, such a process gets almost no time
        (weight 3 against 1024): nothing is paired or judged, and every copy is dropped
        at the queue bound. It reports at least every flush interval, so a silence of
        :data:`STARVED_AFTER_S` (or four flush intervals) means it is not running: it
        then goes to ``SCHED_OTHER`` (still nice 10), for good, and says so.
        """
        loop = asyncio.get_running_loop()
        moved_at = 0.0
        while self.alive:
            await asyncio.sleep(0.25)
            if self.priority == "normal":
                # A thread can still be found SCHED_IDLE after the move (seen once in
                # CI, not explained): apply it again for a while, then stop watching.
                if loop.time() - moved_at > MOVE_AGAIN_FOR_S or self.pid is None:
                    return
                _to_normal_priority(self.pid)
                continue
            if self._ready is None or not self._ready.done():
                continue  # starting up: wait_ready's own timeout covers it
            silent = loop.time() - self._heard
            if self.alive and silent > self._starved_after_s and self.pid is not None:
                self.priority = "normal"
                moved_at = loop.time()
                moved = _to_normal_priority(self.pid)
                print(
                    f"edgewise shadow: the recorder had no CPU for {silent:.1f} s (SCHED_IDLE "
                    f"on busy CPUs); {'it now runs' if moved else 'could not move it to'} "
                    "normal priority (nice 10)",
                    file=sys.stderr,
                )

    def init(
        self,
        *,
        settings: dict[str, Any],
        timeout_s: float,
        rel_tol: float,
        flush_interval_s: float,
        store: Any,
        run_id: int | None,
        baseline: int | None = None,
    ) -> None:
        """Tell the recorder what to judge (against ``baseline``'s slot, if any) and where to write."""
        self._starved_after_s = max(STARVED_AFTER_S, 4 * flush_interval_s)
        url = getattr(store, "url", None) if store is not None else None
        self.store, self.run_id = store, run_id
        self._ship = url is not None and _in_memory(str(url))
        cfg = {
            "names": self.names,
            "settings": settings,
            "timeout_s": timeout_s,
            "rel_tol": rel_tol,
            "flush_interval_s": flush_interval_s,
            "store_url": None if url is None else str(url),
            "run_id": run_id,
            "ship": self._ship,
            "baseline": baseline,
        }
        self._write(frame(KIND_INIT, pickle.dumps(cfg)))

    # -- per request -------------------------------------------------------------------
    def production(
        self,
        seq: int,
        *,
        sent: int,
        down: int,
        lags: Sequence[int],
        request_id: str,
        reply: wire.Reply,
    ) -> None:
        """Production's answer to a request mirrored to the ``sent`` (and ``down``) slots."""
        # The store keeps 200 characters of an id; cut by characters, never mid-UTF-8.
        rid = request_id[:200].encode()
        head = PROD.pack(seq, sent, down, len(rid))
        lag_bytes = b"".join(LAG.pack(min(max(x, 0), 0xFFFFFFFF)) for x in lags)
        self._write(frame(KIND_PROD, head, lag_bytes, rid, wire.reply_body(reply)))

    def candidate_reply(self, slot: int, reply: wire.Reply) -> None:
        """A proxy-mode candidate's answer (worker candidates answer the recorder directly)."""
        self._write(frame(KIND_CAND, CAND.pack(slot), wire.reply_body(reply)))

    def candidate_failed(self, slot: int, seq: int, outcome: str) -> None:
        self._write(frame(KIND_FAIL, FAIL.pack(slot, seq), outcome.encode()))

    def reset(self, candidates: Sequence[str]) -> None:
        """Judge ``candidates`` afresh (production changed); bumps ``generation``."""
        self.generation += 1
        self._write(frame(KIND_RESET, pickle.dumps(list(candidates))))

    def _write(self, parts: list[bytes | memoryview]) -> None:
        t = self._transport
        if t is not None and not t.is_closing():
            t.writelines(parts)

    # -- from the recorder -------------------------------------------------------------
    def counts_of(self, name: str) -> dict[str, Any]:
        return self.counts.get(name, _NO_COUNTS)

    async def wait_ready(self, *, timeout_s: float = 120.0) -> None:
        """Wait until the recorder has its settings (its imports take a while)."""
        if self._ready is None:
            raise RuntimeError("spawn the recorder first")
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), timeout_s)
        except TimeoutError:
            raise ConfigError(f"the shadow recorder did not start in {timeout_s:g} s") from None
        if not self.alive:
            raise ConfigError("the shadow recorder exited (see stderr)")

    def _on_stats(self, stats: dict[str, Any]) -> None:
        self._heard = asyncio.get_running_loop().time()
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)
        self.counts = stats["counts"]
        self.verdicts = stats["verdicts"]
        self.stalled = set(stats["stalled"])
        self.written, self.lost = stats["written"], stats["lost"]
        records = stats.get("records")
        if records or stats.get("looks_to_write"):
            self._write_queue.append((records or [], stats.get("looks_to_write") or []))
            if self._writes is None or self._writes.done():
                self._writes = asyncio.ensure_future(self._drain_writes())
        if self.on_stats is not None:
            self.on_stats(self)
        if self.on_verdict is not None:
            for verdict, generation in stats["looks"]:
                self.on_verdict(verdict, generation)
        if stats.get("final") and self._final is not None and not self._final.done():
            self._final.set_result(None)

    async def _drain_writes(self) -> None:
        """Write shipped records (a store in the gateway's memory) off the event loop."""
        from edgewise.shadow.gateway._recorder import verdict_record

        while self._write_queue:
            records, looks = self._write_queue.pop(0)
            if self.store is None or self.run_id is None:
                self.written += len(records)
                continue
            try:
                await asyncio.to_thread(self.store.add_shadow_pairs, self.run_id, records)
                for v in looks:
                    await asyncio.to_thread(
                        self.store.add_shadow_verdict, self.run_id, verdict_record(v)
                    )
                self.written += len(records)
            except Exception as exc:  # a store error must not stop serving
                self.lost += len(records)
                print(f"edgewise shadow: lost {len(records)} records: {exc}", file=sys.stderr)

    def _on_lost(self) -> None:
        self.alive = False
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)  # wait_ready sees ``alive`` is False
        if self._final is not None and not self._final.done():
            self._final.set_result(None)

    async def stop(self, *, timeout_s: float = 30.0) -> None:
        """Let the recorder pair what is left, write it, and exit."""
        self._write(frame(KIND_STOP))
        if self._final is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._final), timeout_s)
            except TimeoutError:
                pass
        if self._writes is not None:
            await self._writes
        if self._transport is not None:
            self._transport.close()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                await asyncio.wait_for(asyncio.to_thread(proc.wait), 5.0)
            except TimeoutError:
                proc.kill()
                await asyncio.to_thread(proc.wait)
        self.alive = False
        if self._watchdog is not None:
            self._watchdog.cancel()

    def kill(self) -> None:
        """End the process now (a failed start)."""
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self._transport is not None:
            self._transport.close()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()


#: How long the watchdog keeps moving a starved recorder's threads after the first move.
MOVE_AGAIN_FOR_S = 10.0


def _to_normal_priority(pid: int) -> bool:
    """Every thread of ``pid`` to ``SCHED_OTHER`` (its nice value stays); False if refused."""
    try:
        tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        for tid in tids:
            os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
    except (OSError, AttributeError):
        return False
    return True


def check_slots(n: int) -> None:
    from edgewise.shadow.gateway._recorder import MAX_CANDIDATES

    if n > MAX_CANDIDATES:
        raise ConfigError(f"at most {MAX_CANDIDATES} candidates, got {n}")
