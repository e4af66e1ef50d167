"""Every public package exports a sorted ``__all__`` whose names exist (httpx's guard)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import edgewise

PACKAGES = sorted(
    m.name
    for m in pkgutil.walk_packages(edgewise.__path__, "edgewise.")
    if m.ispkg
    and not any(part.startswith("_") for part in m.name.split("."))
    and ".migrations" not in m.name
)


def isort_key(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: SCREAMING_CASE, then CamelCase, then the rest, each alphabetical."""
    if name.isupper() or (name.upper() == name and "_" in name):
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


@pytest.mark.parametrize("name", ["edgewise", *PACKAGES])
def test_all_is_sorted_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert list(exported) == sorted(exported, key=isort_key), f"{name}.__all__ is not sorted"
    for attr in exported:
        assert hasattr(module, attr), f"{name}.{attr} is missing"


def test_importing_edgewise_stays_light() -> None:
    import subprocess
    import sys

    code = "import sys, edgewise, edgewise.cli; print(sorted(m for m in ('onnxruntime', 'lightgbm', 'torch', 'plotly', 'sklearn') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
