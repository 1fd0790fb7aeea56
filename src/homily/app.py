"""`create_app(settings)`: the routes and error handlers; the object graph is built in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware

from homily.admin.service import AdminService
from homily.api.admin import admin_routes
from homily.api.completions import completion_routes
from homily.api.content import content_routes
from homily.api.errors import exception_handlers
from homily.api.grounded import grounded_routes
from homily.api.health import health_routes
from homily.api.metrics import metrics_routes
from homily.api.middleware import RequestIdMiddleware
from homily.api.models import model_routes
from homily.api.oauth import oauth_routes
from homily.api.openapi import openapi_routes
from homily.content.runtime import ContentRuntime
from homily.settings import Settings
from homily.wiring import build_services


def create_app(settings: Settings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            services = await build_services(settings, stack)
            app.state.settings = settings
            app.state.services = services
            app.state.admin = AdminService(
                services.store,
                on_revoke=services.credentials.revoke,
                catalog=services.catalog,
                on_allowed_models=services.credentials.set_allowed_models,
            )
            local = services.local_embedder
            content = await ContentRuntime.start(
                settings,
                services.store,
                services.completions,
                local.wait if local is not None else None,
                metrics=services.metrics,
            )
            stack.push_async_callback(content.stop)
            app.state.content, app.state.grounded = content.content, content.grounded
            yield

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
        exception_handlers=exception_handlers(),
        lifespan=lifespan,
    )
