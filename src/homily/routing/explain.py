"""Explain one routing decision: what `homily route "..."` prints (score, tier, confidence, the features that
weighed most, and, when a catalog is given, the chosen model and its runners-up)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import numpy.typing as npt

from homily.routing.learned import ComplexityModel, FeatureContribution, PromptInputs
from homily.routing.signals import ConversationFacts


@dataclass(frozen=True, slots=True)
class RouteExplanation:
    """A decision with its evidence; `model`/`runners_up` are empty when no catalog was consulted."""

    text: str
    shape: str
    score: float
    tier: str
    confidence: float
    boundaries: tuple[float, float]
    top_features: list[FeatureContribution]
    model: str | None = None
    runners_up: list[str] = field(default_factory=list)
    note: str | None = None

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    def to_text(self) -> str:
        lines = [
            f"score       {self.score:.4f}  (tier_2 from {self.boundaries[0]:.3f}, "
            f"tier_3 from {self.boundaries[1]:.3f})",
            f"tier        {self.tier}",
            f"shape       {self.shape}",
            f"confidence  {self.confidence:.3f}",
        ]
        if self.model is not None:
            lines.append(f"model       {self.model}")
            lines.append(f"runners-up  {', '.join(self.runners_up) or '-'}")
        if self.note:
            lines.append(f"note        {self.note}")
        lines.append("features that weighed most (logit contribution):")
        lines.extend(
            f"  {item.contribution:+.3f}  {item.name}"
            + ("" if item.name.startswith("semantic") else f" = {item.value:.2f}")
            for item in self.top_features
        )
        return "\n".join(lines)


def explain(
    text: str,
    model: ComplexityModel,
    embedding: npt.NDArray[np.float32] | None,
    *,
    facts: ConversationFacts | None = None,
    top: int = 6,
    ranked_models: list[str] | None = None,
    note: str | None = None,
) -> RouteExplanation:
    """The explanation of routing `text` (the last user turn) with the given shared query embedding."""
    inputs = PromptInputs.of(text, facts or ConversationFacts(), embedding)
    score = model.score(inputs)
    ranked = ranked_models or []
    return RouteExplanation(
        text=text,
        shape=inputs.shape,
        score=round(score, 4),
        tier=f"tier_{model.tier_of(score)}",
        confidence=model.confidence_of(score),
        boundaries=model.weights.boundaries,
        top_features=model.contributions(inputs)[:top],
        model=ranked[0] if ranked else None,
        runners_up=ranked[1:4],
        note=note,
    )
