"""Talk to a running gateway: status, promote, rollback (what the CLI verbs call).

>>> status = gateway_status("http://127.0.0.1:8000")        # doctest: +SKIP
>>> [c["verdict"] for c in status["candidates"]]            # doctest: +SKIP
['PASS']
"""

from __future__ import annotations

from typing import Any

from edgewise.errors import ConfigError, InputError
from edgewise.shadow.gateway._auth import api_token
from edgewise.shadow.gateway._serve import latest_url

DEFAULT_URL = "http://127.0.0.1:8000"


class GatewayRefusedError(InputError):
    """The gateway answered with a 4xx (bad token, unknown candidate...)."""


def resolve_url(url: str | None) -> str:
    """``url``, else the last gateway started on this machine, else the default."""
    return (url or latest_url() or DEFAULT_URL).rstrip("/")


def _call(method: str, url: str, path: str, **kwargs: Any) -> dict[str, Any]:
    import httpx

    try:
        res = httpx.request(method, url + path, timeout=60.0, **kwargs)
    except httpx.InvalidURL as exc:
        raise ConfigError(f"bad gateway URL {url!r}: {exc}") from None
    except httpx.HTTPError as exc:
        raise ConfigError(f"cannot reach a shadow gateway at {url}: {exc}") from None
    try:
        doc = res.json()
    except ValueError:
        doc = {"error": res.text[:200]}
    if res.status_code >= 400:
        message = doc.get("error", res.text[:200]) if isinstance(doc, dict) else res.text[:200]
        raise GatewayRefusedError(f"gateway {url} said {res.status_code}: {message}")
    if not isinstance(doc, dict):
        raise ConfigError(f"{url}{path} did not answer with a JSON object")
    return doc


def gateway_status(url: str | None = None) -> dict[str, Any]:
    """The gateway's live state (``GET /shadow/status``)."""
    return _call("GET", resolve_url(url), "/shadow/status")


def gateway_action(
    action: str, *, candidate: str | None = None, url: str | None = None, token: str | None = None
) -> dict[str, Any]:
    """``promote`` or ``rollback`` a candidate; needs the API token."""
    if action not in ("promote", "rollback"):
        raise ConfigError(f"unknown action {action!r}")
    tok = (token or "").strip() or api_token(create=False)
    if not tok:
        raise ConfigError("no API token: set EDGEWISE_TOKEN or pass --token (see docs/shadow.md)")
    if not tok.isascii() or not tok.isprintable():  # an HTTP header cannot carry it
        raise ConfigError(
            "the API token must be printable ASCII (the gateway makes one: see docs/shadow.md)"
        )
    body = {"candidate": candidate} if candidate else {}
    return _call(
        "POST",
        resolve_url(url),
        f"/shadow/{action}",
        json=body,
        headers={"authorization": f"Bearer {tok}"},
    )
