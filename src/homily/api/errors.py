"""Exception handlers: every error leaves as the envelope of API.md section 7, never Starlette's default shape."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount, Route

from homily.api.deps import request_id
from homily.api.responses import json_response
from homily.errors import HomilyError, InternalError, InvalidRequestError, NotFoundError
from homily.storage.base import StoreUnavailableError

log = logging.getLogger("homily.errors")


def render_error(request: Request, error: HomilyError) -> Response:
    """The envelope, counted by error name so operators see refusals (403, 429, 413...) by kind in /metrics."""
    found = getattr(request.app.state, "services", None)
    if found is not None:
        found.metrics.inc("homily_errors_total", (("name", error.name), ("status", str(error.status))))
    return json_response(error.envelope(request_id(request)), status=error.status, headers=error.headers)


async def homily_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HomilyError)
    return render_error(request, exc)


def _path_methods(routes: Sequence[BaseRoute], scope: dict[str, Any]) -> set[str]:
    """Every method some route (inside mounts too) serves at the scope's path. Starlette's own 405 names only the
    first route whose path matches, so a path served by one route per method would advertise one method."""
    methods: set[str] = set()
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount):
            methods |= _path_methods(route.routes, {**scope, **child})
        elif isinstance(route, Route):
            methods |= route.methods or set()
    return methods


def allowed_methods(request: Request) -> str:
    """The `Allow` value of a 405 (RFC 9110 15.5.6: the methods the target resource supports)."""
    scope = {
        "type": "http",
        "method": request.method,
        "path": request.scope["path"],
        "root_path": request.scope.get("app_root_path", ""),
        "path_params": {},
    }
    return ", ".join(sorted(_path_methods(request.app.routes, scope)))


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        error: HomilyError = NotFoundError(f"No endpoint at {request.url.path}; see /openapi.json for the API.")
    elif exc.status_code == 405:
        allowed = allowed_methods(request) or dict(exc.headers or {}).get("Allow", "")
        error = InvalidRequestError(
            f"{request.method} is not allowed on {request.url.path}" + (f"; use {allowed}." if allowed else "."),
            status=405,
            headers={"Allow": allowed} if allowed else None,
        )
    else:
        error = InvalidRequestError(str(exc.detail), status=exc.status_code)
    return render_error(request, error)


async def database_unavailable(request: Request, exc: Exception) -> Response:
    """An outage of the shared database (scale-out): a known server fault, retryable, logged without a traceback."""
    assert isinstance(exc, StoreUnavailableError)
    log.warning("database unavailable: %s", exc, extra={"request_id": request_id(request)})
    return render_error(request, InternalError("Homily cannot reach its database right now; retry in a few seconds."))


async def client_gone(request: Request, exc: Exception) -> Response:
    """The client hung up before its request body ended: nobody reads the answer, and no server fault happened."""
    assert isinstance(exc, ClientDisconnect)
    log.info("client disconnected before sending the whole request body", extra={"request_id": request_id(request)})
    return render_error(request, InvalidRequestError("The client closed the connection before the body ended."))


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """The last resort (Starlette runs it outside the request-id middleware, so it sets `X-Request-Id` itself)."""
    log.exception("unhandled error", extra={"request_id": request_id(request)})
    response = render_error(
        request, InternalError("Homily hit an internal error; the log has details under this request id.")
    )
    response.headers["X-Request-Id"] = request_id(request)
    return response


def exception_handlers() -> dict[type[Exception], Callable[[Request, Exception], Awaitable[Response]]]:
    """Every handler the app registers, most specific first (a fresh dict: Starlette may keep the one it is given)."""
    return {
        HomilyError: homily_error,
        HTTPException: http_error,
        StoreUnavailableError: database_unavailable,
        ClientDisconnect: client_gone,
        Exception: unexpected_error,
    }
