from __future__ import annotations

import pytest

from edgewise.errors import ConfigError, UnknownNameError
from edgewise.recommend._names import (
    canonical_benchmark,
    canonical_chip,
    canonical_scenario,
    infer_kind,
    resolve,
)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("bert-99", "bert"),
        ("bert-99.9", "bert"),
        ("resnet", "resnet50"),
        ("resnet50", "resnet50"),
        ("dlrm-v2-99.9", "dlrm-v2"),
        ("bert-99_jpqd-base", "bert-99_jpqd-base"),
        ("mobilenet-v1-0.25-128-quantized", "mobilenet-v1-0.25-128-int8"),
        ("mobilenet-v1-precision_float-0.5-224", "mobilenet-v1-0.5-224-fp32"),
        ("mobilenet-v1-0.5-224-non-quantized", "mobilenet-v1-0.5-224-fp32"),
        ("mobilenet-v2-precision_uint8-1.0-96", "mobilenet-v2-1.0-96-int8"),
        (
            "mobilenet-v3-large-minimalistic_224_1.0_uint8",
            "mobilenet-v3-large-minimalistic-1.0-224-int8",
        ),
        ("mobilenet-v3-precision_float-small-224", "mobilenet-v3-small-1.0-224-fp32"),
        ("efficientnet-lite3-quantized", "efficientnet-lite3-int8"),
        ("efficientnet-fp32-lite3", "efficientnet-lite3-fp32"),
    ],
)
def test_canonical_benchmark(raw: str, canonical: str) -> None:
    assert canonical_benchmark(raw) == canonical


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("single-stream", "SingleStream"),
        ("multi_stream", "MultiStream"),
        ("Server", "Server"),
        ("batch32", "batch-32"),
    ],
)
def test_canonical_scenario(raw: str, canonical: str) -> None:
    assert canonical_scenario(raw) == canonical


def test_unknown_scenario_suggests() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'SingleStream'"):
        canonical_scenario("SingleStrem")


def test_chip_aliases_and_kinds() -> None:
    assert canonical_chip("Tesla T4") == "NVIDIA T4"
    assert infer_kind("32-bit Arm Cortex-M4 (DSP + FPU)") == "mcu"
    assert infer_kind("XC7Z020") == "fpga"
    assert infer_kind("NVIDIA Carmel (ARMv8.2)", hint="cpu") == "cpu"
    assert infer_kind("NVIDIA Jetson AGX Orin", hint="accelerator") == "gpu"


def test_resolve() -> None:
    known = ["NVIDIA L4", "NVIDIA L40S", "NVIDIA Jetson AGX Orin"]
    assert resolve("chip", "nvidia l4", known) == "NVIDIA L4"
    assert resolve("chip", "jetson", known) == "NVIDIA Jetson AGX Orin"
    with pytest.raises(ConfigError, match="ambiguous"):
        resolve("chip", "NVIDIA", known)
    with pytest.raises(UnknownNameError, match="did you mean 'NVIDIA L4"):
        resolve("chip", "NVIDIA L5", known)
