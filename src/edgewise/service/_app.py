"""``create_app(store=...)``: the FastAPI app, its error handlers and shared state.

Capabilities add routers with ``app.include_router(...)``; handlers reach the store with
:func:`get_store`. Library errors become JSON: bad input is 4xx, anything else 500.

>>> from fastapi.testclient import TestClient           # doctest: +SKIP
>>> TestClient(create_app(store=Store("sqlite://"))).get("/api/chips").json()  # doctest: +SKIP
[]
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import FastAPI, Path, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from edgewise import __version__
from edgewise._json import json_safe
from edgewise.errors import EdgewiseError, InputError, UnknownNameError
from edgewise.store import Store

#: A stored row id in a path: what SQLite and PostgreSQL integers hold (a bigger one is a
#: 422, not the driver's OverflowError).
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def get_store(request: Request) -> Store:
    """The app's store (opened on first use from ``EDGEWISE_DB`` when none was given)."""
    state = request.app.state
    if state.store is None:
        state.store = Store()
    store: Store = state.store
    return store


def create_app(*, store: Store | None = None, body_timeout_s: float = 30.0) -> FastAPI:
    """Build the app: the recommend API, the dashboard and OpenAPI docs at ``/docs``.
    A request body still arriving ``body_timeout_s`` after the request began gets a 408."""
    from fastapi_offline import FastAPIOffline

    from edgewise.service._dashboard import router as dashboard_router
    from edgewise.service._measurements import page_router as measurements_page_router
    from edgewise.service._measurements import router as measurements_router
    from edgewise.service._recommend import router as recommend_router
    from edgewise.service._shadow import page_router as shadow_page_router
    from edgewise.service._shadow import router as shadow_router

    # FastAPI's /docs and /redoc load their scripts from a CDN; FastAPIOffline serves the
    # same pages from assets in the package (no network at runtime).
    app = FastAPIOffline(
        title="edgewise",
        version=__version__,
        description="Chip catalog and recommendations: latency of a model on many chips, "
        "measured where known and predicted elsewhere; stored measurements, shadow runs and the "
        "deployment registry.",
    )
    app.state.store = store
    app.state.catalog_cache = {}

    @app.exception_handler(UnknownNameError)
    async def _unknown(_: Request, exc: UnknownNameError) -> JSONResponse:
        return JSONResponse(status_code=404, content=_error(exc, suggestions=exc.suggestions))

    @app.exception_handler(InputError)
    async def _bad_input(_: Request, exc: InputError) -> JSONResponse:
        return JSONResponse(status_code=400, content=_error(exc))

    @app.exception_handler(EdgewiseError)
    async def _internal(_: Request, exc: EdgewiseError) -> JSONResponse:
        return JSONResponse(status_code=500, content=_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # 404 for an unknown route, 405 for a wrong method: the same shape as ours
        return JSONResponse(
            status_code=exc.status_code,
            content={"error": str(exc.detail), "type": "HTTPException", "detail": exc.detail},
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes the input, and a NaN there cannot be written as
        # JSON (a 500): the same detail (FastAPI's encoder), with non-finite numbers null.
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first.get('msg', 'invalid request')}" if where else "invalid request"
        return JSONResponse(
            status_code=422,
            content={
                "error": message,
                "type": "RequestValidationError",
                "detail": json_safe(jsonable_encoder(exc.errors())),
            },
        )

    app.include_router(recommend_router)
    app.include_router(dashboard_router)
    app.include_router(shadow_router)
    app.include_router(shadow_page_router)
    app.include_router(measurements_router)
    app.include_router(measurements_page_router)
    app.add_middleware(_BodyLimit, limit=MAX_BODY_BYTES, timeout_s=body_timeout_s)
    return app


#: The API's requests are small JSON documents; anything bigger is refused unread.
MAX_BODY_BYTES = 1 << 20


class _BodyLimit:
    """413 (JSON) for a request body over ``limit`` bytes, declared or streamed; 408 for
    one that has not all arrived ``timeout_s`` after the request began (a stalled client
    must not hold a request open for ever)."""

    def __init__(self, app: Any, *, limit: int, timeout_s: float = 30.0) -> None:
        self.app, self.limit, self.timeout_s = app, limit, timeout_s

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send, _TooLarge(self.limit))
            return
        seen, complete = 0, False
        deadline = asyncio.get_running_loop().time() + self.timeout_s

        async def counted() -> Any:
            nonlocal seen, complete
            if complete:  # after the body, receive() waits for a disconnect: no deadline
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _SlowBody(self.timeout_s, seen) from None
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge(self.limit)
            complete = not message.get("more_body", False)
            return message

        try:
            await self.app(scope, counted, send)
        except (_TooLarge, _SlowBody) as exc:  # raised where no handler turned it into JSON
            await self._refuse(send, exc)

    async def _refuse(self, send: Any, exc: StarletteHTTPException) -> None:
        await JSONResponse(
            status_code=exc.status_code,
            content={"error": exc.detail, "type": type(exc).__name__.lstrip("_")},
        )({"type": "http"}, None, send)  # type: ignore[arg-type]


class _TooLarge(StarletteHTTPException):
    # An HTTPException, so FastAPI's body parsing passes it on (any other error there
    # becomes a 400 "error parsing the body") and the app's handler answers in JSON.
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")


class _SlowBody(StarletteHTTPException):
    def __init__(self, timeout_s: float, seen: int) -> None:
        super().__init__(
            408, f"request body not received within {timeout_s:g} s ({seen} bytes came)"
        )


def _error(exc: Exception, **extra: Any) -> dict[str, Any]:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return {"error": message, "type": type(exc).__name__, **extra}
