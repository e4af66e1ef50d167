"""KServe's Python ModelServer serving one ONNX model on 127.0.0.1 (the serving benchmark's baseline).

Run with an interpreter that has ``kserve`` and ``onnxruntime`` (kserve is not an
edgewise dependency: it pulls in hundreds of MB), e.g.::

    /tmp/kserve-venv/bin/python benchmarks/_kserve_server.py MODEL.onnx NAME PORT

KServe 0.21 hard-codes ``host="0.0.0.0"``; the shim below binds it to 127.0.0.1.
"""

from __future__ import annotations

import sys
import types

import kserve.protocol.rest.server as rest
import numpy as np
import onnxruntime as ort
import uvicorn
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer


class _Loopback(uvicorn.Config):
    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["host"] = "127.0.0.1"
        super().__init__(*args, **kwargs)


rest.uvicorn = types.SimpleNamespace(**{**vars(uvicorn), "Config": _Loopback})  # type: ignore[attr-defined]

_OIP = {np.dtype("float32"): "FP32", np.dtype("float64"): "FP64", np.dtype("int64"): "INT64"}


class OnnxModel(Model):  # type: ignore[misc]
    def __init__(self, name: str, path: str) -> None:
        super().__init__(name)
        self.path = path
        self.load()

    def load(self) -> bool:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self.session = ort.InferenceSession(self.path, opts, providers=["CPUExecutionProvider"])
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.ready = True
        return True

    def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:  # type: ignore[no-untyped-def]
        feeds = {i.name: i.as_numpy() for i in payload.inputs}
        results = self.session.run(None, feeds)
        outs = []
        for name, arr in zip(self.outputs, results, strict=True):
            out = InferOutput(name=name, shape=list(arr.shape), datatype=_OIP[arr.dtype])
            out.set_data_from_numpy(arr, binary_data=payload.use_binary_outputs)
            outs.append(out)
        return InferResponse(
            response_id=payload.id,
            model_name=self.name,
            infer_outputs=outs,
            use_binary_outputs=payload.use_binary_outputs,
            requested_outputs=payload.request_outputs,
        )


if __name__ == "__main__":
    path, name, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ModelServer(http_port=port, enable_grpc=False, workers=1).start([OnnxModel(name, path)])
