"""Argument checks shared by the library's entry points (settings, hyperparameters, stats).

A bool is not a number here (``True`` is not a count), NumPy's scalars are.

>>> is_int(3), is_int(True), is_number(2.5), is_number("2.5")
(True, False, True, False)
"""

from __future__ import annotations

import numbers

from edgewise.errors import ConfigError


def is_int(value: object) -> bool:
    """An integer (NumPy's too), not a bool, a float or a string."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    """A real number (NumPy's too), not a bool or a string."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_int(name: str, value: object, low: int, high: int | None = None) -> None:
    """:class:`ConfigError` unless ``value`` is an integer in ``[low, high]`` (no upper
    bound when ``high`` is None)."""
    if not is_int(value):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    number = int(value)  # type: ignore[call-overload]
    if high is None and number < low:
        raise ConfigError(f"{name} must be at least {low}, got {number}")
    if high is not None and not low <= number <= high:
        raise ConfigError(f"{name} must be between {low} and {high:,}, got {number}")
