"""A replica worker process: one model, optionally pinned to its own CPUs.

Started by the gateway as ``python -m edgewise.shadow.gateway._worker --fd N ...``
with one end of a Unix socket pair. A reader thread stamps each request with this
process's monotonic clock the moment it arrives; the main thread runs requests in
arrival order and stamps the reply when it is ready. The worker exits when the
gateway closes the socket (or dies).

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
import queue
import socket
import struct
import sys
import threading
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


def _reader(sock: socket.socket, inbox: queue.SimpleQueue[tuple[int, bytearray] | None]) -> None:
    clock = time.perf_counter_ns
    try:
        while True:
            head = _recv_exact(sock, wire.LEN.size)
            if head is None:
                break
            (size,) = wire.LEN.unpack(head)
            body = _recv_exact(sock, size)
            if body is None:
                break
            inbox.put((clock(), body))
    except OSError:
        pass
    inbox.put(None)


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
    inbox: queue.SimpleQueue[tuple[int, bytearray] | None] = queue.SimpleQueue()
    threading.Thread(target=_reader, args=(sock, inbox), daemon=True).start()
    clock = time.perf_counter_ns
    rng = np.random.default_rng(0)
    to_recorder = _ToRecorder(recorder, counter)
    while True:
        if to_recorder.backlog:
            try:
                item = inbox.get(timeout=0.002)
            except queue.Empty:
                to_recorder.flush()
                continue
        else:
            item = inbox.get()
        if item is None:
            return 0
        t_arrive, body = item
        t0 = clock()
        seq = flags = lag = 0
        try:
            seq, flags, lag, tensors = wire.decode_request(body)
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
                lag_ns=lag,
            )
        except Exception as exc:
            t3 = clock()
            parts = wire.encode_reply(
                seq,
                status=wire.ERROR,
                timings=(t3 - t_arrive, 0, 0, 0),
                message=str(exc)[:500],
                lag_ns=lag,
            )
        if flags & wire.TO_RECORDER:
            to_recorder.put(parts)
            continue
        try:
            _send(sock, parts)
        except OSError:
            return 0


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
