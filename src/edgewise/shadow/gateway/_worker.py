"""A replica worker process: one model, optionally pinned to its own CPUs.

Started by the gateway as ``python -m edgewise.shadow.gateway._worker --fd N ...``
with one end of a Unix socket pair. One thread reads a request, runs it and answers,
in arrival order. The worker exits when the gateway closes the socket (or dies).

**When a request reached the worker.** If the worker was idle, it is the moment its
read returned, on this process's monotonic clock. If the worker was busy with an
earlier request when the gateway wrote this one, the request waited in the socket
from the gateway's write (``sent_ns`` in the frame, on the same ``CLOCK_MONOTONIC``:
on Linux one clock serves every process of the host), so its time counts from then
and the queueing is not lost. Why not a reader thread that stamps arrivals while the
main thread works: handing each request from one thread to the other put a thread
wake-up between the stamp and the start of the work, and on a pinned CPU shared with
other work that wake-up sometimes waited milliseconds. An identical candidate's p99
on mlp-tiny was 1.2-2.6 ms against production's 0.25-0.48 ms, all of the excess
between the stamp and the start, and it was judged FAIL; with one thread the two
matched (see docs/shadow.md, "A/A").

A candidate's worker also has a socket to the recorder process (``--recorder-fd``)
and an 8-byte shared counter (``--counter-fd``): a mirrored request (flagged
``TO_RECORDER``) is answered to the recorder, never to the gateway, and then the
counter of answered mirrored requests goes up. The gateway reads that counter to
bound its queue, so it never handles a candidate's answer itself.

Test-only fault injection (never read unless set): ``EDGEWISE_SHADOW_FAULT`` holds
comma-separated ``REPLICA=MODE[:ARG]`` entries, e.g. ``candidate=slow:10``. Modes:
``slow:F`` (F times slower: sleep (F-1) x compute), ``garbage`` (random outputs of
the right shape), ``raise`` (every request fails), ``hang`` (never answers).
"""

from __future__ import annotations

import argparse
import collections
import mmap
import os
import select
import signal
import socket
import struct
import sys
import time
from collections.abc import Sequence

import numpy as np

from edgewise.shadow.gateway import _wire as wire
from edgewise.shadow.gateway._cpus import parse_cpus, pin_process
from edgewise.shadow.gateway._oip import TensorData

FAULT_ENV = "EDGEWISE_SHADOW_FAULT"


def _fault(name: str) -> tuple[str, float]:
    for entry in os.environ.get(FAULT_ENV, "").split(","):
        who, sep, what = entry.strip().partition("=")
        if sep and who == name:
            mode, _, arg = what.partition(":")
            return mode, float(arg or 0)
    return "", 0.0


def _recv_exact(sock: socket.socket, n: int) -> bytearray | None:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:])
        if k == 0:
            return None
        got += k
    return buf


def _send(sock: socket.socket, parts: Sequence[bytes | memoryview]) -> None:
    sock.sendall(b"".join(parts))


#: How often a worker with answers the recorder's socket did not take retries them.
FLUSH_S = 0.002


def _recv_frame(sock: socket.socket) -> bytearray | None:
    """The next frame's body, or None at EOF (or on a socket error)."""
    try:
        head = _recv_exact(sock, wire.LEN.size)
        return None if head is None else _recv_exact(sock, wire.LEN.unpack(head)[0])
    except OSError:
        return None


#: The shared counter of answered mirrored requests (u64 at offset 0).
COUNTER = struct.Struct("<Q")
#: Socket buffer asked for towards the recorder (bursts never block the worker).
RECORDER_SNDBUF = 4 << 20


class _ToRecorder:
    """Answers to mirrored requests, sent to the recorder without ever blocking.

    A slow recorder must not slow the candidate down (its timings would suffer):
    what the socket does not take waits here and goes out between requests. The
    shared counter counts an answer once it is wholly handed over, so the backlog is
    bounded by the gateway's queue size (the gateway drops copies past it).
    """

    def __init__(self, sock: socket.socket | None, counter: mmap.mmap | None) -> None:
        self.sock = sock
        self.counter = counter
        self.backlog: collections.deque[memoryview] = collections.deque()
        self.done = 0
        if sock is not None:
            sock.setblocking(False)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, RECORDER_SNDBUF)
            except OSError:
                pass

    def put(self, parts: Sequence[bytes | memoryview]) -> None:
        self.backlog.append(memoryview(b"".join(parts)))
        self.flush()

    def flush(self) -> None:
        while self.backlog:
            view = self.backlog[0]
            if self.sock is not None:
                try:
                    n = self.sock.send(view)
                except BlockingIOError:
                    return
                except OSError:
                    self.sock = None  # the recorder is gone: keep answering, record nothing
                    continue
                if n < view.nbytes:
                    self.backlog[0] = view[n:]
                    return
            self.backlog.popleft()
            self.done += 1
            if self.counter is not None:
                COUNTER.pack_into(self.counter, 0, self.done)


def serve(
    sock: socket.socket,
    *,
    model: str,
    name: str,
    cpus: tuple[int, ...],
    threads: int | None,
    recorder: socket.socket | None = None,
    counter: mmap.mmap | None = None,
) -> int:
    """Load the model, announce readiness, then answer requests until EOF."""
    from edgewise.errors import EdgewiseError
    from edgewise.runtime import BackendConfig, load_model_info, open_backend

    try:
        pin_process(cpus)
        info = load_model_info(model)
        backend = open_backend(info, config=BackendConfig(threads=threads or max(1, len(cpus))))
    except (EdgewiseError, OSError, ValueError) as exc:
        _send(sock, wire.encode_reply(0, status=wire.ERROR, message=str(exc)))
        return 1
    outputs = [o.name for o in info.outputs]
    mode, arg = _fault(name)
    _send(
        sock,
        wire.encode_reply(
            0,
            status=wire.READY,
            info={"pid": os.getpid(), "name": name, "model": info.to_dict(), "cpus": list(cpus)},
        ),
    )
    clock = time.perf_counter_ns
    rng = np.random.default_rng(0)
    to_recorder = _ToRecorder(recorder, counter)

    def run(body: bytearray, t_read: int, t_free: int) -> bool:
        """Answer one request; False if the gateway is gone."""
        t0 = clock()
        seq = flags = 0
        t_arrive = t_read
        try:
            seq, flags, sent, tensors = wire.decode_request(body)
            if 0 < sent < t_free:  # written while we were busy: it waited from then
                t_arrive = sent
            feeds = {t.name: t.array() for t in tensors}
            t1 = clock()
            if mode == "hang":
                time.sleep(3600)
            results = backend.run(feeds)
            t2 = clock()
            if mode == "slow" and arg > 1:
                time.sleep((t2 - t1) * (arg - 1) / 1e9)
                t2 = clock()
            if mode == "raise":
                raise RuntimeError("injected fault: raise")
            if mode == "garbage":
                results = [rng.standard_normal(r.shape).astype(r.dtype) for r in results]
            out = [TensorData.from_array(n, r) for n, r in zip(outputs, results, strict=True)]
            t3 = clock()
            parts = wire.encode_reply(
                seq,
                status=wire.OK,
                timings=(t3 - t_arrive, t1 - t0, t2 - t1, t3 - t2),
                tensors=out,
            )
        except Exception as exc:
            t3 = clock()
            parts = wire.encode_reply(
                seq,
                status=wire.ERROR,
                timings=(t3 - t_arrive, 0, 0, 0),
                message=str(exc)[:500],
            )
        if flags & wire.TO_RECORDER:
            to_recorder.put(parts)
            return True
        try:
            _send(sock, parts)
        except OSError:
            return False
        return True

    readable = select.poll()
    readable.register(sock, select.POLLIN)
    t_free = 0  # when the previous request was answered
    while True:
        if to_recorder.backlog and not readable.poll(FLUSH_S * 1000):
            to_recorder.flush()
            continue
        body = _recv_frame(sock)
        t_read = clock()
        if body is None or not run(body, t_read, t_free):
            return 0
        t_free = clock()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="edgewise-shadow-worker")
    p.add_argument("--fd", type=int, required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--cpus", default="")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--nice", type=int, default=0)
    p.add_argument("--recorder-fd", type=int, default=-1)
    p.add_argument("--counter-fd", type=int, default=-1)
    args = p.parse_args(argv)
    # The gateway stops its workers (it drains them, then closes their socket); a Ctrl-C
    # or SIGTERM sent to the whole process group must not kill one first, mid-request.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    if args.nice:
        os.nice(args.nice)
    sock = socket.socket(fileno=args.fd)
    recorder = socket.socket(fileno=args.recorder_fd) if args.recorder_fd >= 0 else None
    counter = mmap.mmap(args.counter_fd, COUNTER.size) if args.counter_fd >= 0 else None
    try:
        return serve(
            sock,
            model=args.model,
            name=args.name,
            cpus=parse_cpus(args.cpus),
            threads=args.threads or None,
            recorder=recorder,
            counter=counter,
        )
    finally:
        sock.close()
        if recorder is not None:
            recorder.close()


if __name__ == "__main__":
    sys.exit(main())
