"""The one exception tree of edgewise.

Every error the library raises on purpose derives from :class:`EdgewiseError`.
The CLI turns :class:`InputError` (and its children) into exit code 2 with a
one-line message; anything else is an internal failure (exit 1).

```
EdgewiseError
├── InputError                 bad input from the user: exit 2 / HTTP 4xx
│   ├── ModelError             missing, corrupt or unsupported model file
│   ├── ShapeError             wrong --shape / --inputs (name, rank, dtype)
│   ├── ConfigError            impossible or contradictory options
│   ├── DataError              bad CSV / Parquet rows or columns
│   ├── UnknownNameError       unknown device, chip, benchmark... (with suggestions)
│   └── StoreUnavailableError  the store URL cannot be opened
├── NotFittedError             a predictor used before fit()
├── RuntimeBackendError        the runtime failed while running a valid model
└── StoreError                 a write or read in the store failed
```
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ConfigError",
    "DataError",
    "EdgewiseError",
    "InputError",
    "ModelError",
    "NotFittedError",
    "RuntimeBackendError",
    "ShapeError",
    "StoreError",
    "StoreUnavailableError",
    "UnknownNameError",
]


class EdgewiseError(Exception):
    """Base class of every error edgewise raises on purpose."""


class InputError(EdgewiseError):
    """The user's input is wrong; the message says what and how to fix it."""


class ModelError(InputError):
    """A model file is missing, corrupt or unsupported."""


class ShapeError(InputError):
    """Input shapes or dtypes do not match the model's signature."""


class ConfigError(InputError):
    """Options are impossible or contradict each other."""


class DataError(InputError):
    """A data file has bad columns or rows."""


#: How many known names an :class:`UnknownNameError` lists when none is close.
MAX_LISTED_NAMES = 8


class UnknownNameError(InputError):
    """A name (device, chip, benchmark...) is unknown; suggests close matches.

    >>> raise UnknownNameError("device", "rasp4", ["raspi4", "pixel2"])
    Traceback (most recent call last):
    ...
    edgewise.errors.UnknownNameError: unknown device 'rasp4' (did you mean 'raspi4'?)
    >>> raise UnknownNameError("device", "jetson", ["raspi4", "pixel2"])
    Traceback (most recent call last):
    ...
    edgewise.errors.UnknownNameError: unknown device 'jetson' (known: pixel2, raspi4)
    """

    def __init__(self, kind: str, name: str, known: Iterable[str] = (), advice: str = "") -> None:
        self.kind = kind
        self.name = name
        self.suggestions = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
        hint = ""
        names = sorted(set(known))
        if self.suggestions:
            hint = " (did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?)"
        elif names:  # nothing close: say what there is (the first few of a long list)
            more = f", ... {len(names)} in all" if len(names) > MAX_LISTED_NAMES else ""
            hint = f" (known: {', '.join(names[:MAX_LISTED_NAMES])}{more})"
        super().__init__(f"unknown {kind} {name!r}{hint}{': ' + advice if advice else ''}")


class StoreUnavailableError(InputError):
    """The store URL cannot be opened (bad URL, unreachable server)."""


class NotFittedError(EdgewiseError, ValueError):
    """A predictor was used before ``fit``; mirrors sklearn's NotFittedError."""


class RuntimeBackendError(EdgewiseError):
    """The runtime failed while running a model that loaded correctly."""


class StoreError(EdgewiseError):
    """A store read or write failed for a reason other than bad input."""
