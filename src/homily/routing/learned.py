"""The learned complexity router: one small linear (logistic) head per prompt shape over the shared query
embedding, the request's structural/lexical signals and word-problem signals.

`prompt_shape` sorts the last user turn into multiple choice / word problem / open instruction; that shape's head
maps (384-d embedding, SIGNAL_NAMES vector, PROBLEM_SIGNAL_NAMES vector) to a complexity score in 0..1 (the
estimated probability that a strong model is needed); two trained boundaries map the score to `tier_1`..`tier_3`,
and a logistic function of the score's distance to the nearest boundary, fitted on out-of-fold data, gives the
routing confidence (0.8 means about 80% of out-of-fold requests at that distance were placed in their true tier).

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
from homily.routing.shapes import PROBLEM_SIGNAL_NAMES, SHAPES, Shape, problem_signals, prompt_shape
from homily.routing.signals import SIGNAL_NAMES, ConversationFacts, text_signals

FloatVector = npt.NDArray[np.float32]
FloatMatrix = npt.NDArray[np.float32]
DEFAULT_WEIGHTS_NAME = "complexity_router.npz"
EMBEDDING_FEATURE = "semantic content (embedding)"
EMBEDDING_DIMENSION = 384


@dataclass(frozen=True, slots=True)
class FeatureContribution:
    name: str
    value: float
    contribution: float


@dataclass(frozen=True, slots=True)
class ComplexityWeights:
    """Arrays of one trained model, one row per shape in SHAPES order. Invariant: embedding_weight is
    (len(SHAPES), 384), signal_weight (len(SHAPES), len(SIGNAL_NAMES)), problem_weight (len(SHAPES),
    len(PROBLEM_SIGNAL_NAMES)), and the boundaries increase inside (0, 1); loaders check all of it so a stale file
    fails loudly, not silently."""

    embedding_weight: FloatMatrix
    embedding_mean: FloatMatrix
    signal_weight: FloatMatrix
    problem_weight: FloatMatrix
    bias: npt.NDArray[np.float64]
    signal_mean: FloatVector
    signal_scale: FloatVector
    problem_mean: FloatVector
    problem_scale: FloatVector
    boundaries: tuple[float, float]
    confidence_coef: tuple[float, float]
    signal_names: tuple[str, ...]
    problem_signal_names: tuple[str, ...]
    shapes: tuple[str, ...]
    metadata: dict[str, object]

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            embedding_weight=self.embedding_weight.astype(np.float32),
            embedding_mean=self.embedding_mean.astype(np.float32),
            signal_weight=self.signal_weight.astype(np.float32),
            problem_weight=self.problem_weight.astype(np.float32),
            bias=self.bias.astype(np.float64),
            signal_mean=self.signal_mean.astype(np.float32),
            signal_scale=self.signal_scale.astype(np.float32),
            problem_mean=self.problem_mean.astype(np.float32),
            problem_scale=self.problem_scale.astype(np.float32),
            boundaries=np.array(self.boundaries, dtype=np.float64),
            confidence_coef=np.array(self.confidence_coef, dtype=np.float64),
            signal_names=np.array(self.signal_names),
            problem_signal_names=np.array(self.problem_signal_names),
            shapes=np.array(self.shapes),
            metadata=np.array(json.dumps(self.metadata, sort_keys=True)),
        )

    @classmethod
    def load(cls, path: Path) -> ComplexityWeights:
        with np.load(path, allow_pickle=False) as arrays:
            names = tuple(str(name) for name in arrays["signal_names"])
            problem_names = tuple(str(name) for name in arrays["problem_signal_names"])
            shapes = tuple(str(name) for name in arrays["shapes"])
            if names != SIGNAL_NAMES or problem_names != PROBLEM_SIGNAL_NAMES:
                raise ValueError(f"{path}: weights were trained on other signals: {names + problem_names}")
            if shapes != SHAPES:
                raise ValueError(f"{path}: weights were trained for other prompt shapes: {shapes}")
            boundaries = tuple(float(value) for value in arrays["boundaries"])
            if not 0.0 < boundaries[0] < boundaries[1] < 1.0:
                raise ValueError(f"{path}: tier boundaries must increase inside (0, 1): {boundaries}")
            expected = {
                "embedding_weight": (len(SHAPES), EMBEDDING_DIMENSION),
                "embedding_mean": (len(SHAPES), EMBEDDING_DIMENSION),
                "signal_weight": (len(SHAPES), len(SIGNAL_NAMES)),
                "problem_weight": (len(SHAPES), len(PROBLEM_SIGNAL_NAMES)),
                "bias": (len(SHAPES),),
            }
            for key, shape in expected.items():
                if arrays[key].shape != shape:
                    raise ValueError(f"{path}: {key} has shape {arrays[key].shape}, expected {shape}")
            coef = tuple(float(value) for value in arrays["confidence_coef"])
            return cls(
                embedding_weight=arrays["embedding_weight"].astype(np.float32),
                embedding_mean=arrays["embedding_mean"].astype(np.float32),
                signal_weight=arrays["signal_weight"].astype(np.float32),
                problem_weight=arrays["problem_weight"].astype(np.float32),
                bias=arrays["bias"].astype(np.float64),
                signal_mean=arrays["signal_mean"].astype(np.float32),
                signal_scale=arrays["signal_scale"].astype(np.float32),
                problem_mean=arrays["problem_mean"].astype(np.float32),
                problem_scale=arrays["problem_scale"].astype(np.float32),
                boundaries=(boundaries[0], boundaries[1]),
                confidence_coef=(coef[0], coef[1]),
                signal_names=names,
                problem_signal_names=problem_names,
                shapes=shapes,
                metadata=dict(json.loads(str(arrays["metadata"]))),
            )


def default_weights_path() -> Path:
    return Path(str(resources.files("homily.routing") / "weights" / DEFAULT_WEIGHTS_NAME))


def _sigmoid(value: float) -> float:
    return float(1.0 / (1.0 + np.exp(-np.clip(value, -60.0, 60.0))))


@dataclass(frozen=True, slots=True)
class PromptInputs:
    """Everything a head reads about one request, computed once (shape, raw signal vectors, embedding)."""

    shape: Shape
    embedding: FloatVector
    signals: FloatVector
    problem: FloatVector
    has_embedding: bool

    @classmethod
    def of(cls, text: str, facts: ConversationFacts, embedding: FloatVector | None) -> PromptInputs:
        return cls(
            shape=prompt_shape(text),
            embedding=embedding if embedding is not None else np.zeros(EMBEDDING_DIMENSION, dtype=np.float32),
            signals=text_signals(text, facts),
            problem=problem_signals(text),
            has_embedding=embedding is not None,
        )


class ComplexityModel:
    """Scores requests with fixed trained weights. Pure and thread-safe (read-only arrays), tens of µs per call
    beyond the regular expressions, so it runs inline on the event loop once the shared embedding exists."""

    def __init__(self, weights: ComplexityWeights) -> None:
        self.weights = weights

    @classmethod
    def load(cls, path: Path | None = None) -> ComplexityModel:
        return cls(ComplexityWeights.load(path or default_weights_path()))

    def _head(self, shape: Shape) -> int:
        return SHAPES.index(shape)

    def _standard(self, inputs: PromptInputs) -> tuple[FloatVector, FloatVector]:
        weights = self.weights
        signals = ((inputs.signals - weights.signal_mean) / weights.signal_scale).astype(np.float32)
        problem = ((inputs.problem - weights.problem_mean) / weights.problem_scale).astype(np.float32)
        return signals, problem

    def logit(self, inputs: PromptInputs) -> float:
        """The head's logit for one prompt (the score is its sigmoid)."""
        head = self._head(inputs.shape)
        signals, problem = self._standard(inputs)
        weights = self.weights
        return float(
            inputs.embedding @ weights.embedding_weight[head]
            + signals @ weights.signal_weight[head]
            + problem @ weights.problem_weight[head]
            + weights.bias[head]
        )

    def batch_logits(
        self, texts: list[str], embeddings: FloatMatrix, facts: ConversationFacts | None = None
    ) -> npt.NDArray[np.float64]:
        """Logits of many single-conversation prompts (monotone in the score, so identical rankings)."""
        conversation = facts or ConversationFacts()
        return np.array(
            [self.logit(PromptInputs.of(text, conversation, embeddings[i])) for i, text in enumerate(texts)],
            dtype=np.float64,
        )

    def score(self, inputs: PromptInputs) -> float:
        """Complexity score in 0..1 (the estimated probability that the strong model is needed)."""
        return _sigmoid(self.logit(inputs))

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

    def contributions(self, inputs: PromptInputs) -> list[FeatureContribution]:
        """Each input's share of the logit measured from the head's training mean (a typical value contributes
        ~0): per signal, and for the embedding as a whole; largest magnitude first."""
        head = self._head(inputs.shape)
        weights = self.weights
        signals, problem = self._standard(inputs)
        items = [
            FeatureContribution(name, float(inputs.signals[i]), float(signals[i] * weights.signal_weight[head, i]))
            for i, name in enumerate(weights.signal_names)
        ]
        items += [
            FeatureContribution(name, float(inputs.problem[i]), float(problem[i] * weights.problem_weight[head, i]))
            for i, name in enumerate(weights.problem_signal_names)
            if weights.problem_weight[head, i] != 0.0
        ]
        if inputs.has_embedding:
            offset = inputs.embedding - weights.embedding_mean[head]
            items.append(FeatureContribution(EMBEDDING_FEATURE, 1.0, float(offset @ weights.embedding_weight[head])))
        return sorted(items, key=lambda item: -abs(item.contribution))

    def estimate(
        self, text: str, facts: ConversationFacts, embedding: FloatVector | None, reasons: int = 3
    ) -> TierEstimate:
        """Score, tier, confidence and the top `reasons` of one request (last user turn + conversation facts);
        the first reason names the prompt shape whose head scored it. `reasons=1` skips the per-feature
        contributions (the request path does not report them; `homily route` explains in full)."""
        inputs = PromptInputs.of(text, facts, embedding)
        score = self.score(inputs)
        top = self.contributions(inputs)[: reasons - 1] if reasons > 1 else []
        return TierEstimate(
            score=round(score, 4),
            tier=self.tier_of(score),
            confidence=self.confidence_of(score),
            reasons=[
                f"shape {inputs.shape}",
                *(f"{item.name} {'+' if item.contribution >= 0 else '-'}{abs(item.contribution):.2f}" for item in top),
            ][:reasons],
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
        return self.model.estimate(features.last_user_text, facts, query_embedding, reasons=1)


def load_tier_estimator(weights_path: Path | None = None) -> LearnedRouter:
    """The production estimator: the shipped (or given) weights, deferring to the rule router when a request
    arrives without a query embedding."""
    from homily.routing.rules import RuleRouter

    return LearnedRouter(ComplexityModel.load(weights_path), fallback=RuleRouter())
