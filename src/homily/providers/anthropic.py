"""Anthropic Messages API adapter (`POST /v1/messages`)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import aiohttp

from homily.errors import ProviderError
from homily.providers.anthropic_format import ANTHROPIC_VERSION, completion_from, messages_body
from homily.providers.anthropic_stream import AnthropicStreamTranslator
from homily.providers.sse_decoder import SSEEvent
from homily.providers.timeouts import UpstreamTimeouts
from homily.providers.types import Completion, ProviderRequest, StreamDelta
from homily.providers.upstream import DEFAULT_MAX_RESPONSE_BYTES, UpstreamClient


def _is_message_stop(event: SSEEvent) -> bool:
    return event.event == "message_stop"


class AnthropicAdapter:
    """Speaks the Anthropic Messages API for Homily's OpenAI-format requests.

    `session` is the upstream's pooled client, owned (and closed) by the `ProviderPool`. Nothing is yielded
    from `stream` until the upstream has produced real output, so a failure before that point is still an
    ordinary error the caller may retry or fall back from.
    """

    name = "Anthropic"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        api_key: str,
        timeouts: UpstreamTimeouts,
        *,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self._client = UpstreamClient(session, self.name, timeouts, max_response_bytes)
        self._url = base_url.rstrip("/") + "/v1/messages"
        self._headers = {"x-api-key": api_key, "anthropic-version": ANTHROPIC_VERSION}

    async def complete(self, request: ProviderRequest) -> Completion:
        data = await self._client.post_json(self._url, self._headers, messages_body(request, stream=False))
        return completion_from(data)

    async def stream(self, request: ProviderRequest) -> AsyncGenerator[StreamDelta, None]:
        translator = AnthropicStreamTranslator()
        body = messages_body(request, stream=True)
        events = self._client.post_sse(self._url, self._headers, body, terminal=_is_message_stop)
        try:
            async for event in events:
                for delta in translator.feed(event):
                    yield delta
        finally:
            await events.aclose()
        if not translator.finished:
            raise ProviderError("The Anthropic upstream stream ended before message_stop.")
