"""Run the HTTP server (uvicorn with uvloop and httptools when installed)."""

from __future__ import annotations

import importlib.util

import uvicorn

from homily.app import create_app
from homily.logs import configure_logging
from homily.settings import Settings


def run_server(settings: Settings) -> None:
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
