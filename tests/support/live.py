"""A real Homily server on a loopback port, run by uvicorn in a background thread, for end-to-end tests."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from homily.admin.service import IssuedCredential, initialise
from homily.app import create_app
from homily.settings import Settings

ADMIN_SECRET = "test-admin-secret-0123456789"


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings isolated from the machine's environment: every provider is off unless given here."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": None,
        "host": "127.0.0.1",
        "port": 0,
        "admin_secret": ADMIN_SECRET,
        "signing_key": None,
        "catalog_path": None,
        "revocation_refresh_seconds": 0.25,
        "openai_api_key": None,
        "anthropic_api_key": None,
        "gemini_api_key": None,
        "open_source_base_url": None,
        "open_source_api_key": None,
        "upstream_first_byte_timeout": 3.0,
        "upstream_idle_timeout": 3.0,
        "log_level": "WARNING",
        "load_library": False,
        "preload_embedder": False,
        # One attempt per upstream and a breaker that never opens keep scripted faults deterministic; retries and
        # breakers have their own tests (tests/test_reliability.py, tests/test_gateway_reliability.py).
        "upstream_max_attempts": 1,
        "circuit_failure_threshold": 1_000_000,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@dataclass
class LiveHomily:
    settings: Settings
    base_url: str
    credential: IssuedCredential
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def api_base(self) -> str:
        """What the OpenAI SDK takes as `base_url`."""
        return self.base_url + "/ai/v2"

    def token(self, credential: IssuedCredential | None = None) -> str:
        cred = credential or self.credential
        response = httpx.post(
            self.base_url + "/oauth2/token",
            data={"grant_type": "client_credentials", "scope": "api/access"},
            auth=(cred.client_id, cred.client_secret),
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_SECRET}"}

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_homily(settings: Settings) -> LiveHomily:
    """Initialise the data dir (as `homily serve` does on first start) and serve on a free loopback port."""
    credential = asyncio.run(initialise(settings))
    assert credential is not None, "the data dir was expected to be empty"
    return serve_homily(settings, credential)


def serve_homily(settings: Settings, credential: IssuedCredential) -> LiveHomily:
    """Serve an already initialised data dir (e.g. a second replica of `start_homily`'s) on a free loopback port."""
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=0,
        loop="asyncio",
        http="h11",
        ws="none",
        lifespan="on",
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="homily-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("Homily did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return LiveHomily(settings, f"http://127.0.0.1:{port}", credential, server, thread)
