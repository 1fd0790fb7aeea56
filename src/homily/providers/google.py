"""Google Gemini adapter (`generateContent` and `streamGenerateContent?alt=sse`)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
import orjson

from homily.errors import ProviderError
from homily.providers.google_format import (
    candidate_parts,
    empty_completion,
    finish_reason,
    generate_body,
    generate_path,
    tool_call,
    usage_from,
)
from homily.providers.timeouts import UpstreamTimeouts
from homily.providers.types import (
    Completion,
    FinishReason,
    ProviderRequest,
    StreamDelta,
    ToolCallDelta,
    Usage,
)
from homily.providers.upstream import DEFAULT_MAX_RESPONSE_BYTES, UpstreamClient


class GoogleAdapter:
    """Speaks the Gemini API for Homily's OpenAI-format requests.

    Gemini function calls carry no ids, so the adapter derives stable ones from the response id and the call's
    position, and maps `tool` messages back to `functionResponse` parts by the name the assistant turn
    recorded for each id. `session` is owned (and closed) by the `ProviderPool`. Nothing is yielded from
    `stream` before the upstream produced real output.
    """

    name = "Google"

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
        self._base_url = base_url.rstrip("/")
        self._headers = {"x-goog-api-key": api_key}

    async def complete(self, request: ProviderRequest) -> Completion:
        url = self._base_url + generate_path(request.model.upstream_name, stream=False)
        data = await self._client.post_json(url, self._headers, generate_body(request))
        parts = candidate_parts(data)
        response_id = _response_id(data)
        calls = [tool_call(response_id, i, name, args) for i, (name, args) in enumerate(parts.calls)]
        usage = usage_from(data.get("usageMetadata"))
        reason = finish_reason(parts.finish, blocked=parts.blocked, has_tool_calls=bool(calls))
        content = "".join(parts.texts)
        if reason == "length" and not content and not calls:
            raise empty_completion(usage)
        if parts.finish is None and not parts.blocked:
            raise ProviderError("The Google upstream returned no candidate with a finish reason.")
        return Completion(
            content=content if content or not calls else None,
            tool_calls=calls,
            finish_reason=reason,
            usage=usage,
        )

    async def stream(self, request: ProviderRequest) -> AsyncGenerator[StreamDelta, None]:
        url = self._base_url + generate_path(request.model.upstream_name, stream=True)
        events = self._client.post_sse(url, self._headers, generate_body(request))
        calls_seen = 0
        emitted = False
        finish: str | None = None
        blocked = False
        usage = Usage()
        try:
            async for event in events:
                data = _decode(event.data)
                parts = candidate_parts(data)
                usage = usage_from(data.get("usageMetadata")) if "usageMetadata" in data else usage
                blocked = blocked or parts.blocked
                finish = parts.finish or finish
                deltas: list[ToolCallDelta] = []
                for name, args in parts.calls:
                    call = tool_call(_response_id(data), calls_seen, name, args)
                    deltas.append(ToolCallDelta(index=calls_seen, id=call.id, name=call.name, arguments=call.arguments))
                    calls_seen += 1
                text = "".join(parts.texts)
                if text or deltas:
                    emitted = True
                    yield StreamDelta(content=text or None, tool_calls=deltas or None)
        finally:
            await events.aclose()
        if finish is None and not blocked:
            raise ProviderError("The Google upstream stream ended without a finish reason.")
        reason: FinishReason = finish_reason(finish, blocked=blocked, has_tool_calls=calls_seen > 0)
        if reason == "length" and not emitted:
            raise empty_completion(usage)
        yield StreamDelta(finish_reason=reason, usage=usage)


def _decode(text: str) -> dict[str, Any]:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ProviderError(f"The Google upstream sent a malformed stream event: {exc}.") from exc
    if not isinstance(data, dict):
        raise ProviderError("The Google upstream sent a stream event that is not an object.")
    return data


def _response_id(data: dict[str, Any]) -> str:
    value = data.get("responseId")
    return value if isinstance(value, str) else ""
