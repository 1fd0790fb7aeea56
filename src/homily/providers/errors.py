"""Translate upstream HTTP failures into Homily's error envelope, the same way for every provider.

Whose fault it is decides what happens next. An upstream 400, 413 or 422 says the request itself is wrong (a JSON
schema the provider refuses, a context too long, a value out of its range): that is the client's to fix, so it
becomes `InvalidRequestError` (HTTP 400, code 1001, not retryable), naming the upstream and quoting its message.
It is neither retried, nor sent on to a fallback model (the next model would most likely refuse it too, and
quietly answering from another model would hide the client's mistake), nor counted against the upstream's circuit
breaker (a client's bad requests must not take an upstream offline for every organisation). Everything only the
operator or the upstream can fix stays a provider fault: 401/403 (Homily's own key), and the 400s that mean the
same thing (Gemini's ErrorInfo reason `API_KEY_*`, OpenAI's `invalid_api_key` code, Gemini's
`FAILED_PRECONDITION` for an unsupported region or billing, Anthropic's "credit balance is too low").
"""

from __future__ import annotations

from typing import Any

import orjson

from homily.errors import (
    HomilyError,
    InvalidRequestError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)

_MAX_DETAIL = 300
_CLIENT_STATUSES = frozenset({400, 413, 422})

_KEY_SETTING = {
    "OpenAI": "OPENAI_API_KEY",
    "Anthropic": "ANTHROPIC_API_KEY",
    "Google": "GEMINI_API_KEY",
    "Open Source": "HOMILY_OPEN_SOURCE_API_KEY",
}
"""The setting holding each upstream's key (by the adapter's display name), named when the upstream refuses it."""

_BASE_URL_SETTING = {
    "OpenAI": "OPENAI_BASE_URL",
    "Anthropic": "ANTHROPIC_BASE_URL",
    "Google": "GEMINI_BASE_URL",
    "Open Source": "HOMILY_OPEN_SOURCE_BASE_URL",
}
"""The setting holding each upstream's address, named when it cannot be reached."""


def unreachable(provider: str, detail: str) -> ProviderUnavailableError:
    """No connection to the upstream at all: transient (retrying later may help), or its address is wrong."""
    setting = _BASE_URL_SETTING.get(provider, "its base URL setting")
    return ProviderUnavailableError(
        f"Could not reach the {provider} upstream ({detail}); retrying later may help. If it persists, check that "
        f"the upstream is running and that {setting} points at it (then restart Homily)."
    )


class UpstreamServerError(ProviderError):
    """An upstream 5xx (or Anthropic's 529 overloaded): reported as PROVIDER_ERROR, and transient, so retried."""


class UpstreamRejectedError(InvalidRequestError):
    """An upstream's 400/413/422 for the client's request: reported as INVALID_REQUEST (HTTP 400), the client's
    fault, yet no model answered (so a crisis message still gets Homily's fixed caring response)."""


def _error_object(body: bytes) -> Any:
    """The decoded error body's `error` member (or the body itself), None when it is not JSON."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(data, list) and data:
        data = data[0]
    return data.get("error", data) if isinstance(data, dict) else data


def upstream_message(body: bytes) -> str:
    """The human part of an upstream error body (OpenAI, Anthropic and Google all nest it under `error.message`)."""
    error = _error_object(body)
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])[:_MAX_DETAIL]
    if isinstance(error, str):
        return error[:_MAX_DETAIL]
    return body[:_MAX_DETAIL].decode("utf-8", "replace").strip()


def _setup_problem(body: bytes) -> str | None:
    """For a 400-class answer: `credentials` or `account` when it is about Homily's own key or provider account."""
    error = _error_object(body)
    if not isinstance(error, dict):
        return None
    details = error.get("details")
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and str(detail.get("reason", "")).startswith("API_KEY_"):
            return "credentials"
    if error.get("code") == "invalid_api_key":
        return "credentials"
    if error.get("status") == "FAILED_PRECONDITION" or "credit balance" in str(error.get("message", "")).lower():
        return "account"
    return None


def error_for_status(provider: str, status: int, body: bytes, retry_after: str | None) -> HomilyError:
    detail = upstream_message(body) or f"HTTP {status}"
    headers = {"Retry-After": retry_after} if retry_after else None
    problem = _setup_problem(body) if status in _CLIENT_STATUSES else None
    if status in (401, 403) or problem == "credentials":
        return ProviderError(
            f"The {provider} upstream rejected Homily's credentials ({detail}); "
            f"check {_KEY_SETTING.get(provider, 'the provider API key setting')} and restart Homily.",
        )
    if problem == "account":
        return ProviderError(f"The {provider} upstream refused Homily's account ({detail}); the operator must act.")
    if status in _CLIENT_STATUSES:
        return UpstreamRejectedError(f"The upstream ({provider}) rejected the request: {detail}")
    if status == 429:
        return ProviderUnavailableError(f"The {provider} upstream is rate limiting: {detail}", headers=headers)
    if status in (408, 504):
        return ProviderTimeoutError(f"The {provider} upstream timed out: {detail}")
    if status >= 500:
        return UpstreamServerError(f"The {provider} upstream failed with HTTP {status}: {detail}", headers=headers)
    return ProviderError(f"The {provider} upstream refused the request (HTTP {status}): {detail}")
