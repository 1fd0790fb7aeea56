"""Run the HTTP server (uvicorn with uvloop and httptools when installed)."""

from __future__ import annotations

import importlib.util
import socket

import uvicorn

from homily.app import create_app
from homily.logs import configure_logging
from homily.settings import Settings


class AddressUnavailableError(Exception):
    """The server cannot listen on the configured address (another process holds the port, or it is not ours)."""


def check_address(host: str, port: int) -> None:
    """Fail at once, with what to do, when uvicorn could not bind `host:port` (it binds the same way), instead of
    after loading the models with a bare `[Errno 98]` log line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise AddressUnavailableError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}); if another server (perhaps another "
                "`homily serve`) uses that port, stop it or choose another with --port or HOMILY_PORT"
            ) from exc


def run_server(settings: Settings) -> None:
    check_address(settings.host, settings.port)
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
        access_log=False,
        log_config=None,
        server_header=False,
        date_header=True,
        timeout_graceful_shutdown=10,
    )
