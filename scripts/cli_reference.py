#!/usr/bin/env python3
"""Generate docs/cli-reference.md from every command's --help (like sqlite-utils' cog).

python scripts/cli_reference.py          # rewrite the file
python scripts/cli_reference.py --check  # exit 1 if it is stale
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["COLUMNS"] = "100"
os.environ["TERM"] = "dumb"
os.environ["NO_COLOR"] = "1"

from typer.main import get_command  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from edgewise.cli import app  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "cli-reference.md"


def _commands(group, prefix=()):  # type: ignore[no-untyped-def]
    for name, cmd in sorted(group.commands.items()):
        path = (*prefix, name)
        yield path
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, path)


def render() -> str:
    runner = CliRunner()
    parts = [
        "# CLI reference\n",
        "Generated from `--help` by `python scripts/cli_reference.py`; do not edit by hand.\n",
        "Exit codes: 0 success, 2 bad input or usage (one line on stderr), 1 internal failure.\n",
    ]
    for path in _commands(get_command(app)):
        res = runner.invoke(app, [*path, "--help"], terminal_width=100, color=False)
        parts.append(f"## edgewise {' '.join(path)}\n")
        body = "\n".join(line.rstrip() for line in res.stdout.strip("\n").splitlines())
        parts.append("```\n" + body.strip("\n") + "\n```\n")
    return "\n".join(parts)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is stale: run python scripts/cli_reference.py")
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
