"""The OIP v2 codec: requests checked against the signature, binary tensors without copies."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewise.errors import InputError
from edgewise.runtime import TensorSpec
from edgewise.shadow.gateway import _wire as wire
from edgewise.shadow.gateway._oip import (
    OipError,
    TensorData,
    decode_infer_response,
    encode_infer_response,
    parse_infer_request,
)

SPEC = (TensorSpec("x", "float32", ("batch", 4)), TensorSpec("ids", "int64", (1, 2)))
OUTS = ("y",)


def _binary(x: np.ndarray, ids: np.ndarray, **extra: object) -> tuple[bytes, int]:
    head = json.dumps(
        {
            "inputs": [
                {
                    "name": "x",
                    "shape": list(x.shape),
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": x.nbytes},
                },
                {
                    "name": "ids",
                    "shape": list(ids.shape),
                    "datatype": "INT64",
                    "parameters": {"binary_data_size": ids.nbytes},
                },
            ],
            **extra,
        }
    ).encode()
    return head + x.tobytes() + ids.tobytes(), len(head)


def test_binary_inputs_are_views_into_the_body() -> None:
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    ids = np.array([[3, 4]], dtype=np.int64)
    body, n = _binary(x, ids, parameters={"binary_data_output": True})
    req = parse_infer_request(body, header_length=str(n), inputs=SPEC, outputs=OUTS)
    arr = req.inputs[0].array()
    np.testing.assert_array_equal(arr, x)
    assert arr.base is not None and not arr.flags.owndata  # a view, not a copy
    assert req.inputs[0].data.obj is body
    np.testing.assert_array_equal(req.inputs[1].array(), ids)
    assert req.outputs[0].binary is True


def test_json_inputs_and_requested_outputs() -> None:
    doc = {
        "id": "r1",
        "inputs": [
            {"name": "ids", "shape": [1, 2], "datatype": "INT64", "data": [1, 2]},
            {"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [[1, 2, 3, 4]]},
        ],
        "outputs": [{"name": "y"}],
    }
    req = parse_infer_request(
        json.dumps(doc).encode(), header_length=None, inputs=SPEC, outputs=OUTS
    )
    assert req.id == "r1" and [t.name for t in req.inputs] == ["x", "ids"]
    assert req.outputs[0].binary is False
    assert req.inputs[0].array().dtype == np.float32


def _doc(**changes: object) -> bytes:
    x = {"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}
    ids = {"name": "ids", "shape": [1, 2], "datatype": "INT64", "data": [1, 2]}
    x.update(changes)
    return json.dumps({"inputs": [x, ids]}).encode()


def _top(**fields: object) -> bytes:
    """A valid request with top-level ``fields`` added."""
    return json.dumps({**json.loads(_doc()), **fields}).encode()


@pytest.mark.parametrize(
    ("body", "header", "needle"),
    [
        (b"{not json", None, "not valid JSON"),
        (b"[1, 2]", None, "JSON object"),
        (b'{"inputs": []}', None, "non-empty 'inputs'"),
        (_doc(datatype="FP64"), None, "datatype FP64 but the model expects FP32"),
        (_doc(datatype="BYTES"), None, "unsupported datatype"),
        (_doc(shape=[1, 5], data=[1, 2, 3, 4, 5]), None, "does not match"),
        (_doc(shape=[4]), None, "rank 1"),
        (_doc(shape=[1, 4], data=[1, 2, 3]), None, "3 values but shape"),
        (_doc(data=["a", "b", "c", "d"]), None, "not FP32"),
        (_doc(name="z"), None, "unknown input 'z'"),
        (
            json.dumps(
                {
                    "inputs": [
                        {"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}
                    ]
                }
            ).encode(),
            None,
            "missing input(s): ids",
        ),
        (_doc(), "999", "does not fit"),
        (_doc(parameters={"binary_data_size": 12}), None, "needs 16 bytes"),
        # flags are JSON booleans: the string "false" must not turn binary output on
        (_top(parameters={"binary_data_output": "false"}), None, "must be true or false"),
        (_top(outputs=[{"name": "y", "parameters": {"binary_data": 1}}]), None, "true or false"),
        (_top(outputs=[{"name": "y"}, {"name": "y"}]), None, "requested twice"),
        (_top(outputs=[{"name": "y", "parameters": [1]}]), None, "must be an object"),
    ],
)
def test_malformed_requests_are_refused_with_a_reason(
    body: bytes, header: str | None, needle: str
) -> None:
    with pytest.raises(OipError, match=None) as info:
        parse_infer_request(body, header_length=header, inputs=SPEC, outputs=OUTS)
    assert needle in str(info.value)
    assert info.value.status == 400 and isinstance(info.value, InputError)


def test_binary_size_mismatch_and_trailing_bytes() -> None:
    x = np.zeros((1, 4), np.float32)
    ids = np.zeros((1, 2), np.int64)
    body, n = _binary(x, ids)
    with pytest.raises(OipError, match="no input claims"):
        parse_infer_request(body + b"xx", header_length=n, inputs=SPEC, outputs=OUTS)
    with pytest.raises(OipError, match="past the end"):
        parse_infer_request(body[:-4], header_length=n, inputs=SPEC, outputs=OUTS)


def test_response_round_trip_binary_and_json() -> None:
    y = np.array([[0.5, 1.5, -2.0]], dtype=np.float32)
    out = TensorData.from_array("y", y)
    from edgewise.shadow.gateway._oip import RequestedOutput

    body, headers = encode_infer_response(
        model_name="m", request_id="7", outputs=[out], requested=[RequestedOutput("y", True)]
    )
    assert headers["content-type"] == "application/octet-stream"
    back = decode_infer_response(body, header_length=headers["inference-header-content-length"])
    np.testing.assert_array_equal(back[0].array(), y)
    body, headers = encode_infer_response(
        model_name="m", request_id="", outputs=[out], requested=[RequestedOutput("y", False)]
    )
    doc = json.loads(body)
    assert doc["outputs"][0]["data"] == [0.5, 1.5, -2.0] and "id" not in doc


def test_wire_frames_are_aligned_and_round_trip() -> None:
    a = TensorData.from_array("a", np.arange(3, dtype=np.float32))
    b = TensorData.from_array("b", np.arange(5, dtype=np.int64).reshape(1, 5))
    frame = b"".join(bytes(p) for p in wire.encode_request(42, [a, b]))
    (size,) = wire.LEN.unpack_from(frame)
    assert size == len(frame) - 4
    seq, flags, sent, tensors = wire.decode_request(bytearray(frame[4:]))
    assert (seq, flags, sent) == (42, 0, 0)
    mirrored = wire.stamped(wire.encode_request(42, [a, b]), sent_ns=123, flags=wire.TO_RECORDER)
    again = b"".join(bytes(p) for p in mirrored)
    assert len(again) == len(frame)
    assert wire.decode_request(again[4:])[:3] == (42, wire.TO_RECORDER, 123)
    for t, want in zip(tensors, (a, b), strict=True):
        np.testing.assert_array_equal(t.array(), want.array())
    reply = wire.decode_reply(
        b"".join(
            bytes(p)
            for p in wire.encode_reply(42, status=wire.OK, timings=(4, 1, 2, 1), tensors=[b])
        )[4:],
        keep_raw=True,
    )
    assert (reply.seq, reply.total_ns, reply.compute_ns) == (42, 4, 2)
    assert wire.reply_body(reply) == reply.raw
    plain = wire.decode_reply(wire.reply_body(replace(reply, raw=None)))
    assert (plain.seq, plain.total_ns, plain.io_out_ns) == (42, 4, 1)
    np.testing.assert_array_equal(plain.outputs[0].array(), b.array())
    np.testing.assert_array_equal(reply.outputs[0].array(), b.array())


_NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.floats(min_value=-3.5e38, max_value=3.5e38),  # around float32's largest value
    st.floats(min_value=-1e-44, max_value=1e-44),  # float32 subnormals and signed zeros
    st.integers(min_value=-(2**63), max_value=2**64),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(_NUMBERS, max_size=20),
    dtype=st.sampled_from(["float32", "float64", "int8", "int32", "int64", "uint8", "uint64"]),
)
def test_json_fast_path_matches_numpy_or_steps_aside(values: list[object], dtype: str) -> None:
    """Flat JSON lists are packed with struct; the bytes equal numpy's, or numpy decides."""
    import warnings

    from edgewise.shadow.gateway._oip import _pack_flat

    packed = _pack_flat(values, dtype, len(values))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy warns on a float32 overflow to inf
        try:
            expected: bytes | None = np.asarray(values, dtype=dtype).tobytes()
        except (TypeError, ValueError, OverflowError):
            expected = None
    if packed is not None:
        assert expected is not None and bytes(packed) == expected
    assert _pack_flat(values, dtype, len(values) + 1) is None  # a wrong count is numpy's to report


def test_json_nested_and_odd_data_take_numpys_path() -> None:
    spec = (TensorSpec("x", "float32", (2, 2)),)

    def parse(data: object) -> np.ndarray:
        body = json.dumps(
            {"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32", "data": data}]}
        ).encode()
        return (
            parse_infer_request(body, header_length=None, inputs=spec, outputs=OUTS)
            .inputs[0]
            .array()
        )

    flat = parse([1, 2.5, -0.0, 3e38])
    assert flat.dtype == np.float32
    assert flat.tobytes() == np.asarray([[1, 2.5], [-0.0, 3e38]], np.float32).tobytes()
    assert np.array_equal(parse([[1, 2.5], [-0.0, 3e38]]), flat)  # nested: numpy's path
    assert parse([1e39, 0, 0, 0])[0, 0] == np.inf  # a float32 overflow is inf, as numpy casts
    with pytest.raises(OipError, match="3 values but shape \\[2, 2\\] needs 4"):
        parse([1, 2, 3])
    with pytest.raises(OipError, match="data is not FP32"):
        parse(["a", 2, 3, 4])


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(_NUMBERS, max_size=20),
    dtype=st.sampled_from(["float16", "float32", "float64", "int8", "int64", "uint16", "uint64"]),
)
def test_json_data_read_by_simdjson_equals_the_list_path(values: list[object], dtype: str) -> None:
    """JSON ``data`` read as a C buffer gives numpy's bytes from the Python list, or the
    same kind of error."""
    import warnings

    from edgewise.shadow.gateway._oip import DATATYPES, NUMPY_TO_OIP

    spec = (TensorSpec("x", dtype, (len(values),)),)
    datatype = NUMPY_TO_OIP[dtype]
    assert DATATYPES[datatype] == dtype
    body = json.dumps(
        {"inputs": [{"name": "x", "shape": [len(values)], "datatype": datatype, "data": values}]}
    ).encode()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected: bytes | None = np.asarray(values, dtype=dtype).tobytes()
        except (TypeError, ValueError, OverflowError):
            expected = None
    try:
        got: bytes | None = (
            parse_infer_request(body, header_length=None, inputs=spec, outputs=OUTS)
            .inputs[0]
            .data.tobytes()
        )
    except OipError:
        got = None
    assert got == expected
