"""The ``Store``: the only place that runs SQL.

>>> store = Store("sqlite://")          # in-memory
>>> store.list_measurements()
[]
"""

from __future__ import annotations

from edgewise.store._base import ENV_VAR, StoreBase, default_url
from edgewise.store._catalog import CatalogMixin
from edgewise.store._measurements import MeasurementsMixin
from edgewise.store._shadow import ShadowMixin

__all__ = ["ENV_VAR", "Store", "StoreBase", "default_url"]


class Store(MeasurementsMixin, CatalogMixin, ShadowMixin, StoreBase):
    """Wraps one database (SQLite or PostgreSQL) and migrates it to the latest schema.

    Every write runs in one transaction: it lands whole or not at all. The methods
    live in one mixin per area (measurements, catalog, shadow); this class joins them.
    """
