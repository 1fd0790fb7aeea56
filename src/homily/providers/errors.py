"""Translate upstream HTTP failures into Homily's error envelope, the same way for every provider."""

from __future__ import annotations

import orjson

from homily.errors import (
    HomilyError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)

_MAX_DETAIL = 300


class UpstreamServerError(ProviderError):
    """An upstream 5xx (or Anthropic's 529 overloaded): reported as PROVIDER_ERROR, and transient, so retried."""


def upstream_message(body: bytes) -> str:
    """The human part of an upstream error body (OpenAI, Anthropic and Google all nest it under `error.message`)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:_MAX_DETAIL].decode("utf-8", "replace").strip()
    if isinstance(data, list) and data:
        data = data[0]
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:_MAX_DETAIL]
        if isinstance(error, str):
            return error[:_MAX_DETAIL]
    return body[:_MAX_DETAIL].decode("utf-8", "replace").strip()


def error_for_status(provider: str, status: int, body: bytes, retry_after: str | None) -> HomilyError:
    detail = upstream_message(body) or f"HTTP {status}"
    headers = {"Retry-After": retry_after} if retry_after else None
    if status in (401, 403):
        return ProviderError(
            f"The {provider} upstream rejected Homily's credentials ({detail}); check the provider's API key setting.",
        )
    if status == 429:
        return ProviderUnavailableError(f"The {provider} upstream is rate limiting: {detail}", headers=headers)
    if status in (408, 504):
        return ProviderTimeoutError(f"The {provider} upstream timed out: {detail}")
    if status >= 500:
        return UpstreamServerError(f"The {provider} upstream failed with HTTP {status}: {detail}", headers=headers)
    return ProviderError(f"The {provider} upstream refused the request (HTTP {status}): {detail}")
