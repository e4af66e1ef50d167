"""The environment fingerprint: what the machine is and how busy it was."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
from pathlib import Path
from typing import Any

_CPUFREQ = Path("/sys/devices/system/cpu/cpu0/cpufreq")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def cpu_model() -> str:
    text = _read(Path("/proc/cpuinfo")) or ""
    for line in text.splitlines():
        if line.lower().startswith(("model name", "hardware", "cpu model")):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def cpu_freq_mhz() -> dict[str, float | None]:
    """Current/min/max frequency of cpu0 in MHz, where the kernel exposes them."""
    out: dict[str, float | None] = {}
    for key, name in (
        ("cur", "scaling_cur_freq"),
        ("min", "cpuinfo_min_freq"),
        ("max", "cpuinfo_max_freq"),
    ):
        raw = _read(_CPUFREQ / name)
        out[f"{key}_mhz"] = float(raw) / 1000.0 if raw and raw.isdigit() else None
    return out


def max_temperature_c() -> float | None:
    """Hottest thermal zone in °C, if any are readable."""
    temps = []
    for zone in Path("/sys/class/thermal").glob("thermal_zone*/temp"):
        raw = _read(zone)
        if raw and raw.lstrip("-").isdigit():
            temps.append(int(raw) / 1000.0)
    return max(temps) if temps else None


def load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:
        return None


def collect(
    *, threads: int | None = None, runtime_versions: dict[str, str] | None = None
) -> dict[str, Any]:
    """A JSON-ready fingerprint of this machine and its state right now."""
    import numpy
    import psutil

    from edgewise import __version__

    freq = cpu_freq_mhz()
    load = load_average()
    return {
        "hostname": socket.gethostname(),
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "cores_physical": psutil.cpu_count(logical=False),
        "cores_logical": psutil.cpu_count(logical=True),
        "governor": _read(_CPUFREQ / "scaling_governor"),
        "freq": freq,
        "temperature_c": max_temperature_c(),
        "load_avg": list(load) if load else None,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "threads": threads,
        "versions": {
            "python": platform.python_version(),
            "edgewise": __version__,
            "numpy": numpy.__version__,
            **(runtime_versions or {}),
        },
    }


def identity_sha(fingerprint: dict[str, Any]) -> str:
    """A hash of what identifies the hardware (not its momentary state)."""
    keys = ("hostname", "os", "machine", "cpu_model", "cores_logical", "memory_gb")
    ident = {k: fingerprint.get(k) for k in keys}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


def default_device_name() -> str:
    """``$EDGEWISE_DEVICE``, else this machine's hostname."""
    return os.environ.get("EDGEWISE_DEVICE") or socket.gethostname()
