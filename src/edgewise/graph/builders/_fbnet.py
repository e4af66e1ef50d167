"""FBNet: 22 block names to the ImageNet network as ONNX (the HW-NAS-Bench space).

Macro (Wu et al., CVPR 2019, Table 1): a 3x3 stride-2 conv stem with 16 channels;
22 searchable layers in stages of (1, 4, 4, 4, 4, 4, 1) layers with
(16, 24, 32, 64, 112, 184, 352) channels and first-layer strides (1, 2, 2, 2, 1, 2, 1);
a 1x1 conv to 1984 channels, global average pooling and a 1000-way classifier.
Block ``kK_eE[_gG]`` is an inverted residual: 1x1 (group G) conv-BN-ReLU, channel shuffle
when G > 1, KxK depthwise conv-BN-ReLU, 1x1 (group G) conv-BN, plus the input when
the shape is kept. ``skip`` is the identity, or a 1x1 conv-BN-ReLU when the shape changes.

>>> parse_fbnet("-".join(["k3_e1"] * 21 + ["skip"]))[-2:]
('k3_e1', 'skip')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from edgewise.errors import ModelError
from edgewise.graph.builders._writer import OnnxWriter

#: The nine FBNet candidate blocks.
FBNET_BLOCKS = (
    "k3_e1",
    "k3_e1_g2",
    "k3_e3",
    "k3_e6",
    "k5_e1",
    "k5_e1_g2",
    "k5_e3",
    "k5_e6",
    "skip",
)
FBNET_STAGES = (
    (16, 1, 1),
    (24, 4, 2),
    (32, 4, 2),
    (64, 4, 2),
    (112, 4, 1),
    (184, 4, 2),
    (352, 1, 1),
)


def _layers() -> tuple[tuple[int, int, int], ...]:
    layers, cin = [], 16
    for cout, n, stride in FBNET_STAGES:
        for i in range(n):
            layers.append((cin, cout, stride if i == 0 else 1))
            cin = cout
    return tuple(layers)


#: (input channels, output channels, stride) of each of the 22 searchable layers.
FBNET_LAYERS = _layers()


def parse_fbnet(blocks: str | Sequence[str]) -> tuple[str, ...]:
    """22 block names from ``"k3_e1-skip-..."`` or a sequence; ModelError if bad."""
    items = blocks.strip().split("-") if isinstance(blocks, str) else list(blocks)
    shown = blocks if isinstance(blocks, str) else "-".join(map(str, blocks))
    bad = f"bad FBNet architecture {shown!r:.120}: "
    if len(items) != len(FBNET_LAYERS):
        raise ModelError(
            bad + f"expected {len(FBNET_LAYERS)} '-'-separated blocks, got {len(items)}"
        )
    for pos, b in enumerate(items):
        if b not in FBNET_BLOCKS:
            import difflib

            close = difflib.get_close_matches(str(b), FBNET_BLOCKS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ModelError(
                bad + f"unknown block {b!r} at position {pos}{hint}; "
                f"blocks are {', '.join(FBNET_BLOCKS)}"
            )
    return tuple(items)


def block_params(block: str) -> tuple[int, int, int]:
    """``(kernel, expansion, groups)`` of a block name (``skip`` gives zeros)."""
    if block == "skip":
        return 0, 0, 0
    parts = block.split("_")
    k, e = int(parts[0][1:]), int(parts[1][1:])
    g = int(parts[2][1:]) if len(parts) > 2 else 1
    return k, e, g


def _block(w: OnnxWriter, block: str, x: str, cout: int, stride: int, *, name: str) -> str:
    cin = w.shape(x)[1]
    if block == "skip":
        if stride == 1 and cin == cout:
            return x
        y = w.conv(x, cout, 1, stride=stride, name=f"{name}/conv")
        return w.relu(w.bn(y, name=f"{name}/bn"), name=f"{name}/relu")
    k, e, g = block_params(block)
    mid = cin * e
    y = w.conv(x, mid, 1, group=g, name=f"{name}/pw")
    y = w.relu(w.bn(y, name=f"{name}/pw_bn"), name=f"{name}/pw_relu")
    if g > 1:
        y = w.channel_shuffle(y, g, name=f"{name}/shuffle")
    y = w.conv(y, mid, k, stride=stride, group=mid, name=f"{name}/dw")
    y = w.relu(w.bn(y, name=f"{name}/dw_bn"), name=f"{name}/dw_relu")
    y = w.conv(y, cout, 1, group=g, name=f"{name}/pwl")
    y = w.bn(y, name=f"{name}/pwl_bn")
    if stride == 1 and cin == cout:
        y = w.add(x, y, name=f"{name}/add")
    return y


def fbnet(
    blocks: str | Sequence[str],
    *,
    batch: int = 1,
    resolution: int = 224,
    num_classes: int = 1000,
    seed: int = 0,
) -> Any:
    """The FBNet ImageNet network of ``blocks`` as an ``onnx.ModelProto`` (seeded weights).

    >>> model = fbnet(["k3_e6"] * 22)
    >>> len(model.graph.node) > 100
    True
    """
    names = parse_fbnet(blocks)
    if min(batch, resolution, num_classes) <= 0:
        raise ModelError("FBNet sizes must be positive")
    w = OnnxWriter("fbnet", seed=seed)
    x = w.input("input", (batch, 3, resolution, resolution))
    x = w.conv(x, 16, 3, stride=2, name="stem/conv")
    x = w.relu(w.bn(x, name="stem/bn"), name="stem/relu")
    for pos, (block, (_, cout, stride)) in enumerate(zip(names, FBNET_LAYERS, strict=True)):
        x = _block(w, block, x, cout, stride, name=f"layer{pos}")
    x = w.conv(x, 1984, 1, name="head/conv")
    x = w.relu(w.bn(x, name="head/bn"), name="head/relu")
    x = w.flatten(w.global_avgpool(x, name="head/gap"), name="head/flatten")
    w.output(w.gemm(x, num_classes, name="head/fc"))
    return w.model()
