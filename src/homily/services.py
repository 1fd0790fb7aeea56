"""The per-process object graph, built in the app's lifespan and reached from handlers via `app.state.services`."""

from __future__ import annotations

from dataclasses import dataclass

from homily.auth.registry import CredentialRegistry
from homily.auth.tokens import TokenService
from homily.catalog.availability import Availability
from homily.catalog.loader import Catalog
from homily.embeddings.deferred import DeferredEmbedder
from homily.metrics import Metrics
from homily.providers.pool import ProviderPool
from homily.ratelimit import RateLimiter
from homily.service.completions import CompletionService
from homily.settings import Settings
from homily.storage.base import Store


@dataclass(slots=True)
class Services:
    settings: Settings
    store: Store
    tokens: TokenService
    credentials: CredentialRegistry
    catalog: Catalog
    availability: Availability
    pool: ProviderPool
    completions: CompletionService
    local_embedder: DeferredEmbedder | None
    """The one all-MiniLM-L6-v2 model of the process (loading in the background at first), shared by query
    embedding and ingestion (None: embeddings off)."""
    metrics: Metrics
    rate_limiter: RateLimiter | None
    dummy_secret_hash: str
    """A hash of a random secret, checked for unknown client ids so timing does not reveal which ids exist."""
