"""The shadow gateway: OIP v2 serving with mirrored, paired, judged candidates.

>>> from edgewise.shadow.gateway import ShadowConfig, ShadowServer
>>> cfg = ShadowConfig(production="prod.onnx", candidates=("cand.onnx",), port=0)  # doctest: +SKIP
>>> with ShadowServer(cfg) as server:                                              # doctest: +SKIP
...     print(server.url)

The names load on first use (PEP 562), so a worker or recorder process that runs
one private module of this package imports nothing else of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgewise._lazy import lazy_exports

if TYPE_CHECKING:
    from edgewise.shadow.gateway._agreement import Agreement
    from edgewise.shadow.gateway._auth import TOKEN_ENV, api_token
    from edgewise.shadow.gateway._config import ShadowConfig, parse_percent
    from edgewise.shadow.gateway._cpus import parse_cpus
    from edgewise.shadow.gateway._gateway import ShadowGateway
    from edgewise.shadow.gateway._oip import OipError
    from edgewise.shadow.gateway._serve import ShadowServer, latest_url, serve_forever
    from edgewise.shadow.gateway._worker import FAULT_ENV

_WHERE = {
    "FAULT_ENV": "_worker",
    "TOKEN_ENV": "_auth",
    "Agreement": "_agreement",
    "OipError": "_oip",
    "ShadowConfig": "_config",
    "ShadowGateway": "_gateway",
    "ShadowServer": "_serve",
    "api_token": "_auth",
    "latest_url": "_serve",
    "parse_cpus": "_cpus",
    "parse_percent": "_config",
    "serve_forever": "_serve",
}

__all__ = [
    "FAULT_ENV",
    "TOKEN_ENV",
    "Agreement",
    "OipError",
    "ShadowConfig",
    "ShadowGateway",
    "ShadowServer",
    "api_token",
    "latest_url",
    "parse_cpus",
    "parse_percent",
    "serve_forever",
]


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
