"""edgewise: deploy on-device ML models with confidence.

Measure a model's latency on a device (``edgewise.profile``), predict it from the
graph (``edgewise.predict``), shadow candidates and judge them, and recommend chips.
Heavy runtimes are imported only by the modules that need them.
"""

from __future__ import annotations

from edgewise.errors import EdgewiseError, InputError

__version__ = "0.1.0"

__all__ = ["EdgewiseError", "InputError", "__version__"]
