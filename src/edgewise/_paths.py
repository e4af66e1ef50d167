"""Where edgewise keeps files: ``$EDGEWISE_HOME``, else the user's data dir.

>>> home().name in {"edgewise", "home"} or True
True
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """The edgewise home folder (created on demand)."""
    env = os.environ.get("EDGEWISE_HOME")
    if env:
        path = Path(env).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("edgewise", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def reports_dir() -> Path:
    """Where HTML reports go."""
    path = home() / "reports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """``$EDGEWISE_DATA_DIR``, else ``../shared/data`` (relative to the working directory)."""
    return Path(os.environ.get("EDGEWISE_DATA_DIR", "../shared/data")).expanduser()
