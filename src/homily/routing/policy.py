"""Ordering policy for models that passed the capability/availability filters: `cost`, `balanced`, `quality`.

The server sets a default (`HOMILY_ROUTING_PREFERENCE`); a request may override it with the extension field
`routing_preference`. Every policy starts from the estimated tier; they differ in which way they lean:

- `balanced`: the tier's models by catalog rank, then stronger tiers, then weaker ones; family order
  breaks ties.
- `cost`: the tier's models cheapest first, then weaker (cheaper) tiers before stronger ones. When the
  router is
  unsure (confidence below `UNSURE_BELOW`), it starts one tier lower.
- `quality`: the tier's models by catalog rank, then stronger tiers before weaker ones; when unsure it
  starts one
  tier higher.
The result is the whole ordered list, so the first entry is the choice and the rest is the fallback chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, TypeVar

RoutingPreference = Literal["cost", "balanced", "quality"]
ROUTING_PREFERENCES: tuple[RoutingPreference, ...] = ("cost", "balanced", "quality")
UNSURE_BELOW = 0.6


class RankableModel(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def family(self) -> str: ...
    @property
    def tier(self) -> int: ...
    @property
    def rank_in_tier(self) -> int: ...
    @property
    def blended_price(self) -> float: ...


ModelT = TypeVar("ModelT", bound=RankableModel)


def start_tier(tier: int, confidence: float | None, preference: RoutingPreference) -> int:
    """The tier a policy starts from: the estimate, nudged one step its way when the router is unsure."""
    if confidence is None or confidence >= UNSURE_BELOW or preference == "balanced":
        return tier
    return max(1, tier - 1) if preference == "cost" else min(3, tier + 1)


def tier_sequence(tier: int, preference: RoutingPreference) -> list[int]:
    """Tiers in the order the policy tries them."""
    stronger = [t for t in (tier + 1, tier + 2) if t <= 3]
    weaker = [t for t in (tier - 1, tier - 2) if t >= 1]
    return [tier, *weaker, *stronger] if preference == "cost" else [tier, *stronger, *weaker]


def order_models(
    models: Sequence[ModelT],
    tier: int,
    confidence: float | None,
    families: Sequence[str],
    preference: RoutingPreference = "balanced",
) -> list[ModelT]:
    """`models` (already filtered) in the order to try them under `preference`."""
    family_rank = {family: i for i, family in enumerate(families)}
    tier_rank = {t: i for i, t in enumerate(tier_sequence(start_tier(tier, confidence, preference), preference))}

    def key(model: ModelT) -> tuple[float, ...]:
        family = float(family_rank.get(model.family, len(family_rank)))
        if preference == "cost":
            return (tier_rank[model.tier], model.blended_price, family, model.rank_in_tier)
        return (tier_rank[model.tier], family, model.rank_in_tier, model.blended_price)

    return sorted(models, key=key)
