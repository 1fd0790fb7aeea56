"""An upstream that refuses Homily's key is reported with the setting that holds that key, so the operator
knows which one to fix; a server started with no provider at all says so in its log at once."""

from __future__ import annotations

import logging

import pytest

from homily.errors import ProviderError
from homily.providers.errors import error_for_status
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
