"""The replica worker process on its own: arrival times, queueing, order and EOF.

Driven over a real socket pair, as the gateway drives it, with a real ONNX Runtime
session; the ``slow`` fault (a sleep after the real compute) makes each request long
enough that the ones sent behind it must queue.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from edgewise.shadow.gateway import _wire as wire
from edgewise.shadow.gateway._oip import TensorData
from edgewise.shadow.gateway._worker import FAULT_ENV


def _start(model: Path, fault: str = "") -> tuple[subprocess.Popen[bytes], socket.socket]:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    env = {**os.environ, FAULT_ENV: fault} if fault else dict(os.environ)
    cmd = [sys.executable, "-m", "edgewise.shadow.gateway._worker", "--fd", str(theirs.fileno())]
    cmd += ["--model", str(model), "--name", "production"]
    proc = subprocess.Popen(cmd, pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL)
    theirs.close()
    ours.settimeout(60)
    assert _read(ours).status == wire.READY
    return proc, ours


def _read(sock: socket.socket) -> wire.Reply:
    def exact(n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            assert chunk, "the worker closed the socket"
            buf += chunk
        return buf

    (size,) = wire.LEN.unpack(exact(wire.LEN.size))
    return wire.decode_reply(exact(size))


def _request(seq: int) -> bytes:
    """A request frame stamped as the gateway stamps it when it writes it."""
    x = np.full((1, 256), seq, dtype=np.float32)
    parts = wire.encode_request(seq, [TensorData.from_array("x", x)])
    return b"".join(bytes(p) for p in wire.stamped(parts, sent_ns=time.perf_counter_ns()))


def test_requests_that_queue_are_timed_from_their_arrival(model_path) -> None:  # type: ignore[no-untyped-def]
    proc, sock = _start(model_path("mlp-tiny"), fault="production=slow:400")
    try:
        sock.sendall(_request(1))
        first = _read(sock)  # warm: the session's first run is slower
        assert first.status == wire.OK
        sock.sendall(b"".join(_request(s) for s in (2, 3, 4)))  # all arrive at once
        replies = [_read(sock) for _ in range(3)]
    finally:
        sock.close()
        proc.wait(30)
    assert [r.seq for r in replies] == [2, 3, 4]  # run in arrival order
    assert all(r.status == wire.OK for r in replies)
    work = [r.io_in_ns + r.compute_ns + r.io_out_ns for r in replies]
    assert min(work) > 5e6  # the slow fault makes every request take milliseconds
    # The third arrived with the others, so it waited for both before it: its total
    # counts that wait from when it was written (a stamp taken when the worker picked
    # it up would leave the wait out).
    for k, r in enumerate(replies):
        assert r.total_ns >= 0.9 * sum(work[: k + 1]), (k, r.total_ns, work)


def test_the_worker_answers_what_it_read_then_exits_at_eof(model_path) -> None:  # type: ignore[no-untyped-def]
    proc, sock = _start(model_path("mlp-tiny"), fault="production=slow:100")
    try:
        sock.sendall(b"".join(_request(s) for s in (1, 2, 3)))
        sock.shutdown(socket.SHUT_WR)  # the gateway is done sending
        replies = [_read(sock) for _ in range(3)]
        assert proc.wait(30) == 0
    finally:
        sock.close()
        if proc.poll() is None:
            proc.kill()
    assert [(r.seq, r.status) for r in replies] == [(1, wire.OK), (2, wire.OK), (3, wire.OK)]
    # Each answer is production's output for its own input (no mix-up across threads).
    outs = [np.frombuffer(r.outputs[0].data, dtype=np.float32) for r in replies]
    assert not np.allclose(outs[0], outs[1]) and not np.allclose(outs[1], outs[2])
