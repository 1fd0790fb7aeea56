"""`GET /metrics`: Prometheus exposition (no auth, like health; bind Homily to a private address or filter it)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from homily.api.deps import services


async def metrics(request: Request) -> Response:
    return PlainTextResponse(services(request).metrics.render(), media_type="text/plain; version=0.0.4")


def metrics_routes() -> list[Route]:
    return [Route("/metrics", metrics, methods=["GET"])]
