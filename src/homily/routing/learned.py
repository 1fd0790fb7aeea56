"""The learned complexity router: a small NumPy network over the shared query embedding and request signals.

`ComplexityModel` maps (384-d embedding of the last user turn, SIGNAL_NAMES vector) to a complexity score
in 0..1,
the model's estimate that a strong model is needed, then to `tier_1`..`tier_3` through two trained
boundaries, and
to a routing confidence: a logistic function of the score's distance to the nearest boundary, fitted on
held-out
data so that, e.g., 0.8 means about 80% of held-out requests at that distance were placed in their true tier.

Weights are a plain `.npz` (loaded with `allow_pickle=False`), produced by `scripts/train_router.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from homily.routing.decision import QueryEmbedding, Tier, TierEstimate
from homily.routing.features import RequestFeatures
from homily.routing.signals import SIGNAL_NAMES, ConversationFacts, text_signals

FloatVector = npt.NDArray[np.float32]
DEFAULT_WEIGHTS_NAME = "complexity_router.npz"
EMBEDDING_FEATURE = "semantic content (embedding)"


@dataclass(frozen=True, slots=True)
class FeatureContribution:
    name: str
    value: float
    contribution: float


@dataclass(frozen=True, slots=True)
class ComplexityWeights:
    """Arrays of one trained model. Invariant: hidden_weight is (384 + len(signal_names), hidden) and the
    boundaries are increasing inside (0, 1); loaders check both so a stale file fails loudly, not silently."""

    hidden_weight: npt.NDArray[np.float32]
    hidden_bias: npt.NDArray[np.float32]
    output_weight: npt.NDArray[np.float32]
    output_bias: float
    signal_mean: npt.NDArray[np.float32]
    signal_scale: npt.NDArray[np.float32]
    boundaries: tuple[float, float]
    confidence_coef: tuple[float, float]
    signal_names: tuple[str, ...]
    metadata: dict[str, object]
    relu: bool = True

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            hidden_weight=self.hidden_weight.astype(np.float32),
            hidden_bias=self.hidden_bias.astype(np.float32),
            output_weight=self.output_weight.astype(np.float32),
            output_bias=np.array(self.output_bias, dtype=np.float64),
            signal_mean=self.signal_mean.astype(np.float32),
            signal_scale=self.signal_scale.astype(np.float32),
            boundaries=np.array(self.boundaries, dtype=np.float64),
            confidence_coef=np.array(self.confidence_coef, dtype=np.float64),
            signal_names=np.array(self.signal_names),
            metadata=np.array(json.dumps(self.metadata, sort_keys=True)),
            relu=np.array(self.relu),
        )

    @classmethod
    def load(cls, path: Path) -> ComplexityWeights:
        with np.load(path, allow_pickle=False) as arrays:
            names = tuple(str(name) for name in arrays["signal_names"])
            if names != SIGNAL_NAMES:
                raise ValueError(f"{path}: weights were trained on other signals: {names}")
            boundaries = tuple(float(value) for value in arrays["boundaries"])
            if not 0.0 < boundaries[0] < boundaries[1] < 1.0:
                raise ValueError(f"{path}: tier boundaries must increase inside (0, 1): {boundaries}")
            hidden_weight = arrays["hidden_weight"].astype(np.float32)
            if hidden_weight.shape[0] != 384 + len(names):
                raise ValueError(f"{path}: input size {hidden_weight.shape[0]} != {384 + len(names)}")
            coef = tuple(float(value) for value in arrays["confidence_coef"])
            return cls(
                hidden_weight=hidden_weight,
                hidden_bias=arrays["hidden_bias"].astype(np.float32),
                output_weight=arrays["output_weight"].astype(np.float32),
                output_bias=float(arrays["output_bias"]),
                signal_mean=arrays["signal_mean"].astype(np.float32),
                signal_scale=arrays["signal_scale"].astype(np.float32),
                boundaries=(boundaries[0], boundaries[1]),
                confidence_coef=(coef[0], coef[1]),
                signal_names=names,
                metadata=dict(json.loads(str(arrays["metadata"]))),
                relu=bool(arrays["relu"]),
            )


def default_weights_path() -> Path:
    return Path(str(resources.files("homily.routing") / "weights" / DEFAULT_WEIGHTS_NAME))


def _sigmoid(value: float) -> float:
    return float(1.0 / (1.0 + np.exp(-np.clip(value, -60.0, 60.0))))


class ComplexityModel:
    """Scores requests with fixed trained weights. Pure and thread-safe (read-only arrays), ~tens of µs
    per call,
    so it runs inline on the event loop once the shared embedding exists."""

    def __init__(self, weights: ComplexityWeights) -> None:
        self.weights = weights
        size = len(weights.signal_names)
        self._embedding_rows = weights.hidden_weight[:-size]
        self._signal_rows = weights.hidden_weight[-size:]

    @classmethod
    def load(cls, path: Path | None = None) -> ComplexityModel:
        return cls(ComplexityWeights.load(path or default_weights_path()))

    def _standardise(self, signals: FloatVector) -> FloatVector:
        return ((signals - self.weights.signal_mean) / self.weights.signal_scale).astype(np.float32)

    def logits(self, embeddings: npt.NDArray[np.float32], signals: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """Batch logits: embeddings (n, 384), raw signals (n, len(SIGNAL_NAMES))."""
        standard = (signals - self.weights.signal_mean) / self.weights.signal_scale
        hidden = embeddings @ self._embedding_rows + standard @ self._signal_rows + self.weights.hidden_bias
        activated = np.maximum(hidden, 0.0) if self.weights.relu else hidden
        return np.asarray(activated @ self.weights.output_weight + self.weights.output_bias, dtype=np.float64)

    def score(self, embedding: FloatVector | None, signals: FloatVector) -> float:
        """Complexity score in 0..1 (the estimated probability that the strong model is needed)."""
        vector = embedding if embedding is not None else np.zeros(384, dtype=np.float32)
        logit = self.logits(vector[None, :], signals[None, :])[0]
        return _sigmoid(float(logit))

    def tier_of(self, score: float) -> Tier:
        low, high = self.weights.boundaries
        if score < low:
            return 1
        return 2 if score < high else 3

    def confidence_of(self, score: float) -> float:
        """Calibrated probability that the tier is right, from the distance to the nearest boundary."""
        distance = min(abs(score - boundary) for boundary in self.weights.boundaries)
        intercept, slope = self.weights.confidence_coef
        return round(_sigmoid(intercept + slope * distance), 3)

    def contributions(self, embedding: FloatVector | None, signals: FloatVector) -> list[FeatureContribution]:
        """Gradient x input attribution of the logit to each signal and to the embedding as a whole,
        measured from the training mean (so a typical value contributes ~0); largest magnitude first."""
        vector = embedding if embedding is not None else np.zeros(384, dtype=np.float32)
        standard = self._standardise(signals)
        hidden = vector @ self._embedding_rows + standard @ self._signal_rows + self.weights.hidden_bias
        active = (hidden > 0).astype(np.float32) if self.weights.relu else np.ones_like(hidden)
        gate = active * self.weights.output_weight
        signal_effect = self._signal_rows @ gate * standard
        embedding_effect = float(vector @ (self._embedding_rows @ gate))
        items = [
            FeatureContribution(name, float(signals[i]), float(signal_effect[i]))
            for i, name in enumerate(self.weights.signal_names)
        ]
        items.append(FeatureContribution(EMBEDDING_FEATURE, 1.0 if embedding is not None else 0.0, embedding_effect))
        return sorted(items, key=lambda item: -abs(item.contribution))

    def estimate(
        self, text: str, facts: ConversationFacts, embedding: FloatVector | None, reasons: int = 3
    ) -> TierEstimate:
        """Score, tier, confidence and the top `reasons` of one request (last user turn + conversation
        facts)."""
        signals = text_signals(text, facts)
        score = self.score(embedding, signals)
        top = self.contributions(embedding, signals)[:reasons]
        return TierEstimate(
            score=round(score, 4),
            tier=self.tier_of(score),
            confidence=self.confidence_of(score),
            reasons=[
                f"{item.name} {'+' if item.contribution >= 0 else '-'}{abs(item.contribution):.2f}" for item in top
            ],
        )


class _FeatureTierEstimator(Protocol):
    def decide_tier(self, features: RequestFeatures, query_embedding: QueryEmbedding | None = None) -> TierEstimate: ...


class LearnedRouter:
    """The trained `TierEstimator`. It needs the shared query embedding: the model was trained with it, and a
    missing embedding would put the request off the training distribution, so without one it defers to
    `fallback` (the rule router) when given, else scores the text signals alone."""

    def __init__(self, model: ComplexityModel, fallback: _FeatureTierEstimator | None = None) -> None:
        self.model = model
        self._fallback = fallback

    def decide_tier(self, features: RequestFeatures, query_embedding: QueryEmbedding | None = None) -> TierEstimate:
        if query_embedding is None and self._fallback is not None:
            return self._fallback.decide_tier(features)
        facts = ConversationFacts(
            user_turns=max(features.turns, 1), has_tools=features.has_tools, grounded=features.grounded
        )
        return self.model.estimate(features.last_user_text, facts, query_embedding)


def load_tier_estimator(weights_path: Path | None = None) -> LearnedRouter:
    """The production estimator: the shipped (or given) weights, deferring to the rule router when a request
    arrives without a query embedding."""
    from homily.routing.rules import RuleRouter

    return LearnedRouter(ComplexityModel.load(weights_path), fallback=RuleRouter())
