"""``edgewise serve``: the HTTP API and dashboard (binds 127.0.0.1 by default)."""

from __future__ import annotations

import typer

from edgewise.cli._app import JSON_OPTION, app, console, print_json


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default loopback)."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Serve the REST API (/api, OpenAPI docs at /docs) and the pages: chip ranking (/),
    measurements (/measurements) and shadow runs (/shadow)."""
    import uvicorn

    from edgewise._listen import check_listen, http_url
    from edgewise.service import create_app

    check_listen(host, port)
    url = http_url(host, port)
    if as_json:
        print_json(
            {
                "url": url,
                "docs": f"{url}/docs",
                "dashboard": f"{url}/",
                "measurements": f"{url}/measurements",
                "shadow": f"{url}/shadow",
            }
        )
    else:
        console.print(
            f"edgewise serving on {url}: chip ranking {url}/, measurements {url}/measurements, "
            f"shadow runs {url}/shadow, API docs {url}/docs",
            highlight=False,
            soft_wrap=True,
        )
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")
