"""The recorder process: pairing, output agreement, the judge and the store writes.

The gateway starts it beside the replica workers, so none of this work shares the
gateway's GIL. Each candidate worker answers mirrored requests straight to it (one
socket per worker); the gateway forwards production's answer to a mirrored request
as the raw frame it received (one write), with the request id, which candidates got
a copy, which were down, and each copy's lag. Proxy-mode candidates' answers come
through the gateway the same way.

Every :data:`TICK_S` the recorder pairs what arrived, censors candidates that did
not answer within the timeout (``timeout``) or whose worker is gone
(``unavailable``), and feeds the judge. Every :data:`STATS_S` (when something
changed) it sends the gateway one small message: counters, current verdicts and
the judge's new looks. Every ``flush_interval_s`` it writes the new records and
looks to the store in one transaction, or, for a store that lives in the gateway's
memory, ships them to the gateway to write. A hard kill of the gateway ends the
recorder too (its control socket closes); it writes what it has before it exits.
So the loss on a hard kill of the gateway is what was in flight on sockets, and a
hard kill of both loses at most the last ``flush_interval_s`` of records.
"""

from __future__ import annotations

import argparse
import os
import pickle
import selectors
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from edgewise.shadow.gateway import _wire as wire
from edgewise.shadow.gateway._cpus import parse_cpus, pin_process

#: Control frames from the gateway: ``u32 length | u8 kind | payload``.
KIND_INIT, KIND_PROD, KIND_CAND, KIND_FAIL, KIND_RESET, KIND_STOP = b"IPCFRS"
#: ``P`` payload head: seq, mask of candidates sent a copy, mask of those down, id length.
PROD = struct.Struct("<QIIH")
#: ``C`` payload head: the candidate's slot (then its reply frame body).
CAND = struct.Struct("<B")
#: ``F`` payload head: slot, seq (then the outcome, UTF-8).
FAIL = struct.Struct("<BQ")
LAG = struct.Struct("<I")

#: How often the recorder wakes up to pair, judge and fire timeouts (seconds).
TICK_S = 0.02
#: The recorder's nice value: its work is never on a request's path, so it yields
#: the CPU to the gateway, the client and the replicas. It also runs as ``SCHED_IDLE``
#: where the OS allows: a replica that wakes on its CPU then preempts it at once,
#: where a nice value alone let a running recorder finish its slice first (an
#: identical candidate sharing its CPU waited up to ~3 ms at p99, 0.8-1.8 ms with
#: ``SCHED_IDLE``; docs/shadow.md, "A/A"). Under a saturated CPU it still gets the
#: time the candidate leaves, and the gateway's queue bound drops copies meanwhile.
NICE = 10
#: How often, at most, the gateway gets counters and verdicts (seconds).
STATS_S = 0.05
#: Timeouts in a row after which a candidate is reported stalled (the gateway then
#: stops sending it copies and records them as ``unavailable``).
STALL_AFTER = 4
#: Candidate answers that arrived before production's are kept this long (seconds).
EARLY_KEEP_S = 30.0
#: At most this many candidates (the masks are 32 bits).
MAX_CANDIDATES = 32


def _ms(ns: int) -> float:
    return ns / 1e6


def pair_record(
    candidate: str,
    seq: int,
    request_id: str,
    production: wire.Reply,
    reply: wire.Reply | None,
    outcome: str,
    lag_ns: int | None,
    agreement: Any,
) -> Any:
    """The stored form of a pair (latencies in ms, each on its own replica's clock)."""
    from edgewise.store import ShadowPairRecord

    p, c = production, reply
    return ShadowPairRecord(
        candidate=candidate,
        seq=seq,
        request_id=request_id,
        outcome=outcome,
        production_ms=_ms(p.total_ns),
        production_compute_ms=_ms(p.compute_ns),
        production_io_ms=_ms(p.io_in_ns + p.io_out_ns),
        candidate_ms=None if c is None else _ms(c.total_ns),
        candidate_compute_ms=None if c is None else _ms(c.compute_ns),
        candidate_io_ms=None if c is None else _ms(c.io_in_ns + c.io_out_ns),
        lag_ms=None if lag_ns is None else _ms(lag_ns),
        max_abs_diff=None if agreement is None else agreement.max_abs_diff,
        rel_diff=None if agreement is None else agreement.rel_diff,
        top1_agree=None if agreement is None else agreement.top1_agree,
        cosine=None if agreement is None else agreement.cosine,
        agree=bool(agreement.agree) if agreement is not None else False,
    )


def verdict_record(v: Any) -> Any:
    """The stored form of one look of the judge."""
    from edgewise.store import ShadowVerdictRecord

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


@dataclass
class _Waiting:
    """Production's answer to a mirrored request, waiting for the candidates' answers."""

    arrived: float
    request_id: str
    reply: wire.Reply
    lags: dict[int, int]
    slots: set[int]


class Pairing:
    """Pairs production's and candidates' answers, compares outputs, feeds the judge.

    Pure bookkeeping (no sockets), so it can be tested in-process.

    >>> core = Pairing({0: "cand"}, settings={"warmup": 0}, timeout_s=1.0)  # doctest: +SKIP
    """

    def __init__(
        self,
        names: dict[int, str],
        *,
        settings: dict[str, Any],
        timeout_s: float,
        rel_tol: float = 1e-2,
        baseline: int | None = None,
    ) -> None:
        from edgewise.shadow._judge import Judge

        self._judge_cls = Judge
        self.names = dict(names)
        self.settings = dict(settings)
        self.timeout_s = timeout_s
        self.rel_tol = rel_tol
        # The baseline (a mirrored twin of production) is paired and stored like a
        # candidate, but it is the judge's reference, not a candidate.
        self.baseline = baseline
        self._ref: dict[int, float | None] = {}  # seq -> the baseline's ms (None: no answer)
        self._held: dict[int, list[tuple[str, float | None, bool]]] = {}
        self._owed: dict[int, int] = {}  # seq -> candidates' pairs still to judge
        judged = [n for s, n in self.names.items() if s != baseline]
        self.judge: Any = Judge(judged, **self._judge_settings())
        self.generation = 0
        self.verdicts: dict[str, Any] = dict(self.judge.verdicts())
        self.counts: dict[str, dict[str, Any]] = {
            n: {"paired": 0, "censored": 0, "disagreements": 0, "outcomes": {}}
            for n in self.names.values()
        }
        self.streak = dict.fromkeys(self.names, 0)
        self.dead: set[int] = set()
        self.waiting: dict[int, _Waiting] = {}
        self.early: dict[tuple[int, int], tuple[float, str, wire.Reply | None]] = {}
        self.records: list[Any] = []
        self.looks: list[tuple[Any, int]] = []
        self.new_looks: list[tuple[Any, int]] = []
        self._seen_looks: dict[str, int] = {}
        self._fed = False
        self.dirty = True

    # -- arrivals ----------------------------------------------------------------------
    def production(
        self,
        seq: int,
        *,
        sent: int,
        down: int,
        lags: Sequence[int],
        request_id: str,
        reply: wire.Reply,
        now: float,
    ) -> None:
        sent_slots = [s for s in self.names if sent >> s & 1]
        lag_of = dict(zip(sent_slots, lags, strict=False))
        base = self.baseline
        if base is not None and sent >> base & 1:
            owed = sum(1 for s in self.names if s != base and (sent | down) >> s & 1)
            if owed:
                self._owed[seq] = owed
        for slot in self.names:
            if down >> slot & 1:
                self._pair(slot, seq, request_id, reply, "unavailable", None, None)
        waiting: set[int] = set()
        for slot in sent_slots:
            early = self.early.pop((slot, seq), None)
            if early is not None:
                self._pair(slot, seq, request_id, reply, early[1], early[2], lag_of.get(slot))
            elif slot in self.dead:
                self._pair(slot, seq, request_id, reply, "unavailable", None, lag_of.get(slot))
            else:
                waiting.add(slot)
        if waiting:
            self.waiting[seq] = _Waiting(now, request_id, reply, lag_of, waiting)

    def candidate(self, slot: int, reply: wire.Reply, *, now: float) -> None:
        """A candidate's answer (OK or ERROR) to mirrored request ``reply.seq``."""
        if slot not in self.names:
            return
        self.streak[slot] = 0
        outcome = "ok" if reply.status == wire.OK else "error"
        self._arrive(slot, reply.seq, outcome, reply if outcome == "ok" else None, now)

    def candidate_failed(self, slot: int, seq: int, outcome: str, *, now: float) -> None:
        """A proxy-mode candidate did not answer (``timeout``, ``error``, ``unavailable``)."""
        if slot in self.names:
            self._arrive(slot, seq, outcome, None, now)

    def _arrive(
        self, slot: int, seq: int, outcome: str, reply: wire.Reply | None, now: float
    ) -> None:
        w = self.waiting.get(seq)
        if w is None or slot not in w.slots:
            self.early[(slot, seq)] = (now, outcome, reply)  # before production's (or late)
            return
        w.slots.discard(slot)
        if not w.slots:
            del self.waiting[seq]
        self._pair(slot, seq, w.request_id, w.reply, outcome, reply, w.lags.get(slot))

    def lost(self, slot: int) -> None:
        """Candidate ``slot``'s worker is gone: what it owes is censored ``unavailable``."""
        self.dead.add(slot)
        for seq, w in list(self.waiting.items()):
            if slot in w.slots:
                self._arrive(slot, seq, "unavailable", None, 0.0)

    def expire(self, now: float, *, everything: bool = False) -> None:
        """Censor answers overdue by the timeout (all still owed when ``everything``)."""
        limit = now - self.timeout_s
        waiting = self.waiting
        while waiting:
            seq = next(iter(waiting))
            w = waiting[seq]
            if w.arrived > limit and not everything:
                break  # arrival order: the rest are younger
            for slot in sorted(w.slots):
                self.streak[slot] = self.streak.get(slot, 0) + 1
                outcome = "unavailable" if everything else "timeout"
                self._pair(slot, seq, w.request_id, w.reply, outcome, None, w.lags.get(slot))
            del waiting[seq]
        old = now - EARLY_KEEP_S
        early = self.early
        while early:
            key = next(iter(early))
            if early[key][0] >= old:
                break
            del early[key]  # production never answered, or the answer came too late

    # -- pairs, judge ------------------------------------------------------------------
    def _pair(
        self,
        slot: int,
        seq: int,
        request_id: str,
        production: wire.Reply,
        outcome: str,
        reply: wire.Reply | None,
        lag_ns: int | None,
    ) -> None:
        from edgewise.shadow.gateway._agreement import Agreement

        name = self.names[slot]
        agreement = None
        if reply is not None:
            agreement = Agreement.of(
                [t.array() for t in production.outputs],
                [t.array() for t in reply.outputs],
                rel_tol=self.rel_tol,
            )
        rec = pair_record(name, seq, request_id, production, reply, outcome, lag_ns, agreement)
        self.records.append(rec)
        c = self.counts[name]
        c["paired"] += 1
        c["outcomes"][outcome] = c["outcomes"].get(outcome, 0) + 1
        if reply is None:
            c["censored"] += 1
        elif not rec.agree:
            c["disagreements"] += 1
        if self.judge is not None:
            self._feed(slot, seq, name, rec)
        self.dirty = True

    def _feed(self, slot: int, seq: int, name: str, rec: Any) -> None:
        """Give the judge a pair: against production, or against the baseline's answer."""
        if slot == self.baseline:
            self._reference(seq, rec.candidate_ms)
            return
        if name not in self.judge.candidates:
            return
        agree = rec.agree or rec.censored
        if self.baseline is None:
            self.judge.add(
                name, production_ms=rec.production_ms, candidate_ms=rec.candidate_ms, agree=agree
            )
            self._fed = True
        elif seq not in self._owed:
            return  # the baseline got no copy: nothing to judge against
        elif seq in self._ref:
            self._judge_one(seq, name, self._ref[seq], rec.candidate_ms, agree)
        else:
            self._held.setdefault(seq, []).append((name, rec.candidate_ms, agree))

    def _reference(self, seq: int, baseline_ms: float | None) -> None:
        """The baseline's answer to ``seq``: judge the candidates' pairs held for it."""
        held = self._held.pop(seq, [])
        if seq not in self._owed:
            return
        self._ref[seq] = baseline_ms
        for name, candidate_ms, agree in held:
            self._judge_one(seq, name, baseline_ms, candidate_ms, agree)

    def _judge_one(
        self,
        seq: int,
        name: str,
        baseline_ms: float | None,
        candidate_ms: float | None,
        agree: bool,
    ) -> None:
        if baseline_ms is not None:  # a baseline that failed or timed out is no reference
            self.judge.add(name, production_ms=baseline_ms, candidate_ms=candidate_ms, agree=agree)
            self._fed = True
        left = self._owed[seq] - 1
        if left:
            self._owed[seq] = left
        else:
            del self._owed[seq]
            self._ref.pop(seq, None)

    def _judge_settings(self) -> dict[str, Any]:
        reference = "production" if self.baseline is None else "baseline"
        return {**self.settings, "reference": reference}

    def judge_looks(self) -> None:
        """Collect the judge's new looks and current verdicts (once per tick)."""
        if not self._fed or self.judge is None:
            return
        self._fed = False
        for name in self.judge.candidates:
            history = self.judge.history(name)
            seen = self._seen_looks.get(name, 0)
            for v in history[seen:]:
                self.looks.append((v, self.generation))
                self.new_looks.append((v, self.generation))
            self._seen_looks[name] = len(history)
            self.verdicts[name] = self.judge.verdict(name)

    def reset(self, candidates: Sequence[str]) -> None:
        """Judge ``candidates`` afresh: production changed under them (a promotion).

        The baseline ran the old production's model, so it retires: the candidates
        left are judged against the new production, final verdicts too (they were
        reached against the old one: a candidate whose PASS came while another was being
        promoted kept that stale PASS for good, and was never judged or promoted again).
        """
        self.generation += 1
        self.baseline = None
        self._ref, self._held, self._owed = {}, {}, {}
        live = list(candidates)
        self.judge = self._judge_cls(live, **self._judge_settings()) if live else None
        self._seen_looks = {}
        for name in live:
            self.verdicts[name] = self.judge.verdict(name)
        self.dirty = True

    def stats(self) -> dict[str, Any]:
        """What the gateway shows: counters, verdicts, the new looks, stalled candidates."""
        looks, self.new_looks = self.new_looks, []
        self.dirty = False
        return {
            "counts": self.counts,
            "verdicts": self.verdicts,
            "looks": looks,
            "generation": self.generation,
            "stalled": [self.names[s] for s, k in self.streak.items() if k >= STALL_AFTER],
        }

    def take(self) -> tuple[list[Any], list[Any]]:
        """The records and looks not yet written (and forget them)."""
        records, self.records = self.records, []
        looks, self.looks = self.looks, []
        return records, [v for v, _ in looks]


class _Frames:
    """Length-prefixed frames out of a byte stream."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        buf = self.buf
        buf += data
        out = []
        pos, size_of = 0, wire.LEN.size
        while len(buf) - pos >= size_of:
            (n,) = wire.LEN.unpack_from(buf, pos)
            if len(buf) - pos - size_of < n:
                break
            out.append(bytes(buf[pos + size_of : pos + size_of + n]))
            pos += size_of + n
        if pos:
            del buf[:pos]
        return out


def frame(kind: int, *parts: bytes | memoryview) -> list[bytes | memoryview]:
    """One control frame's parts (for ``writelines``)."""
    size = 1 + sum(len(p) if isinstance(p, bytes) else p.nbytes for p in parts)
    return [wire.LEN.pack(size), bytes((kind,)), *parts]


def _send(sock: socket.socket, obj: Any) -> None:
    body = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    sock.setblocking(True)
    try:
        sock.sendall(wire.LEN.pack(len(body)) + body)
    finally:
        sock.setblocking(False)


def _in_memory(url: str) -> bool:
    head, _, rest = url.partition("://")
    return head.startswith("sqlite") and rest.strip("/") in ("", ":memory:")


class _Writer:
    """Writes records and looks to the store (or hands them back to ship)."""

    def __init__(self, store_url: str | None, run_id: int | None, *, ship: bool) -> None:
        self.ship = ship
        self.store: Any = None
        self.run_id = run_id
        self.written = 0
        self.lost = 0
        if store_url is not None and run_id is not None and not ship:
            from edgewise.store import Store

            self.store = Store(store_url, migrate=False)

    def write(self, records: list[Any], looks: list[Any]) -> None:
        if self.store is None:
            if not self.ship:
                self.written += len(records)
            return
        from edgewise.errors import EdgewiseError

        try:
            self.written += self.store.add_shadow_pairs(self.run_id, records)
            for v in looks:
                self.store.add_shadow_verdict(self.run_id, verdict_record(v))
        except EdgewiseError as exc:
            self.lost += len(records)
            print(f"edgewise shadow recorder: lost {len(records)} records: {exc}", file=sys.stderr)


def serve(control: socket.socket, workers: dict[int, socket.socket]) -> int:
    """Run the recorder until the gateway says stop (or goes away)."""
    control.setblocking(True)
    init = _Frames()
    got: list[bytes] = []
    while not got:
        data = control.recv(1 << 16)
        if not data:
            return 0  # the gateway gave up before it started us
        got = init.feed(data)
    first, backlog = got[0], got[1:]  # requests may have come in while we started
    if first[0] != KIND_INIT:
        print("edgewise shadow recorder: no init message", file=sys.stderr)
        return 1
    cfg = pickle.loads(first[1:])
    core = Pairing(
        {int(k): v for k, v in cfg["names"].items()},
        settings=cfg["settings"],
        timeout_s=cfg["timeout_s"],
        rel_tol=cfg["rel_tol"],
        baseline=cfg.get("baseline"),
    )
    writer = _Writer(cfg["store_url"], cfg["run_id"], ship=cfg["ship"])
    flush_s = float(cfg["flush_interval_s"])
    sel = selectors.DefaultSelector()
    control.setblocking(False)
    sel.register(control, selectors.EVENT_READ, -1)
    buffers: dict[int, _Frames] = {-1: init}
    for slot, sock in workers.items():
        sock.setblocking(False)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        except OSError:
            pass
        sel.register(sock, selectors.EVENT_READ, slot)
        buffers[slot] = _Frames()
    clock = time.monotonic
    stopping: float | None = None
    gateway_gone = False
    next_stats = clock()
    next_flush = clock() + flush_s

    def flush(*, final: bool = False) -> None:
        records, looks = core.take()
        stats = core.stats()
        if writer.ship:
            stats["records"], stats["looks_to_write"] = records, looks
        else:
            writer.write(records, looks)
        stats["written"], stats["lost"], stats["final"] = writer.written, writer.lost, final
        if not gateway_gone:
            try:
                _send(control, stats)
            except OSError:
                pass

    def on_control(body: bytes, now: float) -> None:
        nonlocal stopping
        kind = body[0]
        if kind == KIND_PROD:
            seq, sent, down, id_len = PROD.unpack_from(body, 1)
            pos = 1 + PROD.size
            n_sent = sent.bit_count()
            lags = [LAG.unpack_from(body, pos + LAG.size * i)[0] for i in range(n_sent)]
            pos += LAG.size * n_sent
            request_id = body[pos : pos + id_len].decode(errors="replace")
            reply = wire.decode_reply(body[pos + id_len :])
            core.production(
                seq, sent=sent, down=down, lags=lags, request_id=request_id, reply=reply, now=now
            )
        elif kind == KIND_CAND:
            (slot,) = CAND.unpack_from(body, 1)
            core.candidate(slot, wire.decode_reply(body[1 + CAND.size :]), now=now)
        elif kind == KIND_FAIL:
            slot, seq = FAIL.unpack_from(body, 1)
            core.candidate_failed(slot, seq, body[1 + FAIL.size :].decode(), now=now)
        elif kind == KIND_RESET:
            core.reset(pickle.loads(body[1:]))
        elif kind == KIND_STOP:
            stopping = now

    flush()  # the first message tells the gateway the recorder is ready
    for body in backlog:
        on_control(body, clock())
    next_tick = clock()
    while True:
        # One wake-up per tick, whatever the request rate: read everything that came,
        # then sleep. Waking per message would cost more than the pairing itself.
        time.sleep(max(0.0, next_tick - clock()))
        next_tick = clock() + TICK_S
        now = looked = clock()  # every answer that came before ``looked`` is read below
        for key, _ in sel.select(0):
            slot = key.data
            sock = cast("socket.socket", key.fileobj)
            while True:
                try:
                    data = sock.recv(1 << 20)
                except BlockingIOError:
                    break
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(sock)
                    if slot == -1:
                        gateway_gone = True
                    else:
                        core.lost(slot)
                    break
                for body in buffers[slot].feed(data):
                    if slot == -1:
                        on_control(body, now)
                    else:
                        core.candidate(slot, wire.decode_reply(body), now=now)
        core.expire(looked)  # not clock(): a slow look must not time out unread answers
        now = clock()
        core.judge_looks()
        if gateway_gone:
            core.expire(now, everything=True)
            core.judge_looks()
            flush(final=True)
            return 0
        if stopping is not None:
            workers_open = any(k.data != -1 for k in sel.get_map().values())
            if not workers_open or now - stopping > 3.0:
                core.expire(now, everything=True)
                core.judge_looks()
                flush(final=True)
                return 0
        if now >= next_flush:
            flush()
            next_flush = now + flush_s
            next_stats = now + STATS_S
        elif now >= next_stats and core.dirty:
            stats = core.stats()
            stats["written"], stats["lost"], stats["final"] = writer.written, writer.lost, False
            try:
                _send(control, stats)
            except OSError:
                gateway_gone = True
            next_stats = now + STATS_S


def _warm_up() -> None:
    """Import and run the judge's code once, so the first real look is not slow."""
    from edgewise.shadow._judge import Judge
    from edgewise.store import ShadowPairRecord  # noqa: F401

    judge = Judge(["warm-up"], warmup=0, look_every=8)
    for i in range(8):
        judge.add("warm-up", production_ms=1.0 + i / 8, candidate_ms=1.0 + i / 9, agree=True)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="edgewise-shadow-recorder")
    p.add_argument("--control-fd", type=int, required=True)
    p.add_argument("--worker", action="append", default=[], help="SLOT:FD")
    p.add_argument("--cpus", default="", help="pin to these CPUs, e.g. 1 or 1-3")
    args = p.parse_args(argv)
    # The gateway ends the recorder after the last flush (see _worker.main); a Ctrl-C to
    # the process group lost every record not yet flushed (0 of 400 at a 5 s interval).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    pin_process(parse_cpus(args.cpus))
    try:
        os.nice(NICE)
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # threads inherit it
    except (OSError, AttributeError):
        pass
    control = socket.socket(fileno=args.control_fd)
    workers = {}
    for item in args.worker:
        slot, _, fd = item.partition(":")
        workers[int(slot)] = socket.socket(fileno=int(fd))
    _warm_up()
    try:
        return serve(control, workers)
    finally:
        control.close()
        for sock in workers.values():
            sock.close()


def wait_until(predicate: Callable[[], bool], *, timeout_s: float) -> bool:
    """Poll ``predicate`` until true or ``timeout_s`` (a helper for tests and the demo)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


if __name__ == "__main__":
    sys.exit(main())
