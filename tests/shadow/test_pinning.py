"""CPU pins: production, candidates, the gateway and its recorder run where they are told.

The recorder's work (pairing, judging, store writes) is shadow work, so with pinned
candidates it runs on their CPUs, never on production's path.
"""

from __future__ import annotations

import os

import httpx
import numpy as np
import pytest

from edgewise.shadow.gateway import ShadowConfig, ShadowServer
from edgewise.shadow.gateway._cpus import pin_process

CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def _threads_affinity() -> set[frozenset[int]]:
    out = set()
    for tid in os.listdir("/proc/self/task"):
        try:
            out.add(frozenset(os.sched_getaffinity(int(tid))))
        except ProcessLookupError:
            pass
    return out


@pytest.mark.skipif(len(CPUS) < 2, reason="needs two CPUs to tell the pins apart")
def test_every_process_runs_on_its_cpus(model_path) -> None:  # type: ignore[no-untyped-def]
    a, b = CPUS[0], CPUS[-1]
    prod = str(model_path("mlp-tiny"))
    config = ShadowConfig(
        production=prod,
        candidates=(prod,),
        production_cpus=(a,),
        candidate_cpus=((b,),),
        gateway_cpus=(a,),
        port=0,
    )
    try:
        with ShadowServer(config, token="t") as server:
            gw = server.gateway
            x = np.ones((1, 256), np.float32)
            body = {
                "inputs": [
                    {"name": "x", "shape": [1, 256], "datatype": "FP32", "data": x.ravel().tolist()}
                ]
            }
            r = httpx.post(f"{server.url}/v2/models/{gw.name}/infer", json=body)
            assert r.status_code == 200, r.text
            assert _threads_affinity() == {frozenset({a})}  # the gateway's process, every thread
            assert gw.production is not None and gw.recorder is not None
            assert os.sched_getaffinity(gw.production.replica.pid) == {a}
            assert os.sched_getaffinity(gw.candidates[0].replica.pid) == {b}
            assert os.sched_getaffinity(gw.recorder.pid) == {b}
    finally:
        pin_process(tuple(CPUS))


def test_a_cpu_this_process_may_not_use_is_a_config_error(model_path) -> None:  # type: ignore[no-untyped-def]
    from edgewise.errors import ConfigError

    prod = str(model_path("mlp-tiny"))
    for key in ("production_cpus", "gateway_cpus"):
        with pytest.raises(ConfigError, match="names CPU 4096, but this process may use only"):
            ShadowConfig(production=prod, **{key: (4096,)})
    with pytest.raises(ConfigError, match="--candidate-cpus names CPU 4096"):
        ShadowConfig(production=prod, candidates=(prod,), candidate_cpus=((4096,),))
