"""Names: canonical benchmark and chip names, chip kinds, and did-you-mean lookups.

MLPerf spells one workload several ways across rounds (``resnet`` and ``resnet50``;
``mobilenet-v1-1.0-224-quantized`` and ``mobilenet-v1-precision_uint8-1.0-224``), and
the 99/99.9 accuracy variants repeat the same performance number. We fold them into
one canonical name so that one benchmark is one column of the latency matrix.

>>> canonical_benchmark("bert-99.9")
'bert'
>>> canonical_benchmark("mobilenet-v1-precision_uint8-0.50-224")
'mobilenet-v1-0.5-224-int8'
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from edgewise.errors import ConfigError, UnknownNameError

#: The chip kinds the catalog knows.
CHIP_KINDS = ("cpu", "gpu", "npu", "dsp", "mcu", "fpga", "unknown")

#: Scenario spellings accepted from users and from the store, mapped to LoadGen's names.
_SCENARIOS = {
    "singlestream": "SingleStream",
    "multistream": "MultiStream",
    "server": "Server",
    "offline": "Offline",
    "interactive": "Interactive",
}

# Chips that MLPerf submitters spelled differently: alias -> canonical name.
CHIP_ALIASES: dict[str, str] = {
    "NVIDIA GeForce RTX 4090 (Ada Lovelace)": "NVIDIA GeForce RTX 4090",
    "Tesla T4": "NVIDIA T4",
    "NVIDIA L4-PCIe-24GB": "NVIDIA L4",
    "NVIDIA RTX A5000 GPU": "NVIDIA RTX A5000",
    "titan_xp": "titanxp",
}

_PREC = {"non-quantized": "fp32", "quantized": "int8", "float": "fp32", "uint8": "int8"}
_PREC.update({"fp32": "fp32", "int8": "int8"})


def _width(text: str) -> str:
    value = float(text)
    out = f"{value:g}"
    return out if "." in out else out + ".0"


_BENCH_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^mobilenet-v([12])-([\d.]+)-(\d+)-(non-quantized|quantized)$"), "v12"),
    (re.compile(r"^mobilenet-v([12])-precision_(float|uint8)-([\d.]+)-(\d+)$"), "v12p"),
    (
        re.compile(r"^mobilenet-v3-(large|small)(-minimalistic)?_(\d+)_([\d.]+)_(float|uint8)$"),
        "v3",
    ),
    (
        re.compile(r"^mobilenet-v3-precision_(float|uint8)-(large|small)(-minimalistic)?-(\d+)$"),
        "v3p",
    ),
    (re.compile(r"^efficientnet-(lite\d)-(non-quantized|quantized)$"), "eff"),
    (re.compile(r"^efficientnet-(fp32|int8)-(lite\d)$"), "effp"),
]


def canonical_benchmark(name: str) -> str:
    """One spelling per workload: strips the 99/99.9 accuracy suffix, unifies variants."""
    raw = name.strip()
    for pattern, kind in _BENCH_RULES:
        m = pattern.match(raw)
        if m is None:
            continue
        g = m.groups()
        if kind == "v12":
            return f"mobilenet-v{g[0]}-{_width(g[1])}-{g[2]}-{_PREC[g[3]]}"
        if kind == "v12p":
            return f"mobilenet-v{g[0]}-{_width(g[2])}-{g[3]}-{_PREC[g[1]]}"
        if kind == "v3":
            return f"mobilenet-v3-{g[0]}{g[1] or ''}-{_width(g[3])}-{g[2]}-{_PREC[g[4]]}"
        if kind == "v3p":
            return f"mobilenet-v3-{g[1]}{g[2] or ''}-1.0-{g[3]}-{_PREC[g[0]]}"
        if kind == "eff":
            return f"efficientnet-{g[0]}-{_PREC[g[1]]}"
        return f"efficientnet-{g[1]}-{_PREC[g[0]]}"
    out = re.sub(r"-99(\.9)?$", "", raw)
    return "resnet50" if out == "resnet" else out


def base_model(benchmark: str) -> str:
    """The benchmark without its precision suffix (features are shared by fp32 and int8)."""
    return re.sub(r"-(fp32|int8)$", "", benchmark)


def is_int8(benchmark: str) -> bool:
    return benchmark.endswith("-int8")


def canonical_scenario(name: str) -> str:
    """LoadGen's spelling of a scenario (``single-stream`` -> ``SingleStream``)."""
    key = re.sub(r"[\s_-]", "", name).lower()
    if key in _SCENARIOS:
        return _SCENARIOS[key]
    if re.fullmatch(r"batch\d+", key):
        return f"batch-{key[5:]}"
    raise UnknownNameError("scenario", name, list(_SCENARIOS.values()))


def canonical_chip(name: str) -> str:
    name = " ".join(name.split())
    return CHIP_ALIASES.get(name, name)


_KIND_RULES: list[tuple[str, str]] = [
    (r"cortex-m|rh850|risc-v|riscv", "mcu"),
    (r"xc7z|fpga", "fpga"),
    (r"\bdsp\b|sensing hub", "dsp"),
    (r"eyeriss|tpu|npu|cloud ai|speedai|rbln|mlsoc|moffett|recaccel|syntiant|ne16|anpu", "npu"),
    (r"nvidia|geforce|tesla|mali|radeon|arc\(tm\)|arc pro|instinct|mi3\d\d|adreno|gpu", "gpu"),
    (r"1080ti|2080ti|titan|v100|jetson|orin", "gpu"),
    (r"xeon|epyc|ryzen|core\(tm\)|gold_|silver_|pixel|samsung|essential|raspi|cortex-a|arm", "cpu"),
]


def infer_kind(chip: str, *, hint: str = "") -> str:
    """Chip kind from MLPerf's ``chip_kind`` hint and the name (CPU/GPU/NPU/DSP/MCU/FPGA)."""
    if hint.strip().lower() == "cpu":
        return "cpu"
    low = chip.lower()
    for pattern, kind in _KIND_RULES:
        if re.search(pattern, low):
            return kind
    return "unknown"


def infer_vendor(chip: str) -> str:
    low = chip.lower()
    for key, vendor in (
        ("nvidia", "NVIDIA"),
        ("geforce", "NVIDIA"),
        ("tesla", "NVIDIA"),
        ("jetson", "NVIDIA"),
        ("1080ti", "NVIDIA"),
        ("2080ti", "NVIDIA"),
        ("titan", "NVIDIA"),
        ("v100", "NVIDIA"),
        ("amd", "AMD"),
        ("intel", "Intel"),
        ("xeon", "Intel"),
        ("gold_", "Intel"),
        ("silver_", "Intel"),
        ("qualcomm", "Qualcomm"),
        ("apple", "Apple"),
        ("rockchip", "Rockchip"),
        ("amlogic", "Amlogic"),
        ("mali", "Arm"),
        ("arm", "Arm"),
        ("cortex", "Arm"),
        ("pixel", "Google"),
        ("samsung", "Samsung"),
        ("raspi", "Raspberry Pi"),
        ("syntiant", "Syntiant"),
        ("xc7z", "AMD Xilinx"),
        ("untether", "UntetherAI"),
    ):
        if key in low:
            return vendor
    return ""


def resolve(kind: str, name: str, known: Iterable[str]) -> str:
    """``name`` if known (case-insensitive, or a unique substring); else UnknownNameError."""
    known_list = list(known)
    if name in known_list:
        return name
    low = name.strip().lower()
    exact = [k for k in known_list if k.lower() == low]
    if len(exact) == 1:
        return exact[0]
    canon = canonical_chip(name) if kind == "chip" else canonical_benchmark(name)
    if canon in known_list:
        return canon
    partial = [k for k in known_list if low and low in k.lower()]
    if len(partial) == 1:
        return partial[0]
    word = re.compile(rf"(?<![\w-]){re.escape(low)}(?![\w-])")
    whole = [k for k in partial if word.search(k.lower())]
    if len(whole) == 1:
        return whole[0]
    if len(partial) > 1:
        shown = ", ".join(repr(p) for p in sorted(partial)[:5])
        more = f" and {len(partial) - 5} more" if len(partial) > 5 else ""
        raise ConfigError(f"{kind} {name!r} is ambiguous: it matches {shown}{more}")
    raise UnknownNameError(kind, name, known_list)
