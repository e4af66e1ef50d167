"""The shadow gateway: OIP v2 serving with mirrored, paired, judged candidates.

>>> from edgewise.shadow.gateway import ShadowConfig, ShadowServer
>>> cfg = ShadowConfig(production="prod.onnx", candidates=("cand.onnx",), port=0)  # doctest: +SKIP
>>> with ShadowServer(cfg) as server:                                              # doctest: +SKIP
...     print(server.url)
"""

from __future__ import annotations

from edgewise.shadow.gateway._agreement import Agreement
from edgewise.shadow.gateway._auth import TOKEN_ENV, api_token
from edgewise.shadow.gateway._config import ShadowConfig, parse_percent
from edgewise.shadow.gateway._gateway import ShadowGateway
from edgewise.shadow.gateway._oip import OipError
from edgewise.shadow.gateway._serve import ShadowServer, latest_url, serve_forever
from edgewise.shadow.gateway._worker import FAULT_ENV, parse_cpus

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
