"""An upstream that refuses Homily's key is reported with the setting that holds that key, so the operator
knows which one to fix."""

from __future__ import annotations

import pytest

from homily.errors import ProviderError
from homily.providers.errors import error_for_status


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
