"""The shadow gateway: serve production, mirror to candidates, pair, judge, promote.

Only production's answer is returned. Each candidate gets a copy of a request
(``mirror_percent`` of them) right after production does, on the same event-loop
turn, unless its bounded queue of unanswered copies is full; then the copy is
dropped and counted. Production never waits for a candidate.

The gateway's own work per mirrored request is small on purpose: one write of the
copy to each candidate worker (which answers the recorder process, not us) and
one write of production's raw answer to the recorder. Pairing, output agreement,
the judge and the store writes all run in the recorder process
(:mod:`~edgewise.shadow.gateway._recorder`), off the gateway's GIL.

>>> gw = ShadowGateway(ShadowConfig(production="a.onnx", candidates=("b.onnx",)))  # doctest: +SKIP
>>> await gw.start(); body, headers = await gw.infer(raw, header_length=None)     # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import random
import socket
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgewise._checks import is_int
from edgewise._json import json_safe
from edgewise.errors import ConfigError, UnknownNameError
from edgewise.runtime import TensorSpec, load_model_info
from edgewise.shadow._verdict import Decision, Verdict
from edgewise.shadow.gateway import _wire as wire
from edgewise.shadow.gateway._config import ShadowConfig
from edgewise.shadow.gateway._cpus import pin_process
from edgewise.shadow.gateway._oip import (
    DATATYPES,
    OipError,
    encode_infer_response,
    model_metadata,
    parse_infer_request,
)
from edgewise.shadow.gateway._recording import RecorderLink, check_slots
from edgewise.shadow.gateway._replica import HttpReplica, Replica, ReplicaFailure, WorkerReplica
from edgewise.store import DeploymentRecord, ShadowRunRecord, Store

#: Production latencies kept for the status and metrics summaries.
WINDOW = 4096
#: Attempts to restart a production worker that died.
RESTART_ATTEMPTS = 5


@dataclass
class _Member:
    """Production or a candidate: its replica, identity and counters."""

    name: str
    replica: Replica
    source: str  # model path or URL
    sha256: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    state: str = "shadowing"  # shadowing | promoted | rolled back | production
    slot: int = -1  # the candidate's bit in the recorder's masks
    mirrored: int = 0
    dropped: int = 0

    def identity(self) -> dict[str, Any]:
        key = "url" if isinstance(self.replica, HttpReplica) else "path"
        return {"name": self.name, "sha256": self.sha256, key: self.source}


def _specs_from_metadata(doc: Any, key: str, url: str = "") -> tuple[TensorSpec, ...]:
    """A remote model's ``inputs`` or ``outputs`` from its OIP metadata; ConfigError for
    anything that is not OIP (an HTML page, a list, a tensor without a name...)."""

    def bad(why: str) -> ConfigError:
        return ConfigError(f"{url or 'the remote server'} is not an OIP v2 server: {why}")

    tensors = doc.get(key, []) if isinstance(doc, dict) else None
    if not isinstance(tensors, list):
        raise bad(f"its model metadata has no {key} list")
    specs = []
    for t in tensors:
        if not isinstance(t, dict) or not isinstance(t.get("name"), str):
            raise bad(f"a tensor of its {key} has no name")
        dtype = DATATYPES.get(t.get("datatype", ""))
        if dtype is None:
            raise ConfigError(f"remote tensor {t.get('name')!r} has unsupported datatype")
        dims = t.get("shape", [])
        if not isinstance(dims, list) or not all(is_int(d) for d in dims):
            raise bad(f"tensor {t['name']!r} has shape {dims!r}, not a list of integers")
        specs.append(
            TensorSpec(name=t["name"], dtype=dtype, shape=tuple(d if d >= 0 else "?" for d in dims))
        )
    return tuple(specs)


def _unique(name: str, taken: set[str]) -> str:
    out, k = name, 2
    while out in taken:
        out, k = f"{name}-{k}", k + 1
    taken.add(out)
    return out


class ShadowGateway:
    """Production plus shadow candidates behind one OIP v2 model name."""

    def __init__(self, config: ShadowConfig, *, store: Store | None = None) -> None:
        self.config = config
        self.store = store
        self.name = config.served_name()
        self.device = config.device or _device_name()
        self.production: _Member | None = None
        self.candidates: list[_Member] = []
        self.baseline: _Member | None = None  # production's twin in the shadow role
        self.retired: list[_Member] = []
        self.run_id: int | None = None
        self.recorder: RecorderLink | None = None
        self.requests = 0
        self.failed = 0
        self.rejected = 0
        self.restarts = 0
        self.events: list[dict[str, Any]] = []
        self.started_at = time.time()
        self._seq = itertools.count(1)
        self._mirror_acc = 0.0
        self._latencies: deque[float] = deque(maxlen=WINDOW)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timeout_s = config.candidate_timeout_ms / 1e3
        self._promoting = False
        self.start_error: BaseException | None = None

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        """Check the models, start every replica, open the run in the store."""
        cfg = self.config
        self._loop = asyncio.get_running_loop()
        pin_process(cfg.gateway_cpus)  # before the recorder starts: it inherits the pin
        taken: set[str] = {"production", "baseline"} if cfg.baseline else {"production"}
        members: list[_Member] = []
        prod_info = None
        if cfg.production is not None:
            info = prod_info = load_model_info(cfg.production)
            prod = _Member(
                name="production",
                replica=WorkerReplica(
                    name="production",
                    model=str(info.path),
                    cpus=cfg.production_cpus,
                    threads=cfg.threads,
                ),
                source=str(info.path),
                sha256=info.sha256,
                inputs=info.inputs,
                outputs=info.outputs,
                state="production",
            )
        else:
            url = str(cfg.production_url)
            prod = _Member(
                name="production",
                replica=HttpReplica(name="production", url=url, model_name=self.name),
                source=url,
                sha256=hashlib.sha256(url.encode()).hexdigest(),
                inputs=(),
                outputs=(),
                state="production",
            )
        check_slots(len(cfg.candidates) + len(cfg.candidate_urls) + cfg.baseline)
        recorder_ends: dict[int, socket.socket] = {}

        def shadow_worker(name: str, info: Any, cpus: tuple[int, ...], state: str) -> _Member:
            """A shadow replica in a worker process that answers the recorder."""
            slot = len(members)
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            recorder_ends[slot] = ours
            replica = WorkerReplica(
                name=name,
                model=str(info.path),
                cpus=cpus,
                threads=cfg.threads,
                nice=cfg.candidate_nice,
                recorder=theirs,
            )
            return _Member(
                name=name,
                replica=replica,
                source=str(info.path),
                sha256=info.sha256,
                inputs=info.inputs,
                outputs=info.outputs,
                state=state,
                slot=slot,
            )

        for i, path in enumerate(cfg.candidates):
            info = load_model_info(path)
            name = _unique(info.name, taken)
            members.append(shadow_worker(name, info, cfg.cpus_for(i), "shadowing"))
        for url in cfg.candidate_urls:
            name = _unique("candidate", taken)
            members.append(
                _Member(
                    name=name,
                    replica=HttpReplica(name=name, url=url, model_name=self.name),
                    source=url,
                    sha256=hashlib.sha256(url.encode()).hexdigest(),
                    inputs=(),
                    outputs=(),
                    slot=len(members),
                )
            )
        baseline = None
        if cfg.baseline and prod_info is not None:  # production's model, as a shadow
            cpus = cfg.baseline_cpus_or_default()
            baseline = shadow_worker("baseline", prod_info, cpus, "baseline")
        shadows = [*members, *([baseline] if baseline is not None else [])]
        link = None
        if members:
            link = RecorderLink(
                names={m.slot: m.name for m in shadows},
                workers=recorder_ends,
                on_verdict=self._on_verdict,
                on_stats=self._on_stats,
                cpus=cfg.recorder_cpus(),
            )
            await link.spawn()  # warms up while the workers load their models
        everyone = [prod, *shadows]
        results = await asyncio.gather(
            *(m.replica.start() for m in everyone), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            for m, r in zip(everyone, results, strict=True):
                if not isinstance(r, BaseException):
                    await m.replica.stop(drain_s=0)
            if link is not None:
                link.kill()
            raise errors[0]
        try:
            for m in everyone:
                if isinstance(m.replica, HttpReplica):
                    meta, url = m.replica.info["metadata"], m.replica.url
                    m.inputs = _specs_from_metadata(meta, "inputs", url)
                    m.outputs = _specs_from_metadata(meta, "outputs", url)
            for m in members:
                _check_compatible(prod, m)
        except ConfigError:
            for m in everyone:
                await m.replica.stop(drain_s=0)
            if link is not None:
                link.kill()
            raise
        self.production, self.candidates, self.baseline = prod, members, baseline
        if isinstance(prod.replica, WorkerReplica):
            prod.replica.on_lost = self._production_lost
        if link is None:
            return  # serving only: nothing to mirror, pair or judge
        if self.store is not None:
            self.run_id = await asyncio.to_thread(
                self.store.add_shadow_run,
                ShadowRunRecord(
                    name=self.name,
                    device=self.device,
                    production=prod.identity(),
                    candidates=[m.identity() for m in members],
                    settings=json_safe(cfg.to_dict()),
                ),
            )
        link.init(
            settings=cfg.judge_settings(),
            timeout_s=self._timeout_s,
            rel_tol=cfg.rel_tol,
            flush_interval_s=cfg.flush_interval_s,
            store=self.store,
            run_id=self.run_id,
            baseline=None if baseline is None else baseline.slot,
        )
        try:
            await link.wait_ready()
        except ConfigError:
            for m in everyone:
                await m.replica.stop(drain_s=0)
            link.kill()
            raise
        self.recorder = link

    async def stop(self) -> None:
        """Drain in-flight requests, stop every replica, flush the last records."""
        for task in list(self._tasks):
            await task
        members = [m for m in (self.production, *self._shadows()) if m is not None]
        for m in members:
            await m.replica.stop(drain_s=2.0)
        if self.recorder is not None:
            await self.recorder.stop()

    def _shadows(self) -> list[_Member]:
        """The replicas mirrored to: the candidates and the baseline, if any."""
        return [*self.candidates, *([self.baseline] if self.baseline is not None else [])]

    # -- serving -----------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        prod = self._prod()
        platform = "onnxruntime_onnx" if isinstance(prod.replica, WorkerReplica) else "proxy"
        return model_metadata(
            name=self.name, inputs=prod.inputs, outputs=prod.outputs, platform=platform
        )

    @property
    def ready(self) -> bool:
        return self.production is not None and self.production.replica.alive

    def _prod(self) -> _Member:
        if self.production is None:
            raise OipError("the gateway is not started", status=503)
        return self.production

    def _take_mirror(self) -> bool:
        self._mirror_acc += self.config.mirror_percent
        if self._mirror_acc >= 100.0:
            self._mirror_acc -= 100.0
            return True
        return False

    async def infer(
        self, body: bytes, *, header_length: str | None
    ) -> tuple[bytes, dict[str, str]]:
        """Answer one OIP infer request with production's outputs; mirror it."""
        prod = self._prod()
        try:
            req = parse_infer_request(
                body,
                header_length=header_length,
                inputs=prod.inputs,
                outputs=[o.name for o in prod.outputs],
            )
        except OipError:
            self.rejected += 1
            raise
        self.requests += 1
        seq = next(self._seq)
        parts = wire.encode_request(seq, req.inputs)
        fut = prod.replica.submit(seq, req.inputs, parts=parts)
        sent = down = 0
        lags: list[tuple[int, int]] = []  # (slot, lag): the recorder takes them in slot order
        # No copies once the recorder is gone: nothing would pair or judge them, and
        # the candidates' CPUs (often shared with production's) would run them for nothing.
        recording = self.recorder is not None and self.recorder.alive
        if self.candidates and recording and self._take_mirror():
            t_prod = time.perf_counter_ns()
            targets = [c for c in self.candidates if c.state == "shadowing"]
            base = self.baseline
            if base is not None and base.state == "baseline" and targets:
                targets.append(base)
            if len(targets) > 1:
                # On a shared CPU the order of the copies decides who waits for (or
                # is preempted by) whom: each request picks it at random, so no
                # shadow is favoured (they leave in this order: WorkerReplica._write).
                random.shuffle(targets)
            for cand in targets:
                replica = cand.replica
                if not replica.alive or replica.stalled:
                    cand.mirrored += 1
                    down |= 1 << cand.slot  # censored as unavailable: evidence, not overload
                    continue
                if replica.in_flight >= self.config.queue_size:
                    if isinstance(replica, WorkerReplica) and replica.overdue(self._timeout_s):
                        cand.mirrored += 1  # full of copies it never answered: evidence
                        down |= 1 << cand.slot
                    else:
                        cand.dropped += 1  # busy: overload, not evidence
                    continue
                cand.mirrored += 1
                lag = time.perf_counter_ns() - t_prod
                if isinstance(replica, WorkerReplica):
                    ok = replica.mirror(parts)
                else:
                    ok = self._proxy_mirror(cand, seq, req.inputs)
                if ok:
                    sent |= 1 << cand.slot
                    lags.append((cand.slot, lag))
                else:
                    down |= 1 << cand.slot
        try:
            reply = await fut
        except ReplicaFailure as exc:
            self.failed += 1
            raise OipError(
                f"production failed: {exc}", status=503 if exc.outcome == "unavailable" else 500
            ) from None
        self._latencies.append(reply.total_ns / 1e6)
        if (sent or down) and self.recorder is not None:
            self.recorder.production(
                seq,
                sent=sent,
                down=down,
                lags=[lag for _, lag in sorted(lags)],
                request_id=req.id,
                reply=reply,
            )
        return encode_infer_response(
            model_name=self.name, request_id=req.id, outputs=reply.outputs, requested=req.outputs
        )

    def _proxy_mirror(self, cand: _Member, seq: int, inputs: Any) -> bool:
        """Send a copy to a proxy-mode candidate; its answer goes on to the recorder."""
        replica = cand.replica
        if not replica.alive or replica.stalled:
            return False
        fut = replica.submit(seq, inputs, timeout_s=self._timeout_s)

        def done(f: asyncio.Future[wire.Reply]) -> None:
            if self.recorder is None:
                return
            try:
                self.recorder.candidate_reply(cand.slot, f.result())
            except ReplicaFailure as exc:
                self.recorder.candidate_failed(cand.slot, seq, exc.outcome)
            except asyncio.CancelledError:
                self.recorder.candidate_failed(cand.slot, seq, "unavailable")

        fut.add_done_callback(done)
        return True

    # -- production supervision --------------------------------------------------------
    def _production_lost(self, replica: WorkerReplica) -> None:
        """Production's worker died on its own: start a new one (requests get 503 meanwhile)."""
        prod = self.production
        if prod is None or prod.replica is not replica:
            return
        task = asyncio.ensure_future(self._restart_production(prod, replica))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _restart_production(self, prod: _Member, dead: WorkerReplica) -> None:
        for attempt in range(RESTART_ATTEMPTS):
            fresh = dead.clone()
            try:
                await fresh.start()
            except Exception:  # a broken start: wait and try again
                await asyncio.sleep(min(2.0**attempt, 10.0))
                continue
            await dead.stop(drain_s=0)
            if self.production is prod and prod.replica is dead:
                fresh.on_lost = self._production_lost
                prod.replica = fresh
                self.restarts += 1
            else:  # promoted away meanwhile
                await fresh.stop(drain_s=0)
            return

    # -- verdicts, promote, rollback ---------------------------------------------------
    def _on_stats(self, link: RecorderLink) -> None:
        """The recorder's counters arrived: stop feeding candidates that answer nothing."""
        for c in self._shadows():
            c.replica.stalled = c.name in link.stalled

    def _on_verdict(self, verdict: Verdict, generation: int) -> None:
        """A new look of the judge (on the event loop, from the recorder's message)."""
        if self._loop is not None and self.config.auto and verdict.final:
            self._loop.call_soon(self._auto_action, verdict, generation)

    def _auto_action(self, verdict: Verdict, generation: int) -> None:
        cand = next((c for c in self.candidates if c.name == verdict.candidate), None)
        if cand is None or cand.state != "shadowing" or self.recorder is None:
            return
        if verdict.verdict == Decision.PASS:
            if self._promoting or generation != self.recorder.generation:
                return  # judged against a production that is being, or has been, replaced
            self._promoting = True
            coro = self.promote(cand.name, by="auto")
        elif verdict.verdict == Decision.FAIL:
            coro = self.rollback(cand.name, by="auto")
        else:
            return  # INCONCLUSIVE: production stays; the candidate keeps shadowing
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _find(self, candidate: str | None) -> _Member:
        active = [c for c in self.candidates if c.state == "shadowing"]
        if candidate is None:
            if len(active) != 1:
                raise ConfigError(
                    f"name the candidate: {len(active)} are shadowing ({', '.join(c.name for c in active) or 'none'})"
                )
            return active[0]
        for c in active:
            if c.name == candidate:
                return c
        done = next((c for c in self.candidates if c.name == candidate), None)
        if done is not None:  # rolled back: known, but no longer a replica to act on
            raise ConfigError(
                f"candidate {candidate!r} was {done.state}; only a shadowing candidate can be "
                f"promoted or rolled back ({len(active)} shadowing"
                f"{': ' + ', '.join(c.name for c in active) if active else ''})"
            )
        raise UnknownNameError("candidate", candidate, [c.name for c in active])

    async def promote(self, candidate: str | None = None, *, by: str = "manual") -> dict[str, Any]:
        """Make a candidate production; in-flight requests finish on the old replica."""
        try:
            return await self._promote(candidate, by=by)
        finally:
            self._promoting = False

    async def _promote(self, candidate: str | None, *, by: str) -> dict[str, Any]:
        cand = self._find(candidate)
        verdict = self._verdict(cand.name)
        old = self._prod()
        cand.state = "promoted"
        self.candidates.remove(cand)
        self.production = cand  # every request from now on goes to the new replica
        if isinstance(cand.replica, WorkerReplica):
            cand.replica.on_lost = self._production_lost
        cand.state = "production"
        old.state = "retired"
        self.retired.append(old)
        if self.recorder is not None:
            self.recorder.reset([c.name for c in self.candidates if c.state == "shadowing"])
        base = self.baseline
        if base is not None and base.state == "baseline":
            base.state = "retired"  # it ran the old production's model
        event = await self._record("promote", cand, verdict, by=by)
        await old.replica.stop(drain_s=30.0)
        if base is not None:
            await base.replica.stop(drain_s=1.0)
        return event

    async def rollback(self, candidate: str | None = None, *, by: str = "manual") -> dict[str, Any]:
        """Stop shadowing a candidate and record why; production is untouched."""
        cand = self._find(candidate)
        verdict = self._verdict(cand.name)
        cand.state = "rolled back"
        event = await self._record("rollback", cand, verdict, by=by)
        await cand.replica.stop(drain_s=1.0)
        return event

    def _verdict(self, name: str) -> Verdict | None:
        return None if self.recorder is None else self.recorder.verdicts.get(name)

    async def _record(
        self, action: str, cand: _Member, verdict: Verdict | None, *, by: str
    ) -> dict[str, Any]:
        observed = production_ms = None
        percentile = None
        if verdict is not None and verdict.quantiles:
            top = verdict.quantiles[-1]
            observed, production_ms, percentile = (
                top.candidate_ms,
                top.production_ms,
                top.level * 100,
            )
        reason = f"{by} {action}: " + (verdict.reason if verdict is not None else "no verdict yet")
        predicted = await asyncio.to_thread(
            _predicted_ms, cand.source, self.device, percentile or 99.0
        )
        record = DeploymentRecord(
            event=action,
            model_name=Path(cand.source).stem
            if isinstance(cand.replica, WorkerReplica)
            else cand.name,
            model_sha256=cand.sha256,
            device=self.device,
            verdict=str(verdict.verdict) if verdict is not None else str(Decision.PENDING),
            reason=reason,
            source="shadow" if by == "auto" else "manual",
            percentile=percentile,
            predicted_ms=predicted,
            observed_ms=_finite(observed),
            run_id=self.run_id,
            detail={
                "candidate": cand.name,
                "production_ms": _finite(production_ms),
                "requests_used": verdict.requests_used if verdict is not None else 0,
                "rule": verdict.rule if verdict is not None else "",
                "by": by,
            },
        )
        event_id = None
        if self.store is not None:
            event_id = await asyncio.to_thread(self.store.add_deployment, record)
        event = {
            "id": event_id,
            "action": action,
            "candidate": cand.name,
            "by": by,
            "verdict": record.verdict,
            "reason": reason,
            "time": time.time(),
        }
        self.events.append(event)
        return event

    # -- status ------------------------------------------------------------------------
    def _baseline_status(self) -> dict[str, Any] | None:
        base = self.baseline
        if base is None:
            return None
        counts = self.recorder.counts_of(base.name) if self.recorder is not None else {}
        return {
            "model": base.source,
            "state": base.state,
            "mirrored": base.mirrored,
            "paired": counts.get("paired", 0),
            "censored": counts.get("censored", 0),
            "dropped": base.dropped,
            "replica": base.replica.describe(),
        }

    def status(self) -> dict[str, Any]:
        prod = self._prod()
        lat = np.fromiter(self._latencies, dtype=np.float64)
        rec = self.recorder
        verdicts = rec.verdicts if rec is not None else {}
        out_c = []
        for c in [*self.candidates]:
            v = verdicts.get(c.name)
            counts = rec.counts_of(c.name) if rec is not None else {}
            out_c.append(
                {
                    "name": c.name,
                    "model": c.source,
                    "sha256": c.sha256,
                    "state": c.state,
                    "mirrored": c.mirrored,
                    "paired": counts.get("paired", 0),
                    "censored": counts.get("censored", 0),
                    "dropped": c.dropped,
                    "outcomes": dict(counts.get("outcomes", {})),
                    "disagreements": counts.get("disagreements", 0),
                    "verdict": str(v.verdict) if v is not None else str(Decision.PENDING),
                    "rule": v.rule if v is not None else "",
                    "final": bool(v.final) if v is not None else False,
                    "reason": v.reason if v is not None else "",
                    "replica": c.replica.describe(),
                }
            )
        return {
            "name": self.name,
            "device": self.device,
            "run_id": self.run_id,
            "production": {
                "name": prod.name if prod.name != "production" else Path(prod.source).stem,
                "model": prod.source,
                "sha256": prod.sha256,
                "replica": prod.replica.describe(),
                "restarts": self.restarts,
                "p50_ms": float(np.percentile(lat, 50)) if lat.size else None,
                "p99_ms": float(np.percentile(lat, 99)) if lat.size else None,
            },
            "requests": self.requests,
            "failed": self.failed,
            "rejected": self.rejected,
            "mirror_percent": self.config.mirror_percent,
            "auto": self.config.auto,
            "records_written": self.recorder.written if self.recorder else 0,
            # None when there is nothing to pair; False when the recorder died: no more
            # pairs, records or verdicts until the gateway restarts
            "recorder_alive": self.recorder.alive if self.recorder else None,
            # "idle" (SCHED_IDLE) until starved by busy CPUs, then "normal" (nice 10)
            "recorder_priority": self.recorder.priority if self.recorder else None,
            "candidates": out_c,
            "baseline": self._baseline_status(),
            "events": list(self.events),
            "uptime_s": time.time() - self.started_at,
        }


def _finite(x: float | None) -> float | None:
    return x if x is not None and np.isfinite(x) else None


def _check_compatible(prod: _Member, cand: _Member) -> None:
    """Refuse a candidate that could not take production's requests, or whose answers
    clients could not read: other input names, dtypes, ranks or fixed sizes, other output
    names or dtypes. (A hunt promoted one whose output was renamed, and one that wanted
    [1, 512] where production took [1, 256]: every request failed after the swap.)"""
    want = {s.name: s.dtype for s in prod.inputs}
    got = {s.name: s.dtype for s in cand.inputs}
    if want != got:
        raise ConfigError(
            f"candidate {cand.name} takes inputs {got} but production takes {want}: "
            "a shadow candidate must accept production's requests"
        )
    theirs = {s.name: s for s in cand.inputs}
    for spec in prod.inputs:
        other = theirs[spec.name]
        if spec.shape and other.shape and not _shapes_agree(spec.shape, other.shape):
            raise ConfigError(
                f"candidate {cand.name} takes {spec.name} {other.shape_str()} but production "
                f"takes {spec.shape_str()}: a shadow candidate must accept production's requests"
            )
    want = {s.name: s.dtype for s in prod.outputs}
    got = {s.name: s.dtype for s in cand.outputs}
    if want != got:
        raise ConfigError(
            f"candidate {cand.name} answers {got} but production answers {want}: clients "
            "would not find their outputs after a promotion"
        )


def _shapes_agree(a: tuple[int | str, ...], b: tuple[int | str, ...]) -> bool:
    """Same rank, and no dimension fixed to different sizes (a named or unknown
    dimension takes any size)."""
    return len(a) == len(b) and all(
        not (isinstance(x, int) and isinstance(y, int)) or x == y for x, y in zip(a, b, strict=True)
    )


def _device_name() -> str:
    from edgewise.profile._fingerprint import default_device_name

    return default_device_name()


def _predicted_ms(source: str, device: str, percentile: float) -> float | None:
    """The predictor's latency for ``source`` on ``device`` (None when there is none)."""
    from edgewise.deploy import predicted_latency
    from edgewise.errors import EdgewiseError

    if not Path(source).is_file():
        return None  # a remote (proxied) model: nothing to featurize
    try:
        interval = predicted_latency(source, device=device, percentile=percentile)
    except EdgewiseError:  # an unreadable predictor must not block a promotion
        return None
    return None if interval is None else interval[0]
