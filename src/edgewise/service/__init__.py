"""The HTTP service behind ``edgewise serve``: a FastAPI app factory others extend.

>>> from edgewise.service import create_app
>>> app = create_app()                      # doctest: +SKIP
>>> app.include_router(my_router)           # doctest: +SKIP
"""

from __future__ import annotations

from edgewise.service._app import create_app

__all__ = ["create_app"]
