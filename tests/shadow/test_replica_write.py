"""``WorkerReplica._write``: frames go out now, whole and in order, even when the
socket takes only part of one (the rest queues in the transport, and what follows
queues behind it). On uvloop, the gateway's loop, where a plain transport write
would wait for the end of the loop iteration."""

from __future__ import annotations

import asyncio
import os
import select
import socket
from collections.abc import Coroutine
from typing import Any

import uvloop

from edgewise.shadow.gateway._replica import WorkerReplica


async def _pair() -> tuple[WorkerReplica, asyncio.Transport, socket.socket]:
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    replica = WorkerReplica(name="w", model="unused.onnx")
    replica._fd = os.dup(ours.fileno())
    transport, _ = await loop.create_unix_connection(asyncio.Protocol, sock=ours)
    os.set_blocking(replica._fd, False)
    return replica, transport, theirs


def _run(coro: Coroutine[Any, Any, None]) -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(coro)


async def _read_all(sock: socket.socket, n: int) -> bytes:
    loop = asyncio.get_running_loop()
    sock.setblocking(False)
    got = bytearray()
    while len(got) < n:
        got += await loop.sock_recv(sock, n - len(got))
    return bytes(got)


def test_frames_arrive_whole_and_in_order_when_the_socket_takes_part() -> None:
    async def main() -> None:
        replica, transport, theirs = await _pair()
        big = [b"A" * 10, memoryview(bytes(range(256)) * 4096)]  # 1 MiB: a partial write
        small = [b"B" * 7, b"C" * 5]
        replica._write(transport, big)
        assert transport.get_write_buffer_size() > 0, "the socket should not take 1 MiB"
        replica._write(transport, small)  # queued behind the rest of the first frame
        size = 10 + 256 * 4096 + 12
        data = await _read_all(theirs, size)
        assert data == b"A" * 10 + bytes(range(256)) * 4096 + b"B" * 7 + b"C" * 5
        replica._close_fd()
        transport.close()
        theirs.close()

    _run(main())


def test_a_small_frame_is_written_before_the_call_returns() -> None:
    async def main() -> None:
        replica, transport, theirs = await _pair()
        try:
            replica._write(transport, [b"hello ", memoryview(b"world")])
            # readable before the loop has had a turn
            assert select.select([theirs], [], [], 0)[0] == [theirs]
            assert theirs.recv(64) == b"hello world"
        finally:
            replica._close_fd()
            transport.abort()
            theirs.close()

    _run(main())
