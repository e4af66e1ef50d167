"""Run a shadow gateway under uvicorn: in the foreground (the CLI) or on a thread.

>>> with ShadowServer(ShadowConfig(production="a.onnx", candidates=("b.onnx",), port=0)) as srv:  # doctest: +SKIP
...     httpx.get(srv.url + "/v2/health/ready")
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edgewise._listen import bind_listen, http_url
from edgewise._paths import home
from edgewise.errors import ConfigError, EdgewiseError
from edgewise.shadow.gateway._auth import api_token
from edgewise.shadow.gateway._config import ShadowConfig
from edgewise.shadow.gateway._gateway import ShadowGateway
from edgewise.store import Store

#: GIL switch interval in the gateway process (Python's default is 5 ms).
SWITCH_INTERVAL_S = 0.0001


def _uvicorn_config(app: Any, config: ShadowConfig) -> Any:
    import uvicorn

    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    try:
        import httptools  # noqa: F401

        http = "httptools"
    except ImportError:
        http = "h11"
    return uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        loop=loop,
        http=http,
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=30,
    )


def state_dir() -> Path:
    path = home() / "shadow"
    path.mkdir(parents=True, exist_ok=True)
    return path


def latest_url() -> str | None:
    """The URL of the most recently started gateway on this machine, if any."""
    files = sorted(state_dir().glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for f in files:
        try:
            return str(json.loads(f.read_text())["url"])
        except (OSError, ValueError, KeyError):
            continue
    return None


class ShadowServer:
    """A gateway served by uvicorn on a background thread (tests, the demo, benchmarks).

    ``port=0`` picks a free port; ``url`` has the real one once started.
    """

    def __init__(
        self,
        config: ShadowConfig,
        *,
        store: Store | None = None,
        token: str | None = None,
        start_timeout_s: float = 120.0,
    ) -> None:
        from edgewise.shadow.gateway._http import create_app

        self.config = config
        self.gateway = ShadowGateway(config, store=store)
        self.token = token or api_token() or ""  # api_token() is never empty
        if not self.token.strip():
            raise ConfigError("the API token must not be empty")
        self.app = create_app(self.gateway, token=self.token)
        self.url = ""
        self._start_timeout_s = start_timeout_s
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> ShadowServer:
        import uvicorn

        self._server = uvicorn.Server(_uvicorn_config(self.app, self.config))
        self._thread = threading.Thread(
            target=self._run, name="edgewise-shadow-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout_s
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                self._thread.join(timeout=5)
                err = self.gateway.start_error or self._error
                if isinstance(err, EdgewiseError):
                    raise err
                raise ConfigError(f"the shadow gateway did not start: {err!r}")
            if time.monotonic() > deadline:
                self.__exit__()
                raise ConfigError("the shadow gateway did not start in time")
            time.sleep(0.02)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = http_url(self.config.host, port)
        return self

    def _run(self) -> None:
        try:
            self._server.run()
        except BaseException as exc:  # surfaced by __enter__
            self._error = exc
        if self._error is None and not self._server.started:
            self._error = _lifespan_error(self.gateway)

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=60)


def _lifespan_error(gateway: ShadowGateway) -> BaseException:
    return ConfigError(f"the shadow gateway for {gateway.name!r} failed to start (see stderr)")


def _graceful_server_class() -> Any:
    import uvicorn

    class GracefulServer(uvicorn.Server):
        """uvicorn re-raises SIGINT/SIGTERM once it has stopped serving, which would kill
        the process before the gateway drains its workers and flushes its last records;
        here the signal only stops the server and ``serve_forever`` finishes the job."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            with super().capture_signals():
                yield
                self._captured_signals.clear()

    return GracefulServer


def serve_forever(
    config: ShadowConfig, *, store: Store | None = None, on_ready: Any = None
) -> None:
    """Serve in the foreground until SIGINT/SIGTERM (what ``edgewise shadow serve`` runs)."""
    from edgewise.shadow.gateway._http import create_app

    _GracefulServer = _graceful_server_class()
    # Pairing, judging and store writes run in the recorder process; the only other
    # thread here writes records shipped back for an in-memory store, and it must not
    # hold the GIL for the default 5 ms while a request waits on the event loop.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    token = api_token() or ""  # before any worker starts: a bad token is a usage error
    # the port too: one taken now fails here, before workers start or a run is stored
    listener = bind_listen(config.host, config.port)
    gateway = ShadowGateway(config, store=store)
    startup_error: list[BaseException] = []

    async def start_first() -> None:
        try:
            await gateway.start()
        except BaseException as exc:
            startup_error.append(exc)
            raise

    app = create_app(gateway, token=token, manage_lifecycle=False)
    server = _GracefulServer(_uvicorn_config(app, config))
    state = state_dir() / f"{gateway.name}.json"

    async def main() -> None:
        wrote = False
        await start_first()
        try:
            serve_task = asyncio.ensure_future(server.serve(sockets=[listener]))
            while not server.started and not serve_task.done():
                await asyncio.sleep(0.02)
            if server.started:
                port = listener.getsockname()[1]
                url = http_url(config.host, port)
                state.write_text(json.dumps({"url": url, "pid": os.getpid(), "name": gateway.name}))
                wrote = True
                if on_ready is not None:
                    on_ready(url, gateway)
            await serve_task
        finally:
            await gateway.stop()
            if wrote:  # never another gateway's file (one of the same name may run)
                state.unlink(missing_ok=True)

    loop_factory = None
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:
        pass
    try:
        if loop_factory is not None:
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(main())
        else:
            asyncio.run(main())
    finally:
        listener.close()
