"""Measure a model's latency on this machine, MLPerf-style (LoadGen scenarios).

>>> from edgewise.profile import ProfileSettings, profile_model   # doctest: +SKIP
>>> profile_model("model.onnx", ProfileSettings(duration_s=5)).to_json()["latency_ms"]["p50"]  # doctest: +SKIP
"""

from __future__ import annotations

from edgewise.profile._loadgen import SCENARIOS, LoadGenRun, LoadGenSettings, parse_detail
from edgewise.profile._result import ProfileResult
from edgewise.profile._runner import ProfileSettings, profile_model
from edgewise.profile._save import measurement_doc, save_result

__all__ = [
    "SCENARIOS",
    "LoadGenRun",
    "LoadGenSettings",
    "ProfileResult",
    "ProfileSettings",
    "measurement_doc",
    "parse_detail",
    "profile_model",
    "save_result",
]
