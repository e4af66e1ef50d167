"""Curated chip specs and model features, each number with the page it was read from.

Nothing here is estimated: a field that no source gave stays absent. Peak INT8 figures
are the vendor's headline numbers, which for Ampere/Ada parts are *with sparsity*; the
source string says so. Add a chip by adding a row with a source for every number.

>>> CHIP_SPECS["NVIDIA T4"]["tdp_w"].value
70.0
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sourced:
    """One number and where it comes from."""

    value: float
    source: str

    def as_dict(self) -> dict[str, object]:
        return {"value": self.value, "source": self.source}


#: The spec fields a chip may carry (units in the names).
SPEC_FIELDS = ("peak_int8_tops", "mem_bandwidth_gbps", "tdp_w", "price_usd")

_L4_STORE = "https://store.sourcecode.com/en-us/bg-bucket-compare/125/9820 (NVIDIA L4 spec table)"
_L4_TDP = "https://fpsbench.com/compare/gpu/nvidia-l4-vs-nvidia-tesla-m40"
_T4 = "https://www.aiminingco.com/gpu/t4/specs"
_T4_TOPS = "https://heise.de/news/Nvidia-Tesla-P4-K-I-Beschleuniger-mit-8-TFlops-bei-75-Watt-Leistungsaufnahme-4164684.html (INT8 130 TOPS)"  # noqa: E501
_ORIN = (
    "https://blog.us.fixstars.com/?p=1855 (Jetson AGX Orin: 15-60 W, 275 sparse INT8 TOPS at MAXN)"  # noqa: E501
)
_ORIN_NX = "NVIDIA Jetson Orin NX series datasheet (up to 100 TOPS, 10-25 W), https://github.com/icub-tech-iit/cad-libraries/files/13056089/JETSON-ORIN-NX-DATASHEET.pdf"  # noqa: E501
_4090_BW = "https://www.octo24.com/en/Inno3D-C40903-246XX-1833VA47-Inno3D-GeForce-RTX-4090-ICHILL-X3::536737.html"  # noqa: E501
_4090 = "https://pcspecchart.com/pc_parts/gpu/25 (450 W TDP, launch price $1599)"

#: Chip specs by canonical chip name (see ``_names.CHIP_ALIASES``).
CHIP_SPECS: dict[str, dict[str, Sourced]] = {
    "NVIDIA L4": {
        "peak_int8_tops": Sourced(485.0, _L4_STORE + "; with sparsity"),
        "mem_bandwidth_gbps": Sourced(300.0, _L4_STORE),
        "tdp_w": Sourced(72.0, _L4_TDP),
    },
    "NVIDIA T4": {
        "peak_int8_tops": Sourced(130.0, _T4_TOPS),
        "mem_bandwidth_gbps": Sourced(320.0, _T4),
        "tdp_w": Sourced(70.0, _T4),
    },
    "NVIDIA Jetson AGX Orin": {
        "peak_int8_tops": Sourced(275.0, _ORIN + "; with sparsity, 64 GB module"),
        "tdp_w": Sourced(60.0, _ORIN + "; upper end of the configurable range"),
    },
    "NVIDIA Orin NX": {
        "peak_int8_tops": Sourced(100.0, _ORIN_NX + "; 16 GB module, with sparsity"),
        "tdp_w": Sourced(25.0, _ORIN_NX + "; upper end of the configurable range"),
    },
    "NVIDIA GeForce RTX 4090": {
        "mem_bandwidth_gbps": Sourced(1008.0, _4090_BW),
        "tdp_w": Sourced(450.0, _4090),
        "price_usd": Sourced(1599.0, _4090),
    },
}

_V1 = "https://github.com/tensorflow/models/blob/master/research/slim/nets/mobilenet_v1.md"
_V23 = "https://github.com/tensorflow/models/blob/master/research/slim/nets/mobilenet/README.md"
_LITE = "https://github.com/tensorflow/tpu/blob/master/models/official/efficientnet/lite/README.md"

# (million MACs, million parameters) from the model authors' tables.
_V1_TABLE = {
    ("1.0", 224): (569, 4.24),
    ("1.0", 192): (418, 4.24),
    ("1.0", 160): (291, 4.24),
    ("1.0", 128): (186, 4.24),
    ("0.75", 224): (317, 2.59),
    ("0.75", 192): (233, 2.59),
    ("0.75", 160): (162, 2.59),
    ("0.75", 128): (104, 2.59),
    ("0.5", 224): (150, 1.34),
    ("0.5", 192): (110, 1.34),
    ("0.5", 160): (77, 1.34),
    ("0.5", 128): (49, 1.34),
    ("0.25", 224): (41, 0.47),
    ("0.25", 192): (34, 0.47),
    ("0.25", 160): (21, 0.47),
    ("0.25", 128): (14, 0.47),
}
_V2_TABLE = {
    ("1.4", 224): (582, 6.06),
    ("1.3", 224): (509, 5.34),
    ("1.0", 224): (300, 3.47),
    ("1.0", 192): (221, 3.47),
    ("1.0", 160): (154, 3.47),
    ("1.0", 128): (99, 3.47),
    ("1.0", 96): (56, 3.47),
    ("0.75", 224): (209, 2.61),
    ("0.75", 192): (153, 2.61),
    ("0.75", 160): (107, 2.61),
    ("0.75", 128): (69, 2.61),
    ("0.75", 96): (39, 2.61),
    ("0.5", 224): (97, 1.95),
    ("0.5", 192): (71, 1.95),
    ("0.5", 160): (50, 1.95),
    ("0.5", 128): (32, 1.95),
    ("0.5", 96): (18, 1.95),
    ("0.35", 224): (59, 1.66),
    ("0.35", 192): (43, 1.66),
    ("0.35", 160): (30, 1.66),
    ("0.35", 128): (20, 1.66),
    ("0.35", 96): (11, 1.66),
}
_V3_TABLE = {
    "large-1.0": (217, 5.4),
    "large-0.75": (155, 4.0),
    "small-1.0": (66, 2.9),
    "small-0.75": (44, 2.4),
    "large-minimalistic-1.0": (209, 3.9),
    "small-minimalistic-1.0": (65, 2.0),
}
_LITE_TABLE = {
    "lite0": (407, 4.7),
    "lite1": (631, 5.4),
    "lite2": (899, 6.1),
    "lite3": (1440, 8.2),
    "lite4": (2640, 13.0),
}


def _build_features() -> dict[str, dict[str, Sourced]]:
    out: dict[str, dict[str, Sourced]] = {}

    def put(name: str, macs: float, params: float, src: str) -> None:
        out[name] = {"macs_m": Sourced(float(macs), src), "params_m": Sourced(float(params), src)}

    for (w, r), (macs, params) in _V1_TABLE.items():
        put(f"mobilenet-v1-{w}-{r}", macs, params, _V1)
    for (w, r), (macs, params) in _V2_TABLE.items():
        put(f"mobilenet-v2-{w}-{r}", macs, params, _V23)
    for key, (macs, params) in _V3_TABLE.items():
        size, width = key.rsplit("-", 1)
        put(f"mobilenet-v3-{size}-{width}-224", macs, params, _V23)
    for key, (macs, params) in _LITE_TABLE.items():
        put(f"efficientnet-{key}", macs, params, _LITE)
    out["resnet50"] = {
        "macs_m": Sourced(3500.0, _V23 + " ('ResNet-50 uses approximately 3500 MMAdds')"),
    }
    return out


#: Model features by precision-free benchmark name (``_names.base_model``).
MODEL_FEATURES: dict[str, dict[str, Sourced]] = _build_features()
