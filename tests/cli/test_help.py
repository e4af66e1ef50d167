"""Every command has --help, and every command is in the CLI reference (sqlite-utils' test_docs)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from edgewise.cli import app

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli-reference.md"


def _commands(group, prefix=()):  # type: ignore[no-untyped-def]
    for name, cmd in sorted(group.commands.items()):
        path = (*prefix, name)
        yield path
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, path)


COMMANDS = list(_commands(get_command(app)))


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_help(path: tuple[str, ...]) -> None:
    res = CliRunner().invoke(app, [*path, "--help"])
    assert res.exit_code == 0, res.output
    assert "Usage" in res.stdout


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_command_is_documented(path: tuple[str, ...]) -> None:
    assert f"## edgewise {' '.join(path)}\n" in DOCS.read_text(), (
        f"run `python scripts/cli_reference.py` to regenerate {DOCS.name}"
    )


def test_cli_reference_is_current() -> None:
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "scripts" / "cli_reference.py"
    out = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["profile", "model.onnx", "--duration", "abc"], "Invalid value for '--duration'"),
        (["profile"], "Missing argument"),
        (["profiel"], "Did you mean 'profile'"),
        (["measurements", "show", "-1"], "No such option"),
        (["recommend", "resnet50", "--slo-ms"], "requires an argument"),
    ],
)
def test_usage_errors_are_one_line_exit_2(args: list[str], needle: str) -> None:
    """Typer's usage text and boxed panel become the same one line as every other error."""
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], lines


def test_version_matches_the_installed_package() -> None:
    from importlib.metadata import version

    for flag in ("--version", "-V"):
        res = CliRunner().invoke(app, [flag])
        assert res.exit_code == 0 and res.stdout == f"edgewise {version('edgewise')}\n"
