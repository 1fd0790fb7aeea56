"""Build the per-process object graph from settings (called from the app lifespan; nothing at import time)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from homily.auth.keys import load_signing_key
from homily.auth.registry import CredentialRegistry
from homily.auth.secrets import hash_secret
from homily.auth.tokens import TokenService
from homily.catalog.availability import Availability
from homily.catalog.loader import load_catalog
from homily.embeddings import BatchingEmbedder, load_local_embedder
from homily.embeddings.deferred import DeferredEmbedder
from homily.embeddings.local import MODEL_DIMENSION, MODEL_NAME
from homily.guard.model import DEFAULT_WEIGHTS as GUARD_WEIGHTS
from homily.guard.model import load_guard_model
from homily.metrics import Metrics, standard_metrics
from homily.providers.circuit import CircuitBreakers
from homily.providers.fallback import FallbackExecutor
from homily.providers.pool import ProviderPool
from homily.providers.retry import Retrier, RetryPolicy
from homily.ratelimit import RateLimiter, WindowRateLimiter
from homily.routing.learned import load_tier_estimator
from homily.routing.router import Router
from homily.service.completions import CompletionService
from homily.service.guarding import GuardStage
from homily.services import Services
from homily.settings import PROVIDER_SETTING, ProviderName, Settings
from homily.storage.base import Store
from homily.storage.factory import database_backend, open_store

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("homily.wiring")


def _local_embedder(settings: Settings) -> DeferredEmbedder | None:
    if settings.embeddings == "off":
        log.info("query embeddings are off: the guard runs lexical-only and auto routing uses the rule router")
        return None
    # Loading takes a second or two (on first start, building the ONNX graph several more): the server answers
    # meanwhile, and the first requests that need the embedding wait for it on the embedding thread.
    models = settings.data_dir / "models"
    precision = settings.embedding_weights
    return DeferredEmbedder(lambda: load_local_embedder(models, precision=precision), MODEL_NAME, MODEL_DIMENSION)


async def open_credential_registry(
    settings: Settings, store: Store, redis: Redis | None, metrics: Metrics, stack: AsyncExitStack
) -> CredentialRegistry:
    """The registry, refreshed on a timer, and with Redis also told of (and telling) other replicas' changes."""
    bus = None
    if redis is not None:
        from homily.auth.invalidation import InvalidationBus
        from homily.redis_backend import FailureReporter

        bus = InvalidationBus(
            redis,
            FailureReporter(metrics, "publish", "other replicas apply this access change at their next refresh"),
            FailureReporter(metrics, "subscribe", "access changes of other replicas apply at the next refresh"),
        )
    registry = CredentialRegistry(
        store, settings.revocation_refresh_seconds, announce=bus.announce if bus is not None else None
    )
    await registry.start()
    stack.push_async_callback(registry.stop)
    if bus is not None:
        await bus.start(registry.invalidate)
        stack.push_async_callback(bus.close)
    return registry


async def open_circuit_breakers(
    settings: Settings, pool: ProviderPool, redis: Redis | None, metrics: Metrics, stack: AsyncExitStack
) -> CircuitBreakers:
    """The upstreams' circuit breakers; with Redis, one replica's opening or closing a circuit applies to all."""
    bus = None
    if redis is not None:
        from homily.providers.circuit_sharing import CircuitBus
        from homily.redis_backend import FailureReporter

        bus = CircuitBus(
            redis,
            pool.providers(),
            FailureReporter(metrics, "publish_circuit", "other replicas learn this upstream's state from their calls"),
            FailureReporter(metrics, "subscribe_circuit", "this replica learns upstream states from its own calls"),
        )
    breakers = CircuitBreakers(
        failure_threshold=settings.circuit_failure_threshold,
        reset_timeout=settings.circuit_reset_seconds,
        on_change=bus.announce if bus is not None else None,
    )
    if bus is not None:
        await bus.start(breakers)
        stack.push_async_callback(bus.close)
    return breakers


def _rate_limiter(settings: Settings, redis: Redis | None, metrics: Metrics) -> RateLimiter | None:
    limit = settings.rate_limit_per_minute
    if not limit:
        return None
    if redis is None:
        return WindowRateLimiter(limit)
    from homily.ratelimit_redis import RedisRateLimiter
    from homily.redis_backend import FailureReporter

    reporter = FailureReporter(metrics, "rate_limit", "counting rate limits in this process meanwhile")
    return RedisRateLimiter(redis, limit, reporter)


async def build_services(settings: Settings, stack: AsyncExitStack) -> Services:
    """Open every resource, registering its cleanup on `stack` (closed in reverse order on shutdown)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog = load_catalog(settings.catalog_path)
    store = await open_store(settings)
    stack.push_async_callback(store.close)
    if database_backend(settings) == "postgres":
        warn_about_replica_settings(settings)
    metrics = standard_metrics()
    redis: Redis | None = None
    if settings.redis_url:
        from homily.redis_backend import open_redis, redacted

        shared = "rate limits, access changes and circuit states"
        log.info("%s shared through Redis at %s", shared, redacted(settings.redis_url))
        redis = open_redis(settings.redis_url)
        stack.push_async_callback(redis.aclose)
    registry = await open_credential_registry(settings, store, redis, metrics, stack)
    pool = ProviderPool(settings)
    stack.push_async_callback(pool.close)
    warn_when_no_provider(pool.providers())
    breakers = await open_circuit_breakers(settings, pool, redis, metrics, stack)
    availability = Availability(pool.providers(), healthy=breakers.is_available)
    local = _local_embedder(settings)
    embedder = BatchingEmbedder(local) if local is not None else None
    if embedder is not None:
        stack.push_async_callback(embedder.close)
    estimator = await asyncio.to_thread(load_tier_estimator, settings.router_weights)
    guard_model = await asyncio.to_thread(load_guard_model, GUARD_WEIGHTS)
    router = Router(catalog, availability, estimator, settings.routing_preference)
    executor = FallbackExecutor(Retrier(RetryPolicy(max_attempts=settings.upstream_max_attempts)))
    completions = CompletionService(
        catalog,
        router,
        pool,
        metrics,
        executor=executor,
        breakers=breakers,
        guard=GuardStage(guard_model, settings.guard_policy, metrics),
        query_embedder=embedder,
    )
    return Services(
        settings=settings,
        store=store,
        tokens=TokenService(await load_signing_key(settings, store), settings.issuer, settings.token_ttl_seconds),
        credentials=registry,
        catalog=catalog,
        availability=availability,
        pool=pool,
        completions=completions,
        local_embedder=local,
        metrics=metrics,
        rate_limiter=_rate_limiter(settings, redis, metrics),
        dummy_secret_hash=hash_secret(secrets.token_urlsafe(32)),
    )


def warn_about_replica_settings(settings: Settings) -> None:
    """On a shared database this process is presumably one of several replicas: say which settings every replica
    must share for tokens and limits to hold across them (nothing is wrong for a single process)."""
    if settings.public_url is None:
        log.warning(
            "HOMILY_PUBLIC_URL is not set: tokens name this process (%s) as their issuer, so other replicas refuse "
            "them; set the same HOMILY_PUBLIC_URL (the load balancer's URL) on every replica",
            settings.issuer,
        )
    if settings.redis_url is None and settings.rate_limit_per_minute:
        log.warning(
            "HOMILY_RATE_LIMIT_PER_MINUTE counts per process without HOMILY_REDIS_URL: with N replicas a credential "
            "may make up to N times the limit; set HOMILY_REDIS_URL to share one budget"
        )


def warn_when_no_provider(providers: frozenset[ProviderName]) -> None:
    """Say at start, not only in each request's 503, that no model can answer until a provider is configured."""
    if not providers:
        log.warning(
            "no model provider is configured: completions answer 503 (grounded ones quote passages instead) until "
            "you set %s and restart Homily",
            " or ".join(sorted(PROVIDER_SETTING.values())),
        )
