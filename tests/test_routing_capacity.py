"""Which error a request gets when routing finds no model (`homily.routing.capacity`), for the combinations of
configured, failing and too-small models a live server with one fake upstream cannot set up."""

from __future__ import annotations

import pytest

from homily.catalog.availability import Availability
from homily.catalog.loader import load_catalog
from homily.errors import ForbiddenError, HomilyError, InvalidRequestError, ProviderUnavailableError
from homily.protocol.chat import ChatCompletionRequest
from homily.routing.router import Router
from homily.settings import ProviderName
from tests.test_routing_policy import FixedTier

ALL: frozenset[ProviderName] = frozenset({"openai", "anthropic", "google", "open_source"})
SETTINGS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "HOMILY_OPEN_SOURCE_BASE_URL")
# ≈ 500 000 tokens at 4 characters per token: more than OpenAI's 400 k, less than Gemini's 1 M.
HALF_MILLION = "word " * 400_000


def _error(
    availability: Availability, text: str = "hello", allowed: frozenset[str] | None = None, **fields: object
) -> HomilyError:
    router = Router(load_catalog(), availability, FixedTier(2, 0.9))
    body = ChatCompletionRequest.model_validate({"messages": [{"role": "user", "content": text}], **fields})
    with pytest.raises(HomilyError) as raised:
        router.decide(body, allowed=allowed)
    return raised.value


def _named(message: str) -> set[str]:
    return {setting for setting in SETTINGS if setting in message}


def test_only_unconfigured_models_could_hold_it_names_just_their_setting() -> None:
    failing_openai = Availability(frozenset({"openai"}), healthy=lambda provider: False)
    error = _error(failing_openai, HALF_MILLION, auto_routing=True)
    assert isinstance(error, ProviderUnavailableError)
    assert _named(error.message) == {"GEMINI_API_KEY"}


def test_a_configured_model_that_would_hold_it_but_is_failing_says_retry() -> None:
    google_down = Availability(frozenset({"openai", "google"}), healthy=lambda provider: provider != "google")
    error = _error(google_down, HALF_MILLION, auto_routing=True)
    assert isinstance(error, ProviderUnavailableError)
    assert error.retryable
    assert "failing" in error.message
    assert "Retrying later may help" in error.message
    assert "Google" in error.message
    assert _named(error.message) == set()  # Anthropic and Open Source could not hold it either


def test_a_failing_family_names_the_settings_of_the_others_only_as_a_hint() -> None:
    error = _error(Availability(frozenset({"openai"}), healthy=lambda provider: False), auto_routing=True)
    assert isinstance(error, ProviderUnavailableError)
    assert "OpenAI is configured but failing" in error.message
    assert _named(error.message) == {"ANTHROPIC_API_KEY", "GEMINI_API_KEY", "HOMILY_OPEN_SOURCE_BASE_URL"}


def test_too_large_for_the_whole_catalog_is_400_even_with_nothing_configured() -> None:
    error = _error(Availability(frozenset()), "word " * 5_000_000, auto_routing=True)
    assert isinstance(error, InvalidRequestError)
    assert error.param == "messages"
    assert "1048576" in error.message
    assert _named(error.message) == set()


def test_max_tokens_is_counted_as_each_model_would_be_asked() -> None:
    """gpt-5 models produce at most 128 k tokens: a prompt of 260 k plus any max_tokens fits their 400 k."""
    router = Router(load_catalog(), Availability(ALL), FixedTier(2, 0.9))
    body = ChatCompletionRequest.model_validate(
        {"messages": [{"role": "user", "content": "word " * 208_000}], "model_family": "openai", "max_tokens": 10**9}
    )
    assert router.decide(body).model.startswith("gloo-openai-")


def test_direct_selection_reports_a_too_large_request_before_an_unconfigured_upstream() -> None:
    error = _error(Availability(frozenset()), HALF_MILLION, model="gloo-anthropic-claude-haiku-4.5")
    assert isinstance(error, InvalidRequestError)
    assert error.param == "messages"
    assert "200000" in error.message


def test_an_allow_list_that_leaves_only_small_models_is_still_403() -> None:
    error = _error(Availability(ALL), HALF_MILLION, allowed=frozenset({"gloo-openai-gpt-5-nano"}), auto_routing=True)
    assert isinstance(error, ForbiddenError)
