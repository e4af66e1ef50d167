"""The ``edgewise`` command line: a thin layer over the library.

Exit codes: 0 success, 2 usage or input error (one line, no traceback),
1 internal failure.
"""

from __future__ import annotations

import importlib

from edgewise.cli._app import app

# Each module registers its commands on ``app``. Keep this list sorted.
_COMMAND_MODULES = (
    "_catalog",
    "_data",
    "_demo",
    "_deploy",
    "_measurements",
    "_predict",
    "_profile",
    "_recommend",
    "_serve",
    "_shadow",
)
for _name in _COMMAND_MODULES:
    importlib.import_module(f"edgewise.cli.{_name}")

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
