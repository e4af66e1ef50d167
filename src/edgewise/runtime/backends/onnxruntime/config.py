"""Options of the ONNX Runtime backend."""

from __future__ import annotations

from edgewise.errors import ConfigError, UnknownNameError
from edgewise.runtime.backends.base import BackendConfig

GRAPH_OPT_LEVELS = ("disable", "basic", "extended", "all")


def session_options(config: BackendConfig, *, profile_prefix: str | None = None) -> object:
    """``onnxruntime.SessionOptions`` for ``config``."""
    import onnxruntime as ort

    if config.graph_optimization not in GRAPH_OPT_LEVELS:
        raise ConfigError(
            f"graph optimisation must be one of {', '.join(GRAPH_OPT_LEVELS)}, "
            f"got {config.graph_optimization!r}"
        )
    so = ort.SessionOptions()
    so.graph_optimization_level = {
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[config.graph_optimization]
    if config.threads is not None:
        if config.threads < 1:
            raise ConfigError(f"--threads must be at least 1, got {config.threads}")
        so.intra_op_num_threads = config.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # fatal only: an error is raised to the caller with the same text, so ORT's own
    # coloured log line would print it twice (and break the CLI's one-line errors)
    so.log_severity_level = 4
    if profile_prefix:
        so.enable_profiling = True
        so.profile_file_prefix = profile_prefix
    return so


def resolve_providers(requested: tuple[str, ...]) -> list[str]:
    """Requested execution providers (CPU last as fallback), checked against this build."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if not requested:
        return ["CPUExecutionProvider"]
    out: list[str] = []
    for name in requested:
        full = name if name.endswith("ExecutionProvider") else f"{name}ExecutionProvider"
        match = next((a for a in available if a.lower() == full.lower()), None)
        if match is None:
            raise UnknownNameError("execution provider", name, available)
        out.append(match)
    if "CPUExecutionProvider" not in out:
        out.append("CPUExecutionProvider")
    return out
