"""Settings of a shadow gateway: who is production, who are candidates, how to judge.

>>> cfg = ShadowConfig(production="prod.onnx", candidates=("cand.onnx",))
>>> cfg.mirror_percent, cfg.host
(100.0, '127.0.0.1')
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgewise.errors import ConfigError
from edgewise.shadow.gateway._cpus import span

#: A served model name: it is part of the URL path (/v2/models/{name}/infer).
_NAME = re.compile(r"[A-Za-z0-9._-]{1,128}")


@dataclass(frozen=True)
class ShadowConfig:
    """Everything ``edgewise shadow serve`` takes.

    Production is a model file (``production``, run in a local worker process) or an
    existing OIP server (``production_url``, proxy mode); so is each candidate. With
    no candidate the gateway just serves production.
    ``candidate_cpus`` holds one CPU set per candidate, or one shared by all.
    ``gateway_cpus`` pins the gateway process itself (HTTP, parsing, mirroring).
    The recorder (pairing, judging, store writes) is shadow work: it runs on the
    candidates' CPUs when every candidate is pinned, else beside the gateway.
    ``baseline`` mirrors requests to a second worker running production's own model
    too (on ``baseline_cpus``, by default the first candidate's) and judges each
    candidate against it instead of against production: both then run in the shadow
    role, in the same place, so placement cannot look like a regression (Kayenta's
    baseline-vs-canary rule; docs/shadow.md, "A/A").
    """

    production: str | None = None
    candidates: tuple[str, ...] = ()
    production_url: str | None = None
    candidate_urls: tuple[str, ...] = ()
    name: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    mirror_percent: float = 100.0
    production_cpus: tuple[int, ...] = ()
    candidate_cpus: tuple[tuple[int, ...], ...] = ()
    gateway_cpus: tuple[int, ...] = ()
    threads: int | None = None
    candidate_nice: int = 0
    baseline: bool = False
    baseline_cpus: tuple[int, ...] = ()
    auto: bool = False
    device: str | None = None
    quantiles: tuple[float, ...] = (0.5, 0.99)
    tolerance: float = 0.10
    alpha: float = 0.05
    max_disagreement: float | None = 0.01
    warmup: int = 100
    look_every: int = 500
    max_requests: int = 60_000
    candidate_timeout_ms: float = 1000.0
    queue_size: int = 64
    max_body_bytes: int = 64 << 20
    body_timeout_s: float = 30.0  # a body that has not fully arrived by then gets a 408
    flush_interval_s: float = 0.5
    rel_tol: float = 1e-2
    ratio_bounds: bool = True  # bounds on each quantile ratio in the reasons (~1 ms a look)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.production and not self.production_url:  # "" is not a production
            raise ConfigError("give production: --production MODEL or --production-url URL")
        if self.production and self.production_url:
            raise ConfigError("give production as a model file or as --production-url, not both")
        if not 0.0 <= self.mirror_percent <= 100.0 or math.isnan(self.mirror_percent):
            raise ConfigError(f"--mirror-percent must be in [0, 100], got {self.mirror_percent}")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port must be in [0, 65535], got {self.port}")
        if self.name is not None and not _NAME.fullmatch(self.name):
            raise ConfigError(
                f"--name must be 1-128 letters, digits, '.', '_' or '-' (it is part of the "
                f"URL path), got {self.name!r}"
            )
        n = len(self.candidates) + len(self.candidate_urls)
        if len(self.candidate_cpus) not in (0, 1, n):
            raise ConfigError(
                f"give --candidate-cpus once (shared) or once per candidate ({n}), "
                f"got {len(self.candidate_cpus)}"
            )
        for label, value, low in (
            ("--candidate-timeout-ms", self.candidate_timeout_ms, 1.0),
            ("--queue-size", self.queue_size, 1),
            ("--max-body-bytes", self.max_body_bytes, 1024),
            ("--body-timeout", self.body_timeout_s, 0.1),
            ("--flush-interval", self.flush_interval_s, 0.01),
        ):
            # finite too: at an infinite flush interval nothing is judged until shutdown
            if not (value >= low and math.isfinite(value)):
                raise ConfigError(f"{label} must be a finite number >= {low}, got {value}")
        usable = set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        for label, cpus in (
            ("--production-cpus", self.production_cpus),
            ("--gateway-cpus", self.gateway_cpus),
            ("--baseline-cpus", self.baseline_cpus),
            *(("--candidate-cpus", c) for c in self.candidate_cpus),
        ):
            if usable is not None and not set(cpus) <= usable:
                raise ConfigError(
                    f"{label} names CPU {min(set(cpus) - usable)}, but this process may use "
                    f"only {span(usable)}"
                )
        if not 0 <= self.candidate_nice <= 19:
            raise ConfigError(f"--candidate-nice must be in [0, 19], got {self.candidate_nice}")
        if self.baseline and self.production is None:
            raise ConfigError(
                "--baseline runs production's model in a worker: give --production MODEL"
            )
        if self.baseline and n == 0:
            raise ConfigError("--baseline needs a candidate to judge against it")
        if self.baseline_cpus and not self.baseline:
            raise ConfigError("--baseline-cpus needs --baseline")
        for path in (self.production, *self.candidates):
            if path is not None and not Path(path).expanduser().is_file():
                raise ConfigError(f"model file not found: {path}")
        if n:
            # The judge runs in the recorder process, after the run is registered: build
            # one here so bad settings fail before anything starts or is stored.
            from edgewise.shadow._judge import Judge

            Judge(["check"], **self.judge_settings())

    def judge_settings(self) -> dict[str, Any]:
        """The keyword arguments of the recorder's :class:`~edgewise.shadow.Judge`."""
        return {
            "quantiles": self.quantiles,
            "tolerance": self.tolerance,
            "alpha": self.alpha,
            "max_disagreement": self.max_disagreement,
            "warmup": self.warmup,
            "look_every": self.look_every,
            "max_requests": self.max_requests,
            "ratio_bounds": self.ratio_bounds,
        }

    def cpus_for(self, index: int) -> tuple[int, ...]:
        """The CPU set of candidate ``index`` (empty: not pinned)."""
        if not self.candidate_cpus:
            return ()
        return self.candidate_cpus[0 if len(self.candidate_cpus) == 1 else index]

    def baseline_cpus_or_default(self) -> tuple[int, ...]:
        """The baseline's CPU set: ``baseline_cpus``, else the first candidate's."""
        return self.baseline_cpus or self.cpus_for(0)

    def recorder_cpus(self) -> tuple[int, ...]:
        """Where the recorder runs: the shadow replicas' CPUs if all are pinned (else inherit)."""
        n = len(self.candidates) + len(self.candidate_urls)
        if not self.candidate_cpus or n == 0:
            return ()
        cpus = {c for i in range(n) for c in self.cpus_for(i)}
        if self.baseline:
            cpus |= set(self.baseline_cpus_or_default())
        return tuple(sorted(cpus))

    def served_name(self) -> str:
        """The model name clients use: ``name``, else the production file's stem."""
        if self.name:
            return self.name
        if self.production is not None:
            return Path(self.production).stem
        base, sep, rest = (self.production_url or "").rstrip("/").partition("/v2/models/")
        return rest.split("/")[0] if sep else "model"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["candidates"] = list(self.candidates)
        return out


def parse_percent(text: str | float, *, what: str) -> float:
    """``"10%"`` or ``"0.1"`` -> 0.1.

    >>> parse_percent("10%", what="tolerance"), parse_percent("0.05", what="alpha")
    (0.1, 0.05)
    """
    raw = str(text).strip()
    try:
        value = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ConfigError(
            f"{what} must be a fraction like 0.1 or a percentage like 10%, got {text!r}"
        ) from None
    if math.isnan(value) or value < 0:
        raise ConfigError(f"{what} must be >= 0, got {text!r}")
    return value
