"""Which catalog models can be called right now: their upstream is configured and (later) its breaker is closed."""

from __future__ import annotations

from collections.abc import Callable

from homily.catalog.loader import CatalogModel
from homily.settings import PROVIDER_SETTING, ProviderName, Settings


def configured_providers(settings: Settings) -> frozenset[ProviderName]:
    """A provider counts as configured when its key (Open Source: its base URL) is set."""
    configured: set[ProviderName] = set()
    if settings.openai_api_key is not None:
        configured.add("openai")
    if settings.anthropic_api_key is not None:
        configured.add("anthropic")
    if settings.gemini_api_key is not None:
        configured.add("google")
    if settings.open_source_base_url:
        configured.add("open_source")
    return frozenset(configured)


class Availability:
    """Answers "may this model be tried?" from configuration plus an optional health probe per provider."""

    def __init__(
        self,
        configured: frozenset[ProviderName],
        healthy: Callable[[ProviderName], bool] | None = None,
    ) -> None:
        self._configured = configured
        self._healthy = healthy

    def is_configured(self, model: CatalogModel) -> bool:
        return model.provider in self._configured

    def is_available(self, model: CatalogModel) -> bool:
        if model.provider not in self._configured:
            return False
        return self._healthy is None or self._healthy(model.provider)

    @staticmethod
    def enabling_setting(model: CatalogModel) -> str:
        return PROVIDER_SETTING[model.provider]
