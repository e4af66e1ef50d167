"""The root Typer app and the helpers every command module shares.

Command modules (``edgewise.cli._*``) register on :data:`app` at import time.
They import heavy libraries inside the command body, so ``edgewise --help`` is fast.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table as _RichTable
from rich.text import Text
from typer.core import TyperGroup

from edgewise._json import json_safe
from edgewise.errors import EdgewiseError, InputError

SHAPE_OPTION: Any = typer.Option(
    [],
    "--shape",
    help="Bind a dynamic input, INPUT=1x3x224x224, or a named dimension in every input, "
    "DIM=4 (repeatable).",
)


def parse_shapes(items: Sequence[str]) -> dict[str, tuple[int, ...]] | None:
    """``--shape`` options as ``shapes=`` for the library (None when there are none)."""
    if not items:
        return None
    from edgewise.runtime import parse_shape_overrides

    return parse_shape_overrides(items)


class Table(_RichTable):
    """A rich ``Table`` whose string cells are plain text: a stored name such as a device
    called ``[/d]`` is not markup (it crashed every listing that showed it). A cell that
    means markup passes ``Text.from_markup(...)``."""

    def add_row(self, *cells: Any, **kwargs: Any) -> None:
        super().add_row(*(Text(c) if isinstance(c, str) else c for c in cells), **kwargs)


#: The most rows a ``--limit`` asks for (a bigger int overflowed the database driver).
MAX_LIMIT = 1_000_000


def fail(message: str, *, exit_code: int) -> typer.Exit:
    """Print a one-line error to stderr and return the ``typer.Exit`` to raise."""
    label = "error" if exit_code == 2 else "failed"
    first = message.strip().splitlines()[0] if message.strip() else "unknown error"
    # escape: a message such as "input 'x' [batch,3,width]" is not rich markup
    err_console.print(f"[bold red]{label}:[/] {escape(first)}", highlight=False, soft_wrap=True)
    return typer.Exit(code=exit_code)


def _exit(code: int) -> NoReturn:
    loadgen = sys.modules.get("edgewise.profile._loadgen")
    if loadgen is not None and loadgen.busy():
        # A profile's test abandoned by Ctrl-C is still in LoadGen's C++ on a daemon
        # thread (LoadGen has no abort): finalizing the interpreter under it aborts the
        # process, so leave now. Nothing is stored before a profile ends.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


class _RootGroup(TyperGroup):
    """Turns :class:`EdgewiseError` into one line on stderr and an exit code, for every command.

    Usage errors (a bad option value, a missing argument, an unknown command) get the same
    one line and exit 2, instead of Typer's usage text and boxed panel.
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        kwargs = {"windows_expand_args": windows_expand_args, **extra}
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **kwargs)
        from typer._click import exceptions as click_exc
        from typer.exceptions import Abort

        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **kwargs)
        except click_exc.NoArgsIsHelpError as exc:  # `edgewise shadow`: the group's help
            exc.show()
            sys.exit(exc.exit_code)
        except click_exc.ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            code = exc.exit_code if exc.exit_code else 1
            raise SystemExit(fail(exc.format_message() + hint, exit_code=code).exit_code) from None
        except Abort:
            rv = 130
        if rv == 130:  # Ctrl-C (Typer turns KeyboardInterrupt into Exit(130))
            err_console.print("interrupted", highlight=False)
        _exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except InputError as exc:
            raise fail(str(exc) or type(exc).__name__, exit_code=2) from None
        except EdgewiseError as exc:
            raise fail(str(exc) or type(exc).__name__, exit_code=1) from None


app = typer.Typer(
    name="edgewise",
    cls=_RootGroup,
    help="Deploy on-device ML models with confidence: measure, predict, shadow, recommend.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        from edgewise import __version__

        sys.stdout.write(f"edgewise {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        callback=_show_version,
        is_eager=True,
        help="Print edgewise's version and exit.",
    ),
) -> None:
    """Deploy on-device ML models with confidence: measure, predict, shadow, recommend."""


#: Human output goes to stdout; progress and warnings to stderr.
console = Console()
err_console = Console(stderr=True)

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON to stdout.")


def split_list(values: list[str]) -> list[str] | None:
    """Repeated and comma-separated option values as one list (None if empty)."""
    out = [v.strip() for item in values for v in item.split(",") if v.strip()]
    return out or None


def print_json(obj: Any) -> None:
    """Write ``obj`` as JSON to stdout (not through rich, so nothing is wrapped)."""
    sys.stdout.write(json.dumps(json_safe(obj), indent=2, default=str) + "\n")
    sys.stdout.flush()
