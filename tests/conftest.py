"""Shared fixtures: a fake OpenAI-compatible upstream and a live Homily wired to it (loopback only)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from homily.fakes.openai_upstream import FakeOpenAIUpstream
from tests.support.live import LiveHomily, make_settings, start_homily
from tests.support.services import PostgresServer, RedisServer, running_postgres, running_redis

UPSTREAM_KEY = "sk-upstream-test"


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAIUpstream]:
    with FakeOpenAIUpstream(api_key=UPSTREAM_KEY) as fake:
        yield fake


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The database of a module's live server: every module using `homily` runs on the embedded SQLite database
    and again on a PostgreSQL database of its own (DESIGN.md: the same suite runs on both backends)."""
    if request.param == "sqlite":
        yield None
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    with server.fresh_database() as url:
        yield url


@pytest.fixture(scope="module")
def homily_overrides() -> dict[str, Any]:
    """Settings a module's live `homily` adds to its defaults (a module needing others overrides this fixture)."""
    return {}


@pytest.fixture(scope="module")
def homily(
    fake_openai: FakeOpenAIUpstream,
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str | None,
    homily_overrides: dict[str, Any],
) -> Iterator[LiveHomily]:
    """Homily with the OpenAI and Open Source families served by the fake; Anthropic and Google unconfigured."""
    settings = make_settings(
        tmp_path_factory.mktemp("homily-data"),
        database_url=database_url,
        openai_api_key=UPSTREAM_KEY,
        openai_base_url=fake_openai.base_url,
        open_source_base_url=fake_openai.base_url,
        open_source_api_key=UPSTREAM_KEY,
        **homily_overrides,
    )
    live = start_homily(settings)
    yield live
    live.stop()


@pytest.fixture
def upstream(fake_openai: FakeOpenAIUpstream) -> Iterator[FakeOpenAIUpstream]:
    """The module's fake upstream, reset before each test so scripts and request logs don't leak between tests."""
    fake_openai.reset()
    yield fake_openai
    fake_openai.reset()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "homily-data"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL (with pgvector) for the session; see `tests.support.services`."""
    with running_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a fresh, empty database of its own for this test."""
    with postgres_server.fresh_database() as url:
        yield url


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real Redis for the session; see `tests.support.services`."""
    with running_redis() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """A Redis URL whose logical database was emptied for this test."""
    import redis

    client = redis.Redis(host=redis_server.host, port=redis_server.port)
    try:
        client.flushall()
    finally:
        client.close()
    return redis_server.url()
