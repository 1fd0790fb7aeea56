"""Whose fault an upstream's HTTP error is: the client's request (400, never retried, never against the circuit)
or the upstream's or Homily's own set-up (a provider fault, retried or fallen back from where transient)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from homily.errors import HomilyError, InvalidRequestError, ProviderError, ProviderUnavailableError
from homily.providers.errors import UpstreamRejectedError, UpstreamServerError, error_for_status

INVALID_KEY_INFO = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}


def google(status: str, message: str, *details: dict[str, Any]) -> bytes:
    return orjson.dumps({"error": {"code": 400, "message": message, "status": status, "details": list(details)}})


def anthropic(kind: str, message: str) -> bytes:
    return orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})


def openai(message: str, code: str | None = None) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}})


CLIENT_FAULTS = [
    ("OpenAI", 400, openai("Invalid schema for response_format 'verse'.", "invalid_json_schema")),
    ("OpenAI", 400, openai("This model's maximum context length is 128000 tokens.", "context_length_exceeded")),
    ("OpenAI", 413, openai("Request too large.")),
    ("Open Source", 422, b'{"detail": [{"msg": "Input should be a valid integer"}]}'),
    ("Anthropic", 400, anthropic("invalid_request_error", "messages: at least one message is required")),
    ("Anthropic", 413, anthropic("request_too_large", "Request exceeds the maximum allowed number of bytes.")),
    ("Google", 400, google("INVALID_ARGUMENT", "Request contains an invalid argument.")),
]


@pytest.mark.parametrize(
    ("provider", "status", "body"), CLIENT_FAULTS, ids=[f"{p}-{s}-{i}" for i, (p, s, _) in enumerate(CLIENT_FAULTS)]
)
def test_a_request_the_upstream_refuses_is_the_clients_400(provider: str, status: int, body: bytes) -> None:
    error = error_for_status(provider, status, body, None)
    assert type(error) is UpstreamRejectedError
    assert isinstance(error, InvalidRequestError)
    assert (error.status, error.code, error.fault, error.retryable) == (400, 1001, "client", False)
    assert error.message.startswith(f"The upstream ({provider}) rejected the request: ")
    assert len(error.message) < 400


PROVIDER_FAULTS: list[tuple[str, int, bytes, type[HomilyError]]] = [
    ("OpenAI", 401, openai("Incorrect API key provided: sk-…", "invalid_api_key"), ProviderError),
    ("OpenAI", 403, openai("Project does not have access to model gpt-5-mini"), ProviderError),
    ("OpenAI", 404, openai("The model `gpt-5-mini` does not exist", "model_not_found"), ProviderError),
    ("OpenAI", 429, openai("Rate limit reached"), ProviderUnavailableError),
    ("OpenAI", 500, openai("The server had an error"), UpstreamServerError),
    ("OpenAI", 400, openai("Incorrect API key provided.", "invalid_api_key"), ProviderError),
    ("Google", 400, google("INVALID_ARGUMENT", "API key not valid.", INVALID_KEY_INFO), ProviderError),
    ("Google", 400, google("FAILED_PRECONDITION", "User location is not supported for the API use."), ProviderError),
    ("Google", 403, google("PERMISSION_DENIED", "Method doesn't allow unregistered callers."), ProviderError),
    ("Anthropic", 400, anthropic("invalid_request_error", "Your credit balance is too low."), ProviderError),
    ("Anthropic", 401, anthropic("authentication_error", "invalid x-api-key"), ProviderError),
]


@pytest.mark.parametrize(
    ("provider", "status", "body", "kind"),
    PROVIDER_FAULTS,
    ids=[f"{f[0]}-{f[1]}-{i}" for i, f in enumerate(PROVIDER_FAULTS)],
)
def test_what_only_the_operator_or_the_upstream_can_fix_stays_a_provider_fault(
    provider: str, status: int, body: bytes, kind: type[HomilyError]
) -> None:
    error = error_for_status(provider, status, body, None)
    assert type(error) is kind
    assert error.fault == "provider"
    assert f"The {provider} upstream" in error.message
