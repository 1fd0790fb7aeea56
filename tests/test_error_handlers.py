"""The last-resort error handlers: an unexpected exception and a database outage both leave as the API.md
envelope with `X-Request-Id` (Starlette runs the catch-all handler outside the request-id middleware)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message

from homily.api.deps import read_body
from homily.api.errors import exception_handlers
from homily.api.middleware import RequestIdMiddleware
from homily.app import create_app
from homily.storage.base import StoreUnavailableError
from tests.support.http import assert_envelope
from tests.support.live import make_settings


async def _bug(request: Request) -> Response:
    raise RuntimeError("a bug")


async def _outage(request: Request) -> Response:
    raise StoreUnavailableError("HOMILY_DATABASE_URL: cannot connect to PostgreSQL at db:5432/homily")


def _app() -> Starlette:
    return Starlette(
        routes=[Route("/bug", _bug), Route("/outage", _outage)],
        middleware=[Middleware(RequestIdMiddleware)],
        exception_handlers=exception_handlers(),
    )


async def _get(path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://homily.test") as client:
        return await client.get(path, headers={"X-Request-Id": "req-test-123"})


@pytest.mark.parametrize(
    ("path", "words"), [("/bug", "internal error"), ("/outage", "cannot reach its database")]
)
def test_server_faults_are_envelopes_with_a_request_id(path: str, words: str) -> None:
    response = asyncio.run(_get(path))
    error = assert_envelope(response, 500, 3001)
    assert response.headers["x-request-id"] == "req-test-123"
    assert words in error["message"]
    assert error["retryable"] is True
    assert "a bug" not in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/admin/v1/organisations", "GET, HEAD, POST"),
        ("PUT", "/admin/v1/organisations/org_1", "DELETE, GET, HEAD, PATCH"),
        ("OPTIONS", "/admin/v1/credentials/hc_1", "DELETE, GET, HEAD, PATCH"),
        ("GET", "/admin/v1/publishers/p1", "DELETE"),
        ("GET", "/ai/v2/chat/completions", "POST"),
    ],
)
def test_a_405_allows_every_method_the_path_serves(tmp_path: Path, method: str, path: str, allow: str) -> None:
    """Found by fuzzing (schemathesis ST205): a path served by one route per method (the admin API) answered 405
    with `Allow` naming only the first route's method, telling clients that e.g. GET /admin/v1/organisations
    does not exist."""

    async def call() -> httpx.Response:
        app = create_app(make_settings(tmp_path))
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://homily.test") as client:
            return await client.request(method, path)

    response = asyncio.run(call())
    assert_envelope(response, 405, 1001)
    assert response.headers["allow"] == allow
    assert response.json()["error"]["message"].endswith(f"use {allow}.")


async def _read(request: Request) -> Response:
    return Response(await read_body(request, 1024))


def test_a_client_that_hangs_up_mid_body_is_no_server_error(caplog: pytest.LogCaptureFixture) -> None:
    """Found by fuzzing (a streaming completion request cut off by the client before its body ended): Starlette's
    ClientDisconnect fell through to the last-resort handler, which logged two tracebacks per hang-up as an
    unhandled server error and counted a 500."""
    app = Starlette(
        routes=[Route("/read", _read, methods=["POST"])],
        middleware=[Middleware(RequestIdMiddleware)],
        exception_handlers=exception_handlers(),
    )
    messages: list[Message] = [
        {"type": "http.request", "body": b'{"messa', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/read", "headers": [], "query_string": b""}
    with caplog.at_level(logging.DEBUG):
        asyncio.run(app(scope, receive, send))
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING] == []
    assert not any(record.exc_info for record in caplog.records)
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] < 500
