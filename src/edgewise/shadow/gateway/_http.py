"""The gateway's HTTP face: OIP v2 routes, ``/metrics``, and the shadow control routes.

Handlers are thin: they read the request, call :class:`ShadowGateway`, and turn
``OipError`` / ``InputError`` into a 4xx with an OIP error body ``{"error": ...}``.
Bodies over ``max_body_bytes`` get a 413 before they are read, a body still arriving
after ``body_timeout_s`` a 408, and a refused request never reaches a worker.

Routes: ``GET /v2``, ``/v2/health/live``, ``/v2/health/ready``, ``/v2/models/{name}``,
``/v2/models/{name}/ready``, ``POST /v2/models/{name}[/versions/{v}]/infer``,
``GET /metrics``, ``GET /shadow/status``, ``POST /shadow/promote`` and
``POST /shadow/rollback`` (bearer token).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from edgewise._json import json_safe
from edgewise.errors import ConfigError, InputError, UnknownNameError
from edgewise.shadow.gateway._auth import check_bearer
from edgewise.shadow.gateway._gateway import ShadowGateway
from edgewise.shadow.gateway._metrics import render_metrics
from edgewise.shadow.gateway._oip import HEADER_LENGTH, MODEL_VERSION, OipError, error_body

SERVER = {"name": "edgewise-shadow", "version": "1", "extensions": ["binary_tensor_data"]}


def _error(message: str, status: int) -> Response:
    return Response(error_body(message), status_code=status, media_type="application/json")


async def read_body(
    headers: dict[bytes, bytes], receive: Any, *, limit: int, timeout_s: float
) -> bytes:
    """The request body from ASGI ``receive``: 415 if compressed, 413 over ``limit``
    (before reading when the length is declared), 408 if it has not all arrived within
    ``timeout_s`` (a stalled client must not hold a request open for ever)."""
    if headers.get(b"content-encoding", b"identity") != b"identity":
        raise OipError("compressed request bodies are not supported", status=415)
    declared = headers.get(b"content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise OipError(f"bad Content-Length {declared!r}") from None
        if size > limit:
            raise OipError(
                f"request body of {size} bytes is over the {limit}-byte limit", status=413
            )
    chunks: list[bytes] = []
    total = 0
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise OipError("client disconnected", status=400)
                chunk = message.get("body", b"")
                if chunk:
                    total += len(chunk)
                    if total > limit:
                        raise OipError(f"request body is over the {limit}-byte limit", status=413)
                    chunks.append(chunk)
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        raise OipError(
            f"request body not received within {timeout_s:g} s ({total} bytes came)",
            status=408,
        ) from None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def create_app(gateway: ShadowGateway, *, token: str, manage_lifecycle: bool = True) -> Any:
    """The ASGI app (FastAPI) for ``gateway``; starts and stops it with the server."""
    from fastapi import FastAPI

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        if manage_lifecycle:
            try:
                await gateway.start()
            except BaseException as exc:  # uvicorn only says "startup failed": keep why
                gateway.start_error = exc
                raise
        try:
            yield
        finally:
            if manage_lifecycle:
                await gateway.stop()

    app = FastAPI(
        title="edgewise shadow gateway",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    limit = gateway.config.max_body_bytes

    from starlette.exceptions import HTTPException

    @app.exception_handler(HTTPException)
    async def oip_http_error(_: Request, exc: HTTPException) -> Response:
        # unknown routes and wrong methods answer with the OIP error body too
        return _error(str(exc.detail), exc.status_code)

    def _check_model(name: str, version: str | None = None) -> None:
        check_model(gateway.name, name, version)

    async def infer(request: Request) -> Response:  # reached only if the fast path is bypassed
        try:
            _check_model(request.path_params["name"], request.path_params.get("version"))
            body = await read_body(
                dict(request.scope["headers"]),
                request.receive,
                limit=limit,
                timeout_s=gateway.config.body_timeout_s,
            )
            out, headers = await gateway.infer(
                body, header_length=request.headers.get(HEADER_LENGTH)
            )
        except OipError as exc:
            return _error(str(exc), exc.status)
        return Response(out, headers=headers)

    for path in ("/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer"):
        app.add_route(path, infer, methods=["POST"])

    @app.get("/v2")
    async def server_metadata() -> JSONResponse:
        return JSONResponse(SERVER)

    @app.get("/v2/health/live")
    async def live() -> JSONResponse:
        return JSONResponse({"live": True})

    @app.get("/v2/health/ready")
    async def ready() -> JSONResponse:
        ok = gateway.ready
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    @app.get("/v2/models/{name}")
    @app.get("/v2/models/{name}/versions/{version}")
    async def metadata(name: str, version: str | None = None) -> Response:
        try:
            _check_model(name, version)
        except OipError as exc:
            return _error(str(exc), exc.status)
        return JSONResponse(gateway.metadata())

    @app.get("/v2/models/{name}/ready")
    @app.get("/v2/models/{name}/versions/{version}/ready")
    async def model_ready(name: str, version: str | None = None) -> Response:
        try:
            _check_model(name, version)
        except OipError as exc:
            return _error(str(exc), exc.status)
        ok = gateway.ready
        return JSONResponse({"name": name, "ready": ok}, status_code=200 if ok else 503)

    @app.get("/metrics")
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(render_metrics(gateway), media_type="text/plain; version=0.0.4")

    @app.get("/shadow/status")
    async def status() -> JSONResponse:
        return JSONResponse(json_safe(gateway.status()))

    async def _act(request: Request, action: str) -> Response:
        if not check_bearer(request.headers.get("authorization"), token):
            return _error(
                "this endpoint needs 'Authorization: Bearer <token>' (see docs/shadow.md)", 401
            )
        raw = await request.body()
        shape = 'body must be empty (the only candidate) or JSON like {"candidate": "name"}'
        try:
            doc = json.loads(raw) if raw.strip() else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(shape, 400)
        # Anything else is refused, never read as "the only candidate": a typo must not
        # promote or roll back.
        if not isinstance(doc, dict) or set(doc) - {"candidate"}:
            return _error(shape, 400)
        candidate = doc.get("candidate")
        if candidate is not None and not (isinstance(candidate, str) and candidate):
            return _error(f"candidate must be a name, got {candidate!r:.80}", 400)
        try:
            fn = gateway.promote if action == "promote" else gateway.rollback
            event = await fn(candidate, by="manual")
        except UnknownNameError as exc:
            return _error(str(exc), 404)
        except (ConfigError, InputError) as exc:
            return _error(str(exc), 409)
        return JSONResponse(json_safe(event))

    @app.post("/shadow/promote")
    async def promote(request: Request) -> Response:
        return await _act(request, "promote")

    @app.post("/shadow/rollback")
    async def rollback(request: Request) -> Response:
        return await _act(request, "rollback")

    return FastInfer(app, gateway)


def check_model(served: str, name: str, version: str | None) -> None:
    """404 unless ``name`` (and ``version``, when the path names one) is what is served."""
    if name != served:
        raise OipError(f"unknown model {name!r} (this gateway serves {served!r})", status=404)
    if version not in (None, "", MODEL_VERSION):
        raise OipError(
            f"model {name!r} has no version {version!r:.40} (it serves version {MODEL_VERSION})",
            status=404,
        )


def _infer_target(path: str) -> tuple[str, str | None] | None:
    """``(model, version)`` of an infer path (``/v2/models/NAME[/versions/V]/infer``), else
    None."""
    parts = path.split("/")
    if len(parts) == 5 and parts[1:3] == ["v2", "models"] and parts[4] == "infer":
        return parts[3], None
    if (
        len(parts) == 7
        and parts[1:3] == ["v2", "models"]
        and parts[4] == "versions"
        and parts[6] == "infer"
    ):
        return parts[3], parts[5]
    return None


class FastInfer:
    """ASGI front: answers ``POST .../infer`` straight from ASGI messages; the rest goes to
    the FastAPI app. Saves the framework's per-request objects on the hot path (same
    checks, same answers as the routed handler).
    """

    def __init__(self, app: Any, gateway: ShadowGateway) -> None:
        self.app = app
        self.gateway = gateway
        self.limit = gateway.config.max_body_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        target = None
        if scope["type"] == "http" and scope["method"] == "POST":
            target = _infer_target(scope["path"])
        if target is None:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        try:
            out, out_headers, status = await self._infer(target, headers, receive)
        except OipError as exc:
            out, out_headers, status = (
                error_body(str(exc)),
                {"content-type": "application/json"},
                exc.status,
            )
        raw = [(k.encode(), v.encode()) for k, v in out_headers.items()]
        raw.append((b"content-length", str(len(out)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": out})

    async def _infer(
        self, target: tuple[str, str | None], headers: dict[bytes, bytes], receive: Any
    ) -> tuple[bytes, dict[str, str], int]:
        gw = self.gateway
        check_model(gw.name, *target)
        body = await read_body(
            headers, receive, limit=self.limit, timeout_s=gw.config.body_timeout_s
        )
        hl = headers.get(HEADER_LENGTH.encode())
        try:
            header_length = None if hl is None else hl.decode("ascii")
        except UnicodeDecodeError:
            raise OipError(f"{HEADER_LENGTH} must be a number of bytes") from None
        out, out_headers = await gw.infer(body, header_length=header_length)
        return out, out_headers, 200
