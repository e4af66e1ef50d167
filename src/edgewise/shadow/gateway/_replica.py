"""Replicas as the gateway sees them: a local worker process, or a remote OIP server.

``submit`` returns a future of a :class:`~edgewise.shadow.gateway._wire.Reply`; a
failure resolves it with :class:`ReplicaFailure`, whose ``outcome`` (``timeout``,
``error``, ``unavailable``) is what the paired record stores.
"""

from __future__ import annotations

import asyncio
import collections
import json
import mmap
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

from edgewise.errors import ConfigError, ModelError
from edgewise.shadow.gateway import _wire as wire
from edgewise.shadow.gateway._oip import (
    HEADER_LENGTH,
    OipError,
    TensorData,
    decode_infer_response,
    oip_datatype,
)

#: The shared counter a candidate's worker bumps per answered mirrored request.
_COUNTER = struct.Struct("<Q")


def _shared_counter() -> tuple[int, mmap.mmap]:
    """An fd (to pass to a worker) and our mapping of an 8-byte shared counter."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("edgewise-shadow-counter")
    else:  # pragma: no cover - not Linux
        fd, path = tempfile.mkstemp(prefix="edgewise-shadow-")
        os.unlink(path)
    os.ftruncate(fd, _COUNTER.size)
    return fd, mmap.mmap(fd, _COUNTER.size)


class ReplicaFailure(Exception):
    """A replica did not answer a request: ``outcome`` says how."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


class _WorkerProtocol(asyncio.Protocol):
    def __init__(self, replica: WorkerReplica) -> None:
        self.replica = replica
        self.buf = bytearray()

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        size_of = wire.LEN.size
        while len(buf) >= size_of:
            (n,) = wire.LEN.unpack_from(buf)
            if len(buf) < size_of + n:
                break
            frame = bytes(buf[size_of : size_of + n])
            del buf[: size_of + n]
            self.replica._on_reply(wire.decode_reply(frame, keep_raw=True))

    def connection_lost(self, exc: Exception | None) -> None:
        self.replica._on_lost()


class WorkerReplica:
    """A model in its own worker process, reached over a Unix socket pair.

    >>> replica = WorkerReplica(name="production", model="m.onnx")   # doctest: +SKIP
    >>> await replica.start()                                          # doctest: +SKIP
    """

    kind = "worker"

    def __init__(
        self,
        *,
        name: str,
        model: str,
        cpus: Sequence[int] = (),
        threads: int | None = None,
        nice: int = 0,
        max_write_buffer_bytes: int = 64 << 20,
        recorder: socket.socket | None = None,
    ) -> None:
        self.name = name
        #: The worker's end of its socket to the recorder (candidates only).
        self.recorder = recorder
        self._counter: mmap.mmap | None = None
        self.mirrored_sent = 0
        #: Send times (monotonic s) of mirrored copies not known to be answered.
        self._mirror_times: collections.deque[float] = collections.deque()
        self.nice = nice
        self.model = model
        self.cpus = tuple(cpus)
        self.threads = threads
        self.max_write_buffer_bytes = max_write_buffer_bytes
        self.pid: int | None = None
        self.info: dict[str, Any] = {}
        self.alive = False
        self.stalled = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._transport: asyncio.Transport | None = None
        self._fd = -1  # our own handle on the socket, for writes that go out now
        self._pending: dict[int, tuple[asyncio.Future[wire.Reply], asyncio.TimerHandle | None]] = {}
        self._ready: asyncio.Future[wire.Reply] | None = None
        self._timeouts_in_a_row = 0
        self.sent = 0
        self._stopping = False
        #: Called (on the event loop) when the worker dies on its own, not by ``stop``.
        self.on_lost: Callable[[WorkerReplica], None] | None = None

    @property
    def in_flight(self) -> int:
        """Requests sent and not answered yet (mirrored ones included)."""
        done = _COUNTER.unpack_from(self._counter)[0] if self._counter is not None else 0
        return len(self._pending) + self.mirrored_sent - done

    def overdue(self, timeout_s: float) -> bool:
        """Whether the oldest unanswered mirrored copy is older than ``timeout_s``."""
        times = self._mirror_times
        done = _COUNTER.unpack_from(self._counter)[0] if self._counter is not None else 0
        for _ in range(len(times) - (self.mirrored_sent - done)):
            times.popleft()
        return bool(times) and time.monotonic() - times[0] > timeout_s

    def clone(self) -> WorkerReplica:
        """A fresh, unstarted replica with the same model and settings (for a restart)."""
        return WorkerReplica(
            name=self.name,
            model=self.model,
            cpus=self.cpus,
            threads=self.threads,
            nice=self.nice,
            max_write_buffer_bytes=self.max_write_buffer_bytes,
        )

    async def start(self, *, timeout_s: float = 120.0) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        cmd = [
            sys.executable,
            "-m",
            "edgewise.shadow.gateway._worker",
            "--fd",
            str(theirs.fileno()),
            "--model",
            self.model,
            "--name",
            self.name,
            "--cpus",
            ",".join(map(str, self.cpus)),
            "--threads",
            str(self.threads or 0),
            "--nice",
            str(self.nice),
        ]
        fds = [theirs.fileno()]
        counter_fd = -1
        if self.recorder is not None:
            counter_fd, self._counter = _shared_counter()
            fds += [self.recorder.fileno(), counter_fd]
            cmd += ["--recorder-fd", str(self.recorder.fileno()), "--counter-fd", str(counter_fd)]
        try:
            self._proc = subprocess.Popen(cmd, pass_fds=fds, stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
            if self.recorder is not None:
                self.recorder.close()  # the worker holds it now
                os.close(counter_fd)
        self.pid = self._proc.pid
        self._ready = loop.create_future()
        if self.recorder is not None:  # a shadow: its copies are written by ``_write``
            self._fd = os.dup(ours.fileno())
        self._transport, _ = await loop.create_unix_connection(
            lambda: _WorkerProtocol(self), sock=ours
        )
        if self._fd >= 0:
            os.set_blocking(self._fd, False)
        self.alive = True
        try:
            reply = await asyncio.wait_for(asyncio.shield(self._ready), timeout_s)
        except TimeoutError:
            await self.stop(drain_s=0)
            raise ModelError(
                f"replica {self.name}: worker not ready after {timeout_s:g} s"
            ) from None
        except ReplicaFailure as exc:
            await self.stop(drain_s=0)
            raise ModelError(f"replica {self.name}: {exc}") from None
        if reply.status == wire.ERROR:
            await self.stop(drain_s=0)
            raise ModelError(f"replica {self.name}: {reply.message}")
        self.info = dict(reply.info or {})

    def _on_reply(self, reply: wire.Reply) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(reply)
            return
        slot = self._pending.pop(reply.seq, None)
        self._timeouts_in_a_row = 0
        self.stalled = False
        if slot is None:
            return  # answered after its timeout
        fut, timer = slot
        if timer is not None:
            timer.cancel()
        if fut.done():
            return
        if reply.status == wire.OK:
            fut.set_result(reply)
        else:
            fut.set_exception(ReplicaFailure("error", reply.message or "replica error"))

    def _on_lost(self) -> None:
        self.alive = False
        self._close_fd()
        err = ReplicaFailure("unavailable", f"replica {self.name} worker exited")
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(err)
        pending, self._pending = self._pending, {}
        for fut, timer in pending.values():
            if timer is not None:
                timer.cancel()
            if not fut.done():
                fut.set_exception(err)
        if self.on_lost is not None and not self._stopping and self.info:
            self.on_lost(self)

    def _on_timeout(self, seq: int, timeout_s: float) -> None:
        slot = self._pending.pop(seq, None)
        if slot is None:
            return
        self._timeouts_in_a_row += 1
        if self._timeouts_in_a_row >= 4:
            self.stalled = True  # stop feeding a replica that answers nothing
        fut, _ = slot
        if not fut.done():
            fut.set_exception(ReplicaFailure("timeout", f"no answer in {timeout_s * 1e3:g} ms"))

    def submit(
        self,
        seq: int,
        tensors: Sequence[TensorData],
        *,
        parts: list[bytes | memoryview] | None = None,
        timeout_s: float | None = None,
        **_: Any,
    ) -> asyncio.Future[wire.Reply]:
        """Send one request; the future resolves to its reply or a ReplicaFailure."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[wire.Reply] = loop.create_future()
        transport = self._transport
        if not self.alive or transport is None or transport.is_closing():
            fut.set_exception(ReplicaFailure("unavailable", f"replica {self.name} is down"))
            return fut
        if self.stalled or transport.get_write_buffer_size() > self.max_write_buffer_bytes:
            fut.set_exception(
                ReplicaFailure("unavailable", f"replica {self.name} is not answering")
            )
            return fut
        timer = None
        if timeout_s is not None:
            timer = loop.call_later(timeout_s, self._on_timeout, seq, timeout_s)
        self._pending[seq] = (fut, timer)
        self.sent += 1
        parts = parts if parts is not None else wire.encode_request(seq, tensors)
        # Left to the transport, so it goes out at the end of the loop turn, after the
        # mirrored copies (``mirror`` writes at once): written at once, it woke
        # production's worker on the gateway's CPU, which preempted the gateway before
        # the copies went out, and they reached the shadows a compute time later (an
        # identical candidate's p99 ~2.1 vs ~1.2 ms over 6 A/A runs each; docs/shadow.md).
        transport.writelines(wire.stamped(parts, sent_ns=time.perf_counter_ns()))
        return fut

    def mirror(self, parts: list[bytes | memoryview]) -> bool:
        """Send a mirrored copy, answered to the recorder; False if the worker is down.

        Nothing comes back here: the worker answers the recorder and bumps the shared
        counter that :attr:`in_flight` reads.
        """
        transport = self._transport
        if not self.alive or transport is None or transport.is_closing() or self.stalled:
            return False
        if transport.get_write_buffer_size() > self.max_write_buffer_bytes:
            return False
        self.sent += 1
        self.mirrored_sent += 1
        self._mirror_times.append(time.monotonic())
        self._write(
            transport,
            wire.stamped(parts, sent_ns=time.perf_counter_ns(), flags=wire.TO_RECORDER),
        )
        return True

    def _write(self, transport: asyncio.Transport, parts: list[bytes | memoryview]) -> None:
        """Write a mirrored copy now, so copies leave in the order they are written.

        uvloop queues a small write to the end of the loop iteration and then
        flushes the queued sockets in an order of its own: the mirrored copies of
        one request reached the shadow workers in the same order every time,
        whatever order the gateway wrote them in (on a shared CPU the copy that
        arrives second preempts the first, so one worker was always slower;
        docs/shadow.md, "A/A"). When nothing is queued for this socket, the frame
        goes out with one ``writev``; what the socket does not take goes through
        the transport, behind it.
        """
        if self._fd < 0 or transport.get_write_buffer_size():
            transport.writelines(parts)
            return
        try:
            n = os.writev(self._fd, parts)
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError:  # the worker is gone: the transport reports it
            transport.writelines(parts)
            return
        size = sum(p.nbytes if isinstance(p, memoryview) else len(p) for p in parts)
        if n < size:
            transport.write(b"".join(parts)[n:])

    def _close_fd(self) -> None:
        # Before the transport: the worker sees EOF only when both are closed.
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    async def drain(self, *, timeout_s: float) -> None:
        """Wait until every submitted request has been answered (or ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        while self.in_flight > 0 and self.alive and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    async def stop(self, *, drain_s: float = 5.0) -> None:
        """Let in-flight requests finish (up to ``drain_s``), then end the worker."""
        self._stopping = True
        if drain_s > 0 and self.alive:
            await self.drain(timeout_s=drain_s)
        self._close_fd()
        if self._transport is not None:
            self._transport.close()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                await asyncio.wait_for(asyncio.to_thread(proc.wait), 3.0)
            except TimeoutError:
                proc.kill()
                await asyncio.to_thread(proc.wait)
        self.alive = False

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "pid": self.pid,
            "alive": self.alive and (self._proc is None or self._proc.poll() is None),
            "cpus": list(self.cpus),
            "in_flight": self.in_flight,
            "sent": self.sent,
        }


class HttpReplica:
    """An existing OIP server (proxy mode), timed on the gateway's clock around each call.

    A remote server does not report its own timing, so its latency is the round trip
    seen from the gateway: from sending the request to having the whole response.
    """

    kind = "url"

    def __init__(self, *, name: str, url: str, model_name: str) -> None:
        base, sep, rest = url.rstrip("/").partition("/v2/models/")
        self.name = name
        self.url = base
        self.model_name = rest.split("/")[0] if sep else model_name
        self.alive = False
        self.stalled = False
        self.pid: int | None = None
        self.info: dict[str, Any] = {}
        self._client: Any = None
        self._in_flight = 0
        self.sent = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def start(self, *, timeout_s: float = 30.0) -> None:
        import httpx

        try:
            self._client = httpx.AsyncClient(base_url=self.url, timeout=timeout_s)
        except httpx.InvalidURL as exc:
            raise ConfigError(f"replica {self.name}: bad URL {self.url!r}: {exc}") from None
        try:
            res = await self._client.get(f"/v2/models/{self.model_name}")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            await self._client.aclose()
            raise ConfigError(f"replica {self.name}: cannot reach {self.url}: {exc}") from None
        if res.status_code != 200:
            await self._client.aclose()
            raise ConfigError(
                f"replica {self.name}: {self.url} has no model {self.model_name!r} "
                f"(HTTP {res.status_code})"
            )
        try:
            metadata = res.json()
        except ValueError:  # an HTML page, say: not an OIP server
            await self._client.aclose()
            raise ConfigError(
                f"replica {self.name}: {self.url} answered its model metadata with something "
                "that is not JSON: is it an OIP v2 server?"
            ) from None
        self.info = {"metadata": metadata}
        self.alive = True

    def submit(
        self,
        seq: int,
        tensors: Sequence[TensorData],
        *,
        timeout_s: float | None = None,
        **_: Any,
    ) -> asyncio.Future[wire.Reply]:
        return asyncio.ensure_future(self._call(seq, tensors, timeout_s))

    async def _call(
        self, seq: int, tensors: Sequence[TensorData], timeout_s: float | None
    ) -> wire.Reply:
        import httpx

        inputs = [
            {
                "name": t.name,
                "datatype": oip_datatype(t.dtype),
                "shape": list(t.shape),
                "parameters": {"binary_data_size": t.nbytes},
            }
            for t in tensors
        ]
        header = json.dumps({"inputs": inputs, "parameters": {"binary_data_output": True}}).encode()
        body = b"".join([header, *(bytes(t.data) for t in tensors)])
        self._in_flight += 1
        self.sent += 1
        t0 = time.perf_counter_ns()
        try:
            res = await self._client.post(
                f"/v2/models/{self.model_name}/infer",
                content=body,
                headers={
                    HEADER_LENGTH: str(len(header)),
                    "content-type": "application/octet-stream",
                },
                timeout=timeout_s,
            )
            t1 = time.perf_counter_ns()
        except httpx.TimeoutException:
            raise ReplicaFailure("timeout", f"{self.url}: no answer in time") from None
        except httpx.HTTPError as exc:
            raise ReplicaFailure("unavailable", f"{self.url}: {exc}") from None
        finally:
            self._in_flight -= 1
        if res.status_code != 200:
            raise ReplicaFailure("error", f"{self.url}: HTTP {res.status_code} {res.text[:200]}")
        try:
            outputs = decode_infer_response(
                res.content, header_length=res.headers.get(HEADER_LENGTH)
            )
        except (OipError, ValueError, KeyError) as exc:
            raise ReplicaFailure("error", f"{self.url}: unreadable response: {exc}") from None
        return wire.Reply(seq, wire.OK, t1 - t0, 0, t1 - t0, 0, tuple(outputs))

    async def drain(self, *, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self._in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    async def stop(self, *, drain_s: float = 5.0) -> None:
        await self.drain(timeout_s=drain_s)
        if self._client is not None:
            await self._client.aclose()
        self.alive = False

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "url": self.url,
            "alive": self.alive,
            "in_flight": self.in_flight,
            "sent": self.sent,
        }


Replica = WorkerReplica | HttpReplica
