"""Check that a server can listen on ``host:port`` before anything starts.

uvicorn reports a bad host or a busy port only once it binds, after the caller has
printed its URL (and, for ``shadow serve``, started workers and registered the run),
and exits with status 3. Binding once here turns that into a one-line error (exit 2).
"""

from __future__ import annotations

import socket

from edgewise.errors import ConfigError


def check_listen(host: str, port: int) -> None:
    """Raise :class:`ConfigError` unless a TCP server could bind ``host:port`` now.

    >>> check_listen("127.0.0.1", 70000)
    Traceback (most recent call last):
    ...
    edgewise.errors.ConfigError: --port must be in [0, 65535], got 70000
    """
    bind_listen(host, port, listen=False).close()


def bind_listen(host: str, port: int, *, listen: bool = True) -> socket.socket:
    """A TCP socket bound to ``host:port`` (and listening), or :class:`ConfigError`.

    Binding before anything starts closes the race :func:`check_listen` leaves: two
    servers started at once on one port both passed the check, and the loser failed
    only after it had started workers and registered its run.
    """
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be in [0, 65535], got {port}")
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(f"--host {host!r} is not an address to listen on: {exc}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        sock.bind(addr)
        if listen:
            sock.listen(2048)  # uvicorn's default backlog
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def http_url(host: str, port: int) -> str:
    """The URL a client uses for ``host:port`` (an IPv6 address in brackets).

    >>> http_url("127.0.0.1", 8000), http_url("::1", 8000)
    ('http://127.0.0.1:8000', 'http://[::1]:8000')
    """
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
