"""`create_app(settings)`: wires the object graph in the lifespan; nothing happens at import time."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from homily.admin.service import AdminService
from homily.api.admin import admin_routes
from homily.api.completions import completion_routes
from homily.api.content import content_routes
from homily.api.errors import homily_error, http_error, unexpected_error
from homily.api.grounded import grounded_routes
from homily.api.health import health_routes
from homily.api.metrics import metrics_routes
from homily.api.middleware import RequestIdMiddleware
from homily.api.models import model_routes
from homily.api.oauth import oauth_routes
from homily.api.openapi import openapi_routes
from homily.auth.keys import load_or_create_signing_key
from homily.auth.registry import CredentialRegistry
from homily.auth.secrets import hash_secret
from homily.auth.tokens import TokenService
from homily.catalog.availability import Availability
from homily.catalog.loader import load_catalog
from homily.content.runtime import ContentRuntime
from homily.errors import HomilyError
from homily.metrics import standard_metrics
from homily.providers.pool import ProviderPool
from homily.ratelimit import WindowRateLimiter
from homily.routing.learned import load_tier_estimator
from homily.routing.router import Router
from homily.service.completions import CompletionService, QueryEmbedder
from homily.services import Services
from homily.settings import Settings
from homily.storage.factory import open_store


class _ClosableQueryEmbedder(QueryEmbedder, Protocol):
    async def close(self) -> None: ...

log = logging.getLogger("homily.app")


def _load_query_embedder() -> _ClosableQueryEmbedder | None:
    """The shared query embedder (micro-batched, off the event loop) once `homily.embeddings` is present;
    without it the learned router defers to the rule router."""
    try:
        from homily.embeddings import (  # type: ignore[import-not-found,unused-ignore]
            BatchingEmbedder,
            load_local_embedder,
        )
    except ImportError:
        log.info("homily.embeddings is not available; auto routing uses the rule router")
        return None
    embedder: _ClosableQueryEmbedder = BatchingEmbedder(load_local_embedder())
    return embedder


def create_app(settings: Settings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        catalog = load_catalog(settings.catalog_path)
        store = await open_store(settings)
        registry = CredentialRegistry(store, settings.revocation_refresh_seconds)
        await registry.start()
        pool = ProviderPool(settings)
        availability = Availability(pool.providers())
        query_embedder = _load_query_embedder()
        router = Router(
            catalog, availability, load_tier_estimator(settings.router_weights), settings.routing_preference
        )
        metrics = standard_metrics()
        app.state.settings = settings
        app.state.services = Services(
            settings=settings,
            store=store,
            tokens=TokenService(load_or_create_signing_key(settings), settings.issuer, settings.token_ttl_seconds),
            credentials=registry,
            catalog=catalog,
            availability=availability,
            pool=pool,
            completions=CompletionService(catalog, router, pool, metrics, query_embedder),
            metrics=metrics,
            rate_limiter=WindowRateLimiter(settings.rate_limit_per_minute) if settings.rate_limit_per_minute else None,
            dummy_secret_hash=hash_secret(secrets.token_urlsafe(32)),
        )
        app.state.admin = AdminService(store, on_revoke=registry.revoke)
        content = await ContentRuntime.start(settings, store, app.state.services.completions)
        app.state.content, app.state.grounded = content.content, content.grounded
        try:
            yield
        finally:
            await content.stop()
            if query_embedder is not None:
                await query_embedder.close()
            await pool.close()
            await registry.stop()
            await store.close()

    return Starlette(
        routes=[
            *oauth_routes(),
            *completion_routes(),
            *grounded_routes(),
            *content_routes(),
            *model_routes(),
            *health_routes(),
            *metrics_routes(),
            *openapi_routes(),
            *admin_routes(),
        ],
        middleware=[Middleware(RequestIdMiddleware)],
        exception_handlers={HomilyError: homily_error, HTTPException: http_error, Exception: unexpected_error},
        lifespan=lifespan,
    )
