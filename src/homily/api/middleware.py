"""Pure ASGI middleware (cheaper than BaseHTTPMiddleware): request ids and one structured access-log line."""

from __future__ import annotations

import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from homily import __version__
from homily.ids import request_id

log = logging.getLogger("homily.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_SERVER = f"homily/{__version__}".encode()


class RequestIdMiddleware:
    """Gives every request an id (a caller's safe `X-Request-Id` is kept), returns it as `X-Request-Id`, and logs
    method, path, status and duration under it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode("latin-1")
        rid = incoming if _SAFE_ID.match(incoming) else request_id()
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                headers.append((b"server", _SERVER))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            services = getattr(scope["app"].state, "services", None) if "app" in scope else None
            if services is not None:
                labels = (("method", scope["method"]), ("status", f"{status // 100}xx"))
                services.metrics.inc("homily_http_requests_total", labels)
                services.metrics.observe("homily_http_request_seconds", elapsed, labels[:1])
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    extra={
                        "request_id": rid,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 3),
                    },
                )
