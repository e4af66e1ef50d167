"""``edgewise demo``: the main job, end to end on the bundled example models.

Stages: measure (LoadGen profiles of the example models), then whatever later
capabilities contribute (predict, recommend, shadow). Each stage returns a report
section; a stage that fails is reported in its section, never hidden.
"""

from __future__ import annotations

import importlib
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgewise._paths import check_writable, home
from edgewise.errors import ConfigError
from edgewise.profile import ProfileResult, ProfileSettings, profile_model, save_result
from edgewise.profile._plots import profile_section
from edgewise.report import Section, write_report
from edgewise.store import Store
from edgewise.zoo import DEMO_MODELS, write_example

#: Later stages: (title, module, function). Each function takes (workdir=, store=).
STAGES: tuple[tuple[str, str, str], ...] = (
    ("Predict", "edgewise.predict", "demo_section"),
    ("Recommend chips", "edgewise.recommend", "demo_section"),
    ("Shadow and judge", "edgewise.shadow", "demo_section"),
)


@dataclass(frozen=True)
class DemoResult:
    """What the demo did: the profiles, the sections and where the report is."""

    report_path: Path
    results: tuple[ProfileResult, ...]
    sections: tuple[Section, ...]
    seconds: float


def _stage(title: str, module: str, func: str, *, workdir: Path, store: Store) -> Section | None:
    try:
        fn = getattr(importlib.import_module(module), func, None)
    except ImportError:
        return None
    if fn is None:
        return None
    try:
        section: Section = fn(workdir=workdir, store=store)
        return section
    except Exception as exc:  # a broken stage must not hide the others
        return Section(
            title=title,
            lines=[f"this stage failed: {exc!r}", *traceback.format_exc().splitlines()[-3:]],
        )


def run_demo(
    *,
    duration_s: float = 3.0,
    store: Store | None = None,
    report_path: Path | None = None,
    on_step: Callable[[str], None] | None = None,
) -> DemoResult:
    """Build the example models, profile them, run the later stages, write the report."""
    start = time.perf_counter()
    step = on_step or (lambda _msg: None)
    if report_path is not None:
        check_writable(Path(report_path), what="the report")  # before the demo's minutes
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise ConfigError(f"--duration must be a positive number of seconds, got {duration_s}")
    # the profiler's own limits (e.g. at most a day), before anything is built or said
    ProfileSettings(duration_s=duration_s, min_queries=64, threads=1).validate()
    store = store or Store()
    workdir = home() / "demo"
    results: list[ProfileResult] = []
    for name in DEMO_MODELS:
        path = write_example(name, workdir / "models")
        step(f"profiling {name} (single-stream, {duration_s:g} s)")
        settings = ProfileSettings(duration_s=duration_s, min_queries=64, threads=1)
        results.append(save_result(profile_model(path, settings), store))
    step("profiling cnn-small (server, Poisson arrivals at half its capacity)")
    server = ProfileSettings(scenario="server", duration_s=duration_s, min_queries=64, threads=1)
    results.append(save_result(profile_model(workdir / "models" / "cnn-small.onnx", server), store))
    sections = [profile_section(results)]
    for title, module, func in STAGES:
        step(f"stage: {title.lower()}")
        section = _stage(title, module, func, workdir=workdir, store=store)
        if section is not None:
            sections.append(section)
    path = write_report(sections, title="edgewise demo", path=report_path)
    return DemoResult(
        report_path=path,
        results=tuple(results),
        sections=tuple(sections),
        seconds=time.perf_counter() - start,
    )
