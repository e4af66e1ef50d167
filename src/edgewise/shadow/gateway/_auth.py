"""The bearer token that guards mutating endpoints (promote, rollback).

``$EDGEWISE_TOKEN`` if set, else a random token kept in ``<EDGEWISE_HOME>/token``
(created on first use, mode 0600). Clients on the same machine read the same file.

>>> check_bearer("Bearer abc", "abc"), check_bearer(None, "abc"), check_bearer("Bearer ", "")
(True, False, False)
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from edgewise._paths import home
from edgewise.errors import ConfigError

TOKEN_ENV = "EDGEWISE_TOKEN"


def token_path() -> Path:
    return home() / "token"


def api_token(*, create: bool = True) -> str | None:
    """The API token: ``$EDGEWISE_TOKEN``, else the token file (made if ``create``).

    Never empty: an empty token would let ``Authorization: Bearer`` (no token) through.
    None only when there is none and ``create`` is False.
    """
    env = (os.environ.get(TOKEN_ENV) or "").strip()
    if env:  # set but blank counts as unset (it once let an empty bearer through)
        return _checked(env, f"${TOKEN_ENV}")
    path = token_path()
    if not path.is_file():
        if not create:
            return None
        _create(path)
    return _checked(path.read_text(errors="replace").strip(), f"the token file {path}")


def _checked(token: str, where: str) -> str:
    if not token:
        raise ConfigError(f"{where} is empty: set a token, or delete the file to get a new one")
    if not token.isascii() or not token.isprintable() or " " in token:
        raise ConfigError(
            f"{where} must be printable ASCII without spaces (an HTTP header carries it)"
        )
    return token


def _create(path: Path) -> None:
    """Write a new random token to ``path`` unless one is there: written to a private
    temporary file, then linked into place, so no reader ever sees it half-written (a
    second process used to read the file between its creation and the write)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32) + "\n")
        try:
            os.link(tmp, path)  # atomic, and fails if another process linked first
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


def check_bearer(header: str | None, token: str) -> bool:
    """True when ``header`` is ``Bearer <token>`` (constant-time comparison); never for
    an empty token."""
    if not header or not token:
        return False
    scheme, _, value = header.partition(" ")
    # compare bytes: compare_digest refuses non-ASCII str (a 500 for any such header)
    given = value.strip().encode("utf-8", "surrogateescape")
    return scheme.lower() == "bearer" and hmac.compare_digest(given, token.encode())
