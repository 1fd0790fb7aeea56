"""Selection policies after the tier: cost / balanced / quality, per-request override, unsure-confidence nudge."""

from __future__ import annotations

import pytest

from homily.catalog.availability import Availability
from homily.catalog.loader import load_catalog
from homily.protocol.chat import ChatCompletionRequest
from homily.routing.decision import QueryEmbedding, TierEstimate
from homily.routing.features import RequestFeatures
from homily.routing.policy import start_tier, tier_sequence
from homily.routing.requirements import Requirements
from homily.routing.router import Router
from homily.routing.selection import rank_candidates
from homily.settings import ProviderName

ALL: frozenset[ProviderName] = frozenset({"openai", "anthropic", "google", "open_source"})
NEEDS = Requirements(needs_tools=False, prompt_tokens=1000)


class FixedTier:
    """A tier estimator that always answers the same estimate (isolates selection from scoring)."""

    def __init__(self, tier: int, confidence: float) -> None:
        self.estimate = TierEstimate(score=0.5, tier=tier, confidence=confidence)  # type: ignore[arg-type]

    def decide_tier(self, features: RequestFeatures, query_embedding: QueryEmbedding | None = None) -> TierEstimate:
        return self.estimate


def request(**fields: object) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate({"messages": [{"role": "user", "content": "hello"}], **fields})


def test_tier_sequences() -> None:
    assert tier_sequence(2, "balanced") == [2, 3, 1]
    assert tier_sequence(2, "quality") == [2, 3, 1]
    assert tier_sequence(2, "cost") == [2, 1, 3]
    assert tier_sequence(1, "cost") == [1, 2, 3]


def test_unsure_estimates_lean_the_policys_way() -> None:
    assert start_tier(2, 0.55, "quality") == 3
    assert start_tier(2, 0.55, "cost") == 1
    assert start_tier(2, 0.55, "balanced") == 2
    assert start_tier(2, 0.9, "quality") == 2
    assert start_tier(3, 0.1, "quality") == 3


def test_cost_policy_takes_the_cheapest_model_of_the_tier_across_families() -> None:
    ranked = rank_candidates(
        load_catalog(),
        Availability(ALL),
        3,
        NEEDS,
        ["OpenAI", "Anthropic", "Google", "Open Source"],
        confidence=0.9,
        preference="cost",
    )
    assert ranked[0].id == "gloo-deepseek-v3.2"
    tier_3 = [m for m in ranked if m.tier == 3]
    assert [m.tier for m in ranked[: len(tier_3)]] == [3] * len(tier_3)
    assert [m.blended_price for m in tier_3] == sorted(m.blended_price for m in tier_3)
    assert ranked[len(tier_3)].tier == 2  # then cheaper tiers before stronger ones


def test_balanced_policy_keeps_family_order_and_catalog_rank() -> None:
    ranked = rank_candidates(
        load_catalog(),
        Availability(ALL),
        3,
        NEEDS,
        ["OpenAI", "Anthropic", "Google", "Open Source"],
        confidence=0.9,
    )
    assert [m.id for m in ranked[:2]] == ["gloo-openai-gpt-5.2", "gloo-openai-gpt-5-pro"]


@pytest.mark.parametrize(
    ("preference", "expected"),
    [("quality", "gloo-anthropic-claude-opus-4.5"), ("cost", "gloo-anthropic-claude-haiku-4.5")],
)
def test_request_preference_overrides_server_default_when_unsure(preference: str, expected: str) -> None:
    router = Router(load_catalog(), Availability(ALL), FixedTier(2, 0.55), "balanced")
    decision = router.decide(request(model_family="anthropic", routing_preference=preference))
    assert decision.model == expected
    assert decision.tier == 2  # the reported tier is the estimate; the policy only changes the model order
    assert all(m.startswith("gloo-anthropic") for m in decision.fallbacks)


def test_unavailable_family_members_are_skipped_in_the_chain() -> None:
    router = Router(load_catalog(), Availability(ALL, healthy=lambda p: p != "openai"), FixedTier(3, 0.9))
    decision = router.decide(request(auto_routing=True))
    catalog = load_catalog()
    providers = {catalog.get(m).provider for m in (decision.model, *decision.fallbacks)}  # type: ignore[union-attr]
    assert "openai" not in providers
    assert decision.fallbacks
