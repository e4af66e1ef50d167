"""The bearer token that guards mutating endpoints (promote, rollback).

``$EDGEWISE_TOKEN`` if set, else a random token kept in ``<EDGEWISE_HOME>/token``
(created on first use, mode 0600). Clients on the same machine read the same file.

>>> check_bearer("Bearer abc", "abc"), check_bearer(None, "abc")
(True, False)
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from edgewise._paths import home

TOKEN_ENV = "EDGEWISE_TOKEN"


def token_path() -> Path:
    return home() / "token"


def api_token(*, create: bool = True) -> str | None:
    """The API token: ``$EDGEWISE_TOKEN``, else the token file (made if ``create``)."""
    env = os.environ.get(TOKEN_ENV)
    if env:
        return env.strip()
    path = token_path()
    if path.is_file():
        return path.read_text().strip() or None
    if not create:
        return None
    token = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip() or None
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    return token


def check_bearer(header: str | None, token: str) -> bool:
    """True when ``header`` is ``Bearer <token>`` (constant-time comparison)."""
    if not header:
        return False
    scheme, _, value = header.partition(" ")
    # compare bytes: compare_digest refuses non-ASCII str (a 500 for any such header)
    given = value.strip().encode("utf-8", "surrogateescape")
    return scheme.lower() == "bearer" and hmac.compare_digest(given, token.encode())
