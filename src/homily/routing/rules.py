"""A transparent rule-based complexity router: a weighted sum of documented features through a logistic.

It is the default until a trained router ships; every weight is visible here and every decision carries the reasons
that moved it.
"""

from __future__ import annotations

import math

from homily.routing.decision import QueryEmbedding, Tier, TierEstimate
from homily.routing.features import RequestFeatures

TIER_2_FROM = 0.40
TIER_3_FROM = 0.70


def tier_for_score(score: float) -> Tier:
    if score >= TIER_3_FROM:
        return 3
    if score >= TIER_2_FROM:
        return 2
    return 1


def confidence_for_score(score: float) -> float:
    """0.5 on a tier boundary, rising towards 1.0 the further the score sits from the nearest boundary."""
    distance = min(abs(score - TIER_2_FROM), abs(score - TIER_3_FROM))
    return round(min(1.0, 0.5 + distance * 2.5), 3)


class RuleRouter:
    """`decide_tier(features)` → `TierEstimate`; pure and allocation-light (runs on the event loop in µs)."""

    def decide_tier(self, features: RequestFeatures, query_embedding: QueryEmbedding | None = None) -> TierEstimate:
        """`query_embedding` is accepted for the `TierEstimator` seam and ignored: rules read text features only."""
        logit = -1.6
        reasons: list[str] = []

        def add(weight: float, why: str) -> None:
            nonlocal logit
            logit += weight
            reasons.append(f"{why} ({weight:+.2f})")

        if features.small_talk:
            add(-2.5, "greeting or thanks")
        if features.words > 12:
            add(min(2.0, math.log2(features.words / 12) * 0.7), f"{features.words} words")
        if features.has_code:
            add(2.6, "code")
        if features.has_math:
            add(1.2, "math")
        if features.quantities > 2 and features.questions:
            add(min(2.8, 0.7 * (features.quantities - 2)), f"{features.quantities} quantities")
        if features.traditions > 1:
            add(2.5, f"{features.traditions} traditions compared")
        if features.reasoning_terms:
            add(min(2.4, 0.9 * features.reasoning_terms), f"{features.reasoning_terms} analytical terms")
        if features.questions > 1:
            add(min(1.0, 0.35 * (features.questions - 1)), f"{features.questions} questions")
        if features.turns > 2:
            add(min(0.8, 0.2 * (features.turns - 2)), f"{features.turns} user turns")
        if features.conversation_chars > 8000:
            add(0.6, "long conversation")
        if features.has_tools:
            add(0.5, "tools offered")
        score = 1.0 / (1.0 + math.exp(-logit))
        return TierEstimate(
            score=round(score, 4),
            tier=tier_for_score(score),
            confidence=confidence_for_score(score),
            reasons=reasons or ["short, plain request"],
        )
