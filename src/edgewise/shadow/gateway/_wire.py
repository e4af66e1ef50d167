"""The frames between the gateway and its replica workers (a Unix socket pair).

Every frame is ``u32 length`` followed by ``length`` bytes. A request frame is
``u64 seq | u8 flags | u64 sent_ns | u32 meta_len | meta JSON | tensor bytes``; a reply
frame is ``u64 seq | u8 status | 4 x u64 timings (ns) | u32 meta_len | meta | tensor
bytes``. A request flagged :data:`TO_RECORDER` is a mirrored copy: the worker answers
it to the recorder process, not to the gateway (the gateway tells the recorder each
copy's lag itself, with production's reply).
``sent_ns`` is when the gateway wrote the frame, on this host's ``CLOCK_MONOTONIC``
(``time.perf_counter_ns``; one clock for every process on the host): a worker that
was busy when the frame came times it from then (see ``_worker``).
Meta lists ``[name, dtype, shape, offset, nbytes]`` per tensor; each tensor starts
on a 64-byte boundary of the frame body, so the worker's ``numpy.frombuffer``
views are aligned and nothing is copied on the way in.

>>> parts = encode_request(7, [])
>>> seq, flags, sent_ns, tensors = decode_request(b"".join(bytes(p) for p in parts)[4:])
>>> seq, flags, tensors
(7, 0, [])
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from edgewise.shadow.gateway._oip import TensorData

LEN = struct.Struct("<I")
REQ = struct.Struct("<QBQI")
REPLY = struct.Struct("<QBQQQQI")
#: Request flag: a mirrored copy, answered to the recorder (the candidate's role).
TO_RECORDER = 1
ALIGN = 64
_PAD = bytes(ALIGN)

OK, ERROR, READY = 0, 1, 2


@functools.lru_cache(maxsize=256)
def _layout_of(
    head_size: int, specs: tuple[tuple[str, str, tuple[int, ...], int], ...]
) -> tuple[bytes, tuple[int, ...], int]:
    """Meta JSON (padded), the pad before each tensor, and the data's length.

    Cached: a model's requests and replies repeat the same few layouts, and building
    the meta is most of a small frame's cost.
    """
    offsets: list[int] = []
    pos = 0
    for *_, nbytes in specs:
        pos = -(-pos // ALIGN) * ALIGN
        offsets.append(pos)
        pos += nbytes
    meta = orjson.dumps(
        [
            [name, dtype, list(shape), off, nbytes]
            for (name, dtype, shape, nbytes), off in zip(specs, offsets, strict=True)
        ]
    )
    meta += b" " * (-(head_size + len(meta)) % ALIGN)
    pads, prev_end = [], 0
    for (*_, nbytes), off in zip(specs, offsets, strict=True):
        pads.append(off - prev_end)
        prev_end = off + nbytes
    return meta, tuple(pads), pos


def _frame(
    head: struct.Struct, fields: tuple[int, ...], tensors: Sequence[TensorData]
) -> list[bytes | memoryview]:
    """The parts of a frame: length, ``head`` packed from ``fields`` + the meta length,
    the meta, then each tensor's bytes (referenced, not copied) after its pad."""
    meta, pads, data_len = _layout_of(
        head.size, tuple((t.name, t.dtype, t.shape, t.data.nbytes) for t in tensors)
    )
    packed = head.pack(*fields, len(meta))
    parts: list[bytes | memoryview] = [
        LEN.pack(len(packed) + len(meta) + data_len),
        packed,
        meta,
    ]
    for t, pad in zip(tensors, pads, strict=True):
        if pad:
            parts.append(_PAD[:pad])
        parts.append(t.data)
    return parts


def encode_request(seq: int, tensors: Sequence[TensorData]) -> list[bytes | memoryview]:
    """The parts of one request frame (tensor data is referenced, not copied)."""
    return _frame(REQ, (seq, 0, 0), tensors)


def stamped(
    parts: list[bytes | memoryview], *, sent_ns: int, flags: int = 0
) -> list[bytes | memoryview]:
    """The same request frame as sent at ``sent_ns``, with ``flags`` (only the head is
    new)."""
    seq, _, _, meta_len = REQ.unpack(parts[1])
    return [parts[0], REQ.pack(seq, flags, sent_ns, meta_len), *parts[2:]]


@functools.lru_cache(maxsize=256)
def _meta(meta: bytes) -> tuple[tuple[str, str, tuple[int, ...], int, int], ...]:
    return tuple(
        (name, dtype, tuple(shape), off, nbytes)
        for name, dtype, shape, off, nbytes in orjson.loads(meta)
    )


def _tensors(body: memoryview, start: int, meta: bytes | memoryview) -> list[TensorData]:
    out = []
    for name, dtype, shape, off, nbytes in _meta(bytes(meta)):
        a = start + off
        out.append(TensorData(name=name, dtype=dtype, shape=shape, data=body[a : a + nbytes]))
    return out


def decode_request(
    body: bytes | bytearray | memoryview,
) -> tuple[int, int, int, list[TensorData]]:
    """``(seq, flags, sent_ns, tensors)`` of a request frame body (no length prefix)."""
    view = memoryview(body)
    seq, flags, sent, meta_len = REQ.unpack_from(view)
    start = REQ.size + meta_len
    return seq, flags, sent, _tensors(view, start, view[REQ.size : start])


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
    #: The frame body this reply was decoded from (forwarded as is to the recorder).
    raw: bytes | None = None


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
        return _frame(REPLY, (seq, status, *timings), tensors)
    meta = orjson.dumps(info) if status == READY else message.encode()
    head = REPLY.pack(seq, status, *timings, len(meta))
    return [LEN.pack(len(head) + len(meta)), head, meta]


def reply_body(reply: Reply) -> bytes:
    """The frame body of ``reply`` (no length prefix): its ``raw`` bytes, or encoded."""
    if reply.raw is not None:
        return reply.raw
    parts = encode_reply(
        reply.seq,
        status=reply.status,
        timings=(reply.total_ns, reply.io_in_ns, reply.compute_ns, reply.io_out_ns),
        tensors=reply.outputs,
        message=reply.message,
    )
    return b"".join(bytes(p) for p in parts[1:])


def decode_reply(body: bytes | bytearray | memoryview, *, keep_raw: bool = False) -> Reply:
    view = memoryview(body)
    seq, status, total, io_in, compute, io_out, meta_len = REPLY.unpack_from(view)
    start = REPLY.size + meta_len
    meta = view[REPLY.size : start]
    raw = body if keep_raw and isinstance(body, bytes) else None
    if status == OK:
        outs = tuple(_tensors(view, start, meta))
        return Reply(seq, status, total, io_in, compute, io_out, outs, raw=raw)
    if status == READY:
        return Reply(seq, status, 0, 0, 0, 0, info=orjson.loads(meta))
    msg = bytes(meta).decode(errors="replace")
    return Reply(seq, status, total, io_in, compute, io_out, message=msg, raw=raw)
