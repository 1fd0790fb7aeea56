"""The configured upstreams: one adapter (and one pooled HTTP session) per provider, built from settings."""

from __future__ import annotations

import aiohttp

from homily.providers.anthropic import AnthropicAdapter
from homily.providers.google import GoogleAdapter
from homily.providers.http import new_session
from homily.providers.openai_compat import OpenAICompatAdapter
from homily.providers.timeouts import UpstreamTimeouts
from homily.providers.types import ProviderAdapter
from homily.settings import ProviderName, Settings


class ProviderPool:
    """Owns every upstream session. Create inside a running event loop (the app lifespan); `close()` on shutdown."""

    def __init__(self, settings: Settings) -> None:
        self.timeouts = UpstreamTimeouts(
            connect=settings.upstream_connect_timeout,
            first_byte=settings.upstream_first_byte_timeout,
            idle=settings.upstream_idle_timeout,
        )
        self._sessions: list[aiohttp.ClientSession] = []
        self._adapters: dict[ProviderName, ProviderAdapter] = {}
        limit = settings.upstream_max_connections
        if settings.openai_api_key is not None:
            self._adapters["openai"] = OpenAICompatAdapter(
                self._session(limit),
                settings.openai_base_url,
                settings.openai_api_key.get_secret_value(),
                self.timeouts,
                name="OpenAI",
            )
        if settings.anthropic_api_key is not None:
            self._adapters["anthropic"] = AnthropicAdapter(
                self._session(limit),
                settings.anthropic_base_url,
                settings.anthropic_api_key.get_secret_value(),
                self.timeouts,
            )
        if settings.gemini_api_key is not None:
            self._adapters["google"] = GoogleAdapter(
                self._session(limit),
                settings.gemini_base_url,
                settings.gemini_api_key.get_secret_value(),
                self.timeouts,
            )
        if settings.open_source_base_url:
            key = settings.open_source_api_key
            self._adapters["open_source"] = OpenAICompatAdapter(
                self._session(limit),
                settings.open_source_base_url,
                key.get_secret_value() if key is not None else None,
                self.timeouts,
                name="Open Source",
                native_developer_role=False,
            )

    def _session(self, limit: int) -> aiohttp.ClientSession:
        session = new_session(self.timeouts, limit)
        self._sessions.append(session)
        return session

    def providers(self) -> frozenset[ProviderName]:
        """The providers with a configured adapter."""
        return frozenset(self._adapters)

    def adapter(self, provider: ProviderName) -> ProviderAdapter | None:
        return self._adapters.get(provider)

    async def close(self) -> None:
        for session in self._sessions:
            await session.close()
        self._sessions.clear()
