"""CPU sets: parse ``--*-cpus`` values and pin a process to one.

>>> span(set(parse_cpus("0-2,5")))
'0-2,5'
"""

from __future__ import annotations

import os


def parse_cpus(text: str | None) -> tuple[int, ...]:
    """``"0"``, ``"0,2"`` or ``"0-3"`` -> CPU ids; empty for None/"".

    >>> parse_cpus("0-2,5")
    (0, 1, 2, 5)
    """
    if not text:
        return ()
    cpus: list[int] = []
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        if sep:
            if int(hi) < int(lo):
                raise ValueError(f"CPU range {part.strip()!r} runs backwards")
            cpus.extend(range(int(lo), int(hi) + 1))
        else:
            cpus.append(int(lo))
    return tuple(sorted(set(cpus)))


def pin_process(cpus: tuple[int, ...]) -> None:
    """Pin every thread of this process (and what it starts later) to ``cpus``.

    ``os.sched_setaffinity(0, ...)`` moves only the calling thread on Linux; the
    gateway already has threads (uvicorn's, the default executor's) when it pins.
    """
    if not cpus:
        return
    try:
        tids = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        tids = [0]
    for tid in tids:
        try:
            os.sched_setaffinity(tid, cpus)
        except ProcessLookupError:
            pass  # a thread that just ended


def span(cpus: set[int]) -> str:
    """``{0, 1, 2, 5}`` -> ``"0-2,5"`` (the inverse of ``parse_cpus``)."""
    runs: list[list[int]] = []
    for c in sorted(cpus):
        if runs and c == runs[-1][1] + 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
