"""``create_app(store=...)``: the FastAPI app, its error handlers and shared state.

Capabilities add routers with ``app.include_router(...)``; handlers reach the store with
:func:`get_store`. Library errors become JSON: bad input is 4xx, anything else 500.

>>> from fastapi.testclient import TestClient           # doctest: +SKIP
>>> TestClient(create_app(store=Store("sqlite://"))).get("/api/chips").json()  # doctest: +SKIP
[]
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from edgewise import __version__
from edgewise.errors import EdgewiseError, InputError, UnknownNameError
from edgewise.store import Store


def get_store(request: Request) -> Store:
    """The app's store (opened on first use from ``EDGEWISE_DB`` when none was given)."""
    state = request.app.state
    if state.store is None:
        state.store = Store()
    store: Store = state.store
    return store


def create_app(*, store: Store | None = None) -> FastAPI:
    """Build the app: the recommend API, the dashboard and OpenAPI docs at ``/docs``."""
    from edgewise.service._dashboard import router as dashboard_router
    from edgewise.service._recommend import router as recommend_router

    app = FastAPI(
        title="edgewise",
        version=__version__,
        description="Chip catalog and recommendations: latency of a model on many chips, "
        "measured where known and predicted elsewhere.",
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

    app.include_router(recommend_router)
    app.include_router(dashboard_router)
    return app


def _error(exc: Exception, **extra: Any) -> dict[str, Any]:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return {"error": message, "type": type(exc).__name__, **extra}
