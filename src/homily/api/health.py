"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: its database answers and the local
embedding model, when enabled, has loaded)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from homily import __version__
from homily.api.deps import services
from homily.api.responses import json_response


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok", "version": __version__})


async def readyz(request: Request) -> Response:
    found = services(request)
    database = await found.store.ping()
    providers = sorted({m.provider for m in found.catalog.models if found.availability.is_available(m)})
    embeddings = "off" if found.local_embedder is None else found.local_embedder.state
    ready = database and embeddings in ("ready", "off")
    body = {
        "status": "ready" if ready else "not_ready",
        "database": database,
        "embeddings": embeddings,
        "providers": providers,
    }
    return json_response(body, status=200 if ready else 503)


def health_routes() -> list[Route]:
    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
