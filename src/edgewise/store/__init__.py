"""The store: devices, models, measurements and latency tables, behind one ``Store`` class.

``EDGEWISE_DB`` (an SQLAlchemy URL) picks the database; the default is an SQLite
file in the user's data dir. PostgreSQL works through the same code.
"""

from __future__ import annotations

from edgewise.store._records import (
    CatalogResultRecord,
    ChipRecord,
    DeviceRecord,
    LatencyRecord,
    MeasurementRecord,
    ModelRecord,
)
from edgewise.store._shadow_records import (
    DeploymentRecord,
    ShadowPairRecord,
    ShadowRunRecord,
    ShadowVerdictRecord,
)
from edgewise.store._store import ENV_VAR, Store, default_url

__all__ = [
    "ENV_VAR",
    "CatalogResultRecord",
    "ChipRecord",
    "DeploymentRecord",
    "DeviceRecord",
    "LatencyRecord",
    "MeasurementRecord",
    "ModelRecord",
    "ShadowPairRecord",
    "ShadowRunRecord",
    "ShadowVerdictRecord",
    "Store",
    "default_url",
]
