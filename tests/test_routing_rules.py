"""The rule router and model selection (tiers, families, capabilities, fallbacks)."""

from __future__ import annotations

import pytest

from homily.catalog.availability import Availability
from homily.catalog.loader import load_catalog
from homily.errors import InvalidRequestError, ProviderUnavailableError
from homily.protocol.chat import ChatCompletionRequest
from homily.routing.features import extract_features
from homily.routing.router import Router
from homily.routing.rules import RuleRouter

ALL = frozenset({"openai", "anthropic", "google", "open_source"})


def request(text: str, **fields: object) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate({"messages": [{"role": "user", "content": text}], **fields})


def tier_of(text: str) -> int:
    features = extract_features(request(text).messages, has_tools=False, grounded=False)
    return RuleRouter().decide_tier(features).tier


@pytest.mark.parametrize("text", ["Hi!", "Thanks so much", "good morning", "What is John 3:16?", "Who wrote Romans?"])
def test_small_talk_and_lookups_are_tier_1(text: str) -> None:
    assert tier_of(text) == 1


@pytest.mark.parametrize(
    "text",
    [
        "Compare and contrast the Catholic, Lutheran and Reformed understandings of justification, explain why they "
        "differ historically, and evaluate how each reads Romans 3 and James 2.",
        "Write a Python function that parses Bible references like 'John 3:16-18' and explain step by step:\n"
        "```python\ndef parse(ref):\n    pass\n```",
        "Prove that the sum of the first n odd numbers is n^2, step by step, and explain why induction works.",
        # Short ones: code requests without code, comparative theology, multi-step word problems.
        "Write a TypeScript function that groups our volunteers by serving team.",
        "Create a SQL query that totals offerings per month.",
        "How do Methodists and Presbyterians differ on predestination?",
        "Compare Aquinas and Luther on grace.",
        "A bakery sells 45 loaves a day at $3 each. Flour costs $40 a week and rent $120 a month. If it opens 6 "
        "days a week, what is its profit over 4 weeks?",
    ],
)
def test_analysis_code_reasoning_comparisons_and_multi_step_problems_are_tier_3(text: str) -> None:
    assert tier_of(text) == 3


@pytest.mark.parametrize(
    "text",
    [
        "Read me Romans 8:38-39",
        "thanks, that helps",
        "How many books are in the New Testament?",
        "Tom has 3 apples and buys 2 more. How many now?",
        "The function of the law in Galatians, briefly?",
    ],
)
def test_lookups_thanks_and_one_step_problems_are_tier_1(text: str) -> None:
    # A verse range is not arithmetic, two quantities are not a multi-step problem, "function" alone is not code.
    assert tier_of(text) == 1


def test_confidence_is_a_probability_and_reasons_are_given() -> None:
    estimate = RuleRouter().decide_tier(extract_features(request("Hello").messages, has_tools=False, grounded=False))
    assert 0.5 <= estimate.confidence <= 1.0
    assert estimate.reasons


def router(configured: frozenset[str] = ALL) -> Router:
    return Router(load_catalog(), Availability(configured), RuleRouter())  # type: ignore[arg-type]


def test_family_mode_picks_the_familys_model_for_the_tier() -> None:
    decision = router().decide(request("Hi", model_family="anthropic"))
    assert decision.model == "gloo-anthropic-claude-haiku-4.5"
    assert decision.tier == 1
    assert all(m.startswith("gloo-anthropic") for m in decision.fallbacks)
    hard_text = (
        "Compare and contrast the Catholic and Reformed views of the Eucharist, explain why they differ, and "
        "analyze how each reads John 6, step by step and in depth."
    )
    hard = router().decide(request(hard_text, model_family="google"))
    assert hard.model == "gloo-google-gemini-2.5-pro"
    assert hard.fallbacks[0] == "gloo-google-gemini-3-pro-preview"


def test_auto_mode_orders_fallbacks_by_tier_then_family() -> None:
    decision = router().decide(request("Hello there", auto_routing=True))
    assert decision.model == "gloo-openai-gpt-5-nano"
    assert decision.fallbacks[:3] == [
        "gloo-anthropic-claude-haiku-4.5",
        "gloo-google-gemini-2.5-flash-lite",
        "gloo-meta-llama-3.1-8b-instruct",
    ]


def test_unconfigured_families_are_skipped_and_tools_filter_models() -> None:
    only_open = router(frozenset({"open_source"}))
    tools = [{"type": "function", "function": {"name": "f"}}]
    decision = only_open.decide(request("Hi", auto_routing=True, tools=tools))
    assert decision.model != "gloo-meta-llama-3.1-8b-instruct"
    assert decision.model.startswith("gloo-deepseek") or decision.model == "gloo-openai-gpt-oss-120b"
    with pytest.raises(ProviderUnavailableError, match="ANTHROPIC_API_KEY"):
        only_open.decide(request("Hi", model_family="anthropic"))


def test_direct_selection_validates_the_model() -> None:
    with pytest.raises(InvalidRequestError):
        router().decide(request("Hi", model="gloo-unknown"))
    decision = router().decide(request("Hi", model="gloo-google-gemini-2.5-pro"))
    assert (decision.model, decision.tier, decision.fallbacks) == ("gloo-google-gemini-2.5-pro", None, [])


def test_context_window_excludes_small_models() -> None:
    long_text = "word " * 600_000  # ~750k tokens: only the Gemini models' 1M window fits
    decision = router().decide(request(long_text, auto_routing=True))
    assert decision.model.startswith("gloo-google")
