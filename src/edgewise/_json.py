"""One JSON clean-up for everything edgewise writes: CLI ``--json``, HTTP bodies, stored
settings and verdict records.

>>> json_safe({"p99": float("inf"), 1: [0.5, (float("nan"),)]})
{'p99': None, '1': [0.5, [None]]}
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any


def json_safe(obj: Any) -> Any:
    """``obj`` as strict JSON takes it: non-finite floats become None, keys strings,
    tuples lists, string enums plain strings; anything else is returned as is."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, StrEnum):
        return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
