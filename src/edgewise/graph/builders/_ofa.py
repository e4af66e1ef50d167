"""OFA-MobileNetV3: an Once-for-All subnet (``{"ks", "e", "d", "r"}``) as ONNX.

The space of HELP's ``ofa_mbv3`` rows: OFA's ``OFAMobileNetV3`` at width 1.0 with
kernel sizes 3/5/7, expand ratios 3/4/6 and depths 2-4 (Cai et al., ICLR 2020; the
``once-for-all`` repository). Macro: a 3x3 stride-2 conv stem with 16 channels (BN,
h-swish); a 3x3 depthwise block 16 -> 16 (expand 1, ReLU, residual); five stages of up
to 4 inverted-residual blocks with widths (24, 40, 80, 112, 160), first strides
(2, 2, 2, 1, 2), activations (ReLU, ReLU, h-swish x3) and squeeze-and-excite in stages
2, 4 and 5; a 1x1 conv to 960 (BN, h-swish), global average pooling, a 1x1 conv to 1280
(h-swish) and a 1000-way classifier. ``ks`` and ``e`` list 20 blocks (4 per stage);
stage ``i`` runs its first ``d[i]`` of them. ``r`` is the input resolution.

>>> arch = parse_ofa_mbv3({"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "r": 128})
>>> arch.depths, arch.resolution
((2, 2, 2, 2, 2), 128)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from edgewise.errors import ModelError
from edgewise.graph.builders._writer import OnnxWriter

OFA_KERNELS = (3, 5, 7)
OFA_EXPANDS = (3, 4, 6)
OFA_DEPTHS = (2, 3, 4)
#: (width, first stride, activation, squeeze-and-excite) of the five searchable stages.
OFA_STAGES = (
    (24, 2, "relu", False),
    (40, 2, "relu", True),
    (80, 2, "hswish", False),
    (112, 1, "hswish", True),
    (160, 2, "hswish", True),
)
MAX_DEPTH = 4


@dataclass(frozen=True)
class OfaArch:
    kernels: tuple[int, ...]  # 20
    expands: tuple[int, ...]  # 20
    depths: tuple[int, ...]  # 5
    resolution: int

    def active(self) -> list[tuple[int, int, int]]:
        """``(stage, kernel, expand)`` of each block that runs, in order."""
        return [
            (s, self.kernels[s * MAX_DEPTH + j], self.expands[s * MAX_DEPTH + j])
            for s, d in enumerate(self.depths)
            for j in range(d)
        ]


def parse_ofa_mbv3(arch: str | dict[str, Any]) -> OfaArch:
    """An :class:`OfaArch` from HELP's JSON (``ks``, ``e``, ``d``, ``r``); ModelError if bad."""
    bad = f"bad OFA-MobileNetV3 architecture {str(arch)!r:.120}: "
    try:
        doc = json.loads(arch) if isinstance(arch, str) else dict(arch)
    except (TypeError, ValueError) as exc:
        raise ModelError(bad + f"not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ModelError(bad + 'expected {"ks": [...], "e": [...], "d": [...], "r": N}')
    missing = [k for k in ("ks", "e", "d", "r") if k not in doc]
    if missing:
        raise ModelError(bad + f"missing {', '.join(missing)}")
    n = len(OFA_STAGES) * MAX_DEPTH
    for key, allowed, length in (
        ("ks", OFA_KERNELS, n),
        ("e", OFA_EXPANDS, n),
        ("d", OFA_DEPTHS, len(OFA_STAGES)),
    ):
        values = doc[key]
        if not isinstance(values, list) or len(values) != length:
            raise ModelError(bad + f"{key!r} must list {length} values")
        wrong = [v for v in values if isinstance(v, bool) or v not in allowed]
        if wrong:
            raise ModelError(bad + f"{key!r} takes {allowed}, got {wrong[0]!r}")
    r = doc["r"]
    if isinstance(r, bool) or not isinstance(r, int) or not 32 <= r <= 512:
        raise ModelError(bad + f"'r' must be a resolution in [32, 512], got {r!r}")
    return OfaArch(tuple(doc["ks"]), tuple(doc["e"]), tuple(doc["d"]), r)


def _divisible(v: float, by: int = 8) -> int:
    """OFA's ``make_divisible``: round to a multiple of ``by``, never 10% below ``v``."""
    out = max(by, int(v + by / 2) // by * by)
    return out + by if out < 0.9 * v else out


def _act(w: OnnxWriter, x: str, act: str, *, name: str) -> str:
    if act == "relu":
        return w.relu(x, name=name)
    return w.hswish(x, name=name)


def _block(
    w: OnnxWriter, x: str, cout: int, k: int, e: int, stride: int, act: str, se: bool, name: str
) -> str:
    cin = w.shape(x)[1]
    mid = _divisible(cin * e)
    y = x
    if e != 1:
        y = w.conv(y, mid, 1, name=f"{name}/expand")
        y = _act(w, w.bn(y, name=f"{name}/expand_bn"), act, name=f"{name}/expand_act")
    y = w.conv(y, mid, k, stride=stride, group=mid, name=f"{name}/dw")
    y = _act(w, w.bn(y, name=f"{name}/dw_bn"), act, name=f"{name}/dw_act")
    if se:
        s = w.global_avgpool(y, name=f"{name}/se_pool")
        s = w.relu(
            w.conv(s, _divisible(mid // 4), 1, bias=True, name=f"{name}/se_reduce"),
            name=f"{name}/se_relu",
        )
        s = w.hsigmoid(
            w.conv(s, mid, 1, bias=True, name=f"{name}/se_expand"), name=f"{name}/se_gate"
        )
        y = w.mul(y, s, name=f"{name}/se_scale")
    y = w.bn(w.conv(y, cout, 1, name=f"{name}/project"), name=f"{name}/project_bn")
    if stride == 1 and cin == cout:
        y = w.add(x, y, name=f"{name}/add")
    return y


def ofa_mbv3(
    arch: str | dict[str, Any] | OfaArch,
    *,
    batch: int = 1,
    num_classes: int = 1000,
    seed: int = 0,
) -> Any:
    """The OFA-MobileNetV3 subnet ``arch`` as an ``onnx.ModelProto`` (seeded weights)."""
    a = arch if isinstance(arch, OfaArch) else parse_ofa_mbv3(arch)
    if min(batch, num_classes) <= 0:
        raise ModelError("OFA-MobileNetV3 sizes must be positive")
    w = OnnxWriter("ofa_mbv3", seed=seed)
    x = w.input("input", (batch, 3, a.resolution, a.resolution))
    x = w.conv(x, 16, 3, stride=2, name="stem/conv")
    x = w.hswish(w.bn(x, name="stem/bn"), name="stem/act")
    x = _block(w, x, 16, 3, 1, 1, "relu", False, "first")
    counts = [0] * len(OFA_STAGES)
    for stage, k, e in a.active():
        width, stride, act, se = OFA_STAGES[stage]
        first = counts[stage] == 0
        name = f"stage{stage}/block{counts[stage]}"
        x = _block(w, x, width, k, e, stride if first else 1, act, se, name)
        counts[stage] += 1
    x = w.hswish(w.bn(w.conv(x, 960, 1, name="head/expand"), name="head/bn"), name="head/act")
    x = w.global_avgpool(x, name="head/gap")
    x = w.hswish(w.conv(x, 1280, 1, name="head/mix"), name="head/mix_act")
    w.output(w.gemm(w.flatten(x, name="head/flatten"), num_classes, name="head/fc"))
    return w.model()
