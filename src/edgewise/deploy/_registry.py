"""The deployment registry: every gate decision, promotion and rollback, with its reason.

>>> events = list_deployments(limit=5)     # doctest: +SKIP
>>> events[0].event, events[0].verdict      # doctest: +SKIP
('promote', 'PASS')
"""

from __future__ import annotations

from edgewise.errors import ConfigError
from edgewise.store import DeploymentRecord, Store
from edgewise.store._shadow_records import EVENTS


def list_deployments(
    *,
    store: Store | None = None,
    model_sha256: str | None = None,
    device: str | None = None,
    event: str | None = None,
    limit: int | None = 50,
) -> list[DeploymentRecord]:
    """Deployment events, newest first."""
    if event is not None and event not in EVENTS:
        raise ConfigError(f"--event must be one of {', '.join(EVENTS)}, got {event!r}")
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit must be >= 1, got {limit}")
    store = store or Store()
    return store.list_deployments(
        model_sha256=model_sha256, device=device, event=event, limit=limit
    )
