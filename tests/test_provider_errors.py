"""An upstream that refuses Homily's key is reported with the setting that holds that key, so the operator
knows which one to fix (one it cannot reach, with the setting holding its address); a server started with no
provider at all says so in its log at once."""

from __future__ import annotations

import asyncio
import logging
import socket

import aiohttp
import pytest

from homily.errors import ProviderError, ProviderUnavailableError
from homily.providers.errors import error_for_status, unreachable
from homily.providers.timeouts import UpstreamTimeouts
from homily.providers.upstream import UpstreamClient
from homily.wiring import warn_when_no_provider


@pytest.mark.parametrize(
    ("provider", "setting"),
    [
        ("OpenAI", "OPENAI_API_KEY"),
        ("Anthropic", "ANTHROPIC_API_KEY"),
        ("Google", "GEMINI_API_KEY"),
        ("Open Source", "HOMILY_OPEN_SOURCE_API_KEY"),
    ],
)
@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_names_its_setting(provider: str, setting: str, status: int) -> None:
    error = error_for_status(provider, status, b'{"error": {"message": "invalid x-api-key"}}', None)
    assert isinstance(error, ProviderError)
    assert error.message == (
        f"The {provider} upstream rejected Homily's credentials (invalid x-api-key); "
        f"check {setting} and restart Homily."
    )


def test_a_server_without_providers_says_so_at_start(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="homily.wiring"):
        warn_when_no_provider(frozenset())
    assert [record.getMessage() for record in caplog.records] == [
        "no model provider is configured: completions answer 503 (grounded ones quote passages instead) until you "
        "set ANTHROPIC_API_KEY or GEMINI_API_KEY or HOMILY_OPEN_SOURCE_BASE_URL or OPENAI_API_KEY and restart Homily"
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="homily.wiring"):
        warn_when_no_provider(frozenset({"openai"}))
    assert caplog.records == []


@pytest.mark.parametrize(
    ("provider", "setting"),
    [
        ("OpenAI", "OPENAI_BASE_URL"),
        ("Anthropic", "ANTHROPIC_BASE_URL"),
        ("Google", "GEMINI_BASE_URL"),
        ("Open Source", "HOMILY_OPEN_SOURCE_BASE_URL"),
    ],
)
def test_an_unreachable_upstream_names_its_address_setting(provider: str, setting: str) -> None:
    error = unreachable(provider, "Connect call failed")
    assert isinstance(error, ProviderUnavailableError)
    assert error.message == (
        f"Could not reach the {provider} upstream (Connect call failed); retrying later may help. If it persists, "
        f"check that the upstream is running and that {setting} points at it (then restart Homily)."
    )


def test_a_refused_connection_is_reported_as_unreachable() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def call() -> None:
        async with aiohttp.ClientSession() as session:
            client = UpstreamClient(session, "OpenAI", UpstreamTimeouts())
            await client.post_json(f"http://127.0.0.1:{port}/v1/chat/completions", {}, {})

    with pytest.raises(ProviderUnavailableError) as caught:
        asyncio.run(call())
    reached = f"Could not reach the OpenAI upstream (Cannot connect to host 127.0.0.1:{port}"
    assert caught.value.message.startswith(reached)
    assert "OPENAI_BASE_URL points at it" in caught.value.message
