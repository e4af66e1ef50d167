"""The frames between the gateway and its replica workers (a Unix socket pair).

Every frame is ``u32 length`` followed by ``length`` bytes. A request frame is
``u64 seq | u32 meta_len | meta JSON | tensor bytes``; a reply frame is
``u64 seq | u8 status | 4 x u64 timings (ns) | u32 meta_len | meta | tensor bytes``.
Meta lists ``[name, dtype, shape, offset, nbytes]`` per tensor; each tensor starts
on a 64-byte boundary of the frame body, so the worker's ``numpy.frombuffer``
views are aligned and nothing is copied on the way in.

>>> parts = encode_request(7, [])
>>> seq, tensors = decode_request(b"".join(bytes(p) for p in parts)[4:])
>>> seq, tensors
(7, [])
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from edgewise.shadow.gateway._oip import TensorData

LEN = struct.Struct("<I")
REQ = struct.Struct("<QI")
REPLY = struct.Struct("<QBQQQQI")
ALIGN = 64
_PAD = bytes(ALIGN)

OK, ERROR, READY = 0, 1, 2


def _layout(head_size: int, tensors: Sequence[TensorData]) -> tuple[bytes, list[tuple[int, int]]]:
    """Meta JSON (padded) and (offset, pad-before) per tensor, offsets from the data start."""
    offsets: list[int] = []
    pos = 0
    for t in tensors:
        pos = -(-pos // ALIGN) * ALIGN
        offsets.append(pos)
        pos += t.nbytes
    meta = orjson.dumps(
        [
            [t.name, t.dtype, list(t.shape), off, t.nbytes]
            for t, off in zip(tensors, offsets, strict=True)
        ]
    )
    total_head = head_size + len(meta)
    meta += b" " * (-total_head % ALIGN)
    pads, prev_end = [], 0
    for t, off in zip(tensors, offsets, strict=True):
        pads.append((off, off - prev_end))
        prev_end = off + t.nbytes
    return meta, pads


def _parts(
    head: bytes, meta: bytes, tensors: Sequence[TensorData], pads: list[tuple[int, int]]
) -> list[bytes | memoryview]:
    parts: list[bytes | memoryview] = [b"", head, meta]
    for t, (_, pad) in zip(tensors, pads, strict=True):
        if pad:
            parts.append(_PAD[:pad])
        parts.append(t.data)
    size = sum(len(p) if isinstance(p, bytes) else p.nbytes for p in parts)
    parts[0] = LEN.pack(size)
    return parts


def encode_request(seq: int, tensors: Sequence[TensorData]) -> list[bytes | memoryview]:
    """The parts of one request frame (tensor data is referenced, not copied)."""
    meta, pads = _layout(REQ.size, tensors)
    return _parts(REQ.pack(seq, len(meta)), meta, tensors, pads)


def _tensors(body: memoryview, start: int, meta: bytes | memoryview) -> list[TensorData]:
    out = []
    for name, dtype, shape, off, nbytes in orjson.loads(meta):
        a = start + off
        out.append(
            TensorData(name=name, dtype=dtype, shape=tuple(shape), data=body[a : a + nbytes])
        )
    return out


def decode_request(body: bytes | bytearray | memoryview) -> tuple[int, list[TensorData]]:
    """``(seq, tensors)`` of a request frame body (without its length prefix)."""
    view = memoryview(body)
    seq, meta_len = REQ.unpack_from(view)
    start = REQ.size + meta_len
    return seq, _tensors(view, start, view[REQ.size : start])


@dataclass(frozen=True)
class Reply:
    """A replica's answer to one request, timed on the replica's own monotonic clock.

    ``total_ns`` runs from when the request reached the replica (including any wait
    in its queue) to when its response was ready; the other three split the work.
    """

    seq: int
    status: int
    total_ns: int
    io_in_ns: int
    compute_ns: int
    io_out_ns: int
    outputs: tuple[TensorData, ...] = ()
    message: str = ""
    info: dict[str, object] | None = None


def encode_reply(
    seq: int,
    *,
    status: int,
    timings: tuple[int, int, int, int] = (0, 0, 0, 0),
    tensors: Sequence[TensorData] = (),
    message: str = "",
    info: dict[str, object] | None = None,
) -> list[bytes | memoryview]:
    if status == OK:
        meta, pads = _layout(REPLY.size, tensors)
    else:
        meta = orjson.dumps(info) if status == READY else message.encode()
        pads, tensors = [], ()
    return _parts(REPLY.pack(seq, status, *timings, len(meta)), meta, tensors, pads)


def decode_reply(body: bytes | bytearray | memoryview) -> Reply:
    view = memoryview(body)
    seq, status, total, io_in, compute, io_out, meta_len = REPLY.unpack_from(view)
    start = REPLY.size + meta_len
    meta = view[REPLY.size : start]
    if status == OK:
        return Reply(seq, status, total, io_in, compute, io_out, tuple(_tensors(view, start, meta)))
    if status == READY:
        return Reply(seq, status, 0, 0, 0, 0, info=orjson.loads(meta))
    return Reply(
        seq, status, total, io_in, compute, io_out, message=bytes(meta).decode(errors="replace")
    )
