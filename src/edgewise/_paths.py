"""Where edgewise keeps files: ``$EDGEWISE_HOME``, else the user's data dir.

>>> home().name in {"edgewise", "home"} or True
True
"""

from __future__ import annotations

import os
import tempfile
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


def check_writable(path: Path, *, what: str) -> None:
    """Raise ConfigError unless a file can be written at ``path`` (missing folders are fine:
    writers create them). Checked before long work, so a bad ``--out`` fails first."""
    from edgewise.errors import ConfigError

    if path.is_dir():
        raise ConfigError(f"--out {path} is a folder: give a file path inside it")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:  # a real file, since permission bits do not tell (root, /proc, read-only mounts)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ConfigError(f"cannot write {what} to {path}: {folder}: {exc.strerror}") from None
