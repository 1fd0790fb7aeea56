"""The shipped guard classifier: two small NumPy MLPs and a sentence-level passage scorer, loaded from .npz.

Weights are plain arrays (`numpy.load(..., allow_pickle=False)`), so loading a weight file can never run code.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from homily.guard.categories import CATEGORIES, Category
from homily.guard.features import HASH_BUCKETS, N_SIGNALS, LexicalFeatures

if TYPE_CHECKING:
    from homily.guard.intent import IntentHead

FloatArray = npt.NDArray[np.float32]
EMBEDDING_DIMENSION: Final = 384
DEFAULT_WEIGHTS: Final = Path(__file__).resolve().parent / "weights" / "guard.npz"


class GuardWeightsError(ValueError):
    """The weight file does not match the feature layout this code computes."""


@dataclass(frozen=True, slots=True)
class MLPHead:
    """One hidden layer: relu(emb·We + Σ lexical·Wl + signals·Ws + b1)·W2 + b2 → per-category sigmoid.

    `embedding_weights` is None for the lexical-only head (used when no query embedding is available and for
    earlier turns, which have no embedding of their own).
    """

    embedding_weights: FloatArray | None
    lexical_weights: FloatArray
    signal_weights: FloatArray
    hidden_bias: FloatArray
    output_weights: FloatArray
    output_bias: FloatArray
    thresholds: FloatArray

    def probabilities(self, features: LexicalFeatures, embedding: FloatArray | None) -> FloatArray:
        hidden = self.hidden_bias + features.signals @ self.signal_weights
        if features.indices.size:
            hidden = hidden + features.values @ self.lexical_weights[features.indices]
        if self.embedding_weights is not None and embedding is not None:
            hidden = hidden + embedding @ self.embedding_weights
        logits = np.maximum(hidden, 0.0) @ self.output_weights + self.output_bias
        probabilities: FloatArray = (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
        return probabilities


@dataclass(frozen=True, slots=True)
class PassageScorer:
    """Logistic regression over a sentence's lexical features: is this sentence an instruction to an AI?"""

    lexical_weights: FloatArray
    signal_weights: FloatArray
    bias: float
    threshold: float

    def probability(self, features: LexicalFeatures) -> float:
        logit = self.bias + float(features.signals @ self.signal_weights)
        if features.indices.size:
            logit += float(features.values @ self.lexical_weights[features.indices])
        return float(1.0 / (1.0 + np.exp(-logit)))


@dataclass(frozen=True, slots=True)
class GuardModel:
    """Everything the guard needs at run time; immutable so one instance is shared by all requests."""

    full: MLPHead
    lexical: MLPHead
    passage: PassageScorer
    embedding_model: str
    intent: IntentHead | None = None
    """The optional token-state intent head (`homily.guard.intent`); used only when token states are given."""

    def category_scores(
        self, features: LexicalFeatures, embedding: FloatArray | None, token_states: FloatArray | None = None
    ) -> dict[Category, float]:
        """Per-category scores: the full head with an embedding (its harm columns mixed with the intent head's
        when token states are given too and the model has one), else the lexical head."""
        head = self.full if embedding is not None else self.lexical
        probabilities = head.probabilities(features, embedding)
        if embedding is not None and token_states is not None and self.intent is not None:
            probabilities = self.intent.mixed(probabilities, token_states, embedding)
        return {category: float(probabilities[i]) for i, category in enumerate(CATEGORIES)}

    def default_thresholds(self, with_embedding: bool, with_token_states: bool = False) -> dict[Category, float]:
        """Thresholds chosen on the validation split by the training script (the intent head's own for the harm
        categories when its mixed scores are in use)."""
        head = self.full if with_embedding else self.lexical
        thresholds = {category: float(head.thresholds[i]) for i, category in enumerate(CATEGORIES)}
        if with_embedding and with_token_states and self.intent is not None:
            thresholds.update(self.intent.harm_thresholds)
        return thresholds


def _array(archive: dict[str, npt.NDArray[np.generic]], name: str, shape: tuple[int, ...]) -> FloatArray:
    if name not in archive:
        raise GuardWeightsError(f"weight file lacks {name!r}")
    value = np.asarray(archive[name], dtype=np.float32)
    if value.shape != shape:
        raise GuardWeightsError(f"{name}: expected shape {shape}, found {value.shape}")
    return value


def _head(archive: dict[str, npt.NDArray[np.generic]], prefix: str, with_embedding: bool) -> MLPHead:
    hidden = int(np.asarray(archive[f"{prefix}_b1"]).shape[0])
    outputs = len(CATEGORIES)
    return MLPHead(
        embedding_weights=_array(archive, f"{prefix}_w_emb", (EMBEDDING_DIMENSION, hidden)) if with_embedding else None,
        lexical_weights=_array(archive, f"{prefix}_w_lex", (HASH_BUCKETS, hidden)),
        signal_weights=_array(archive, f"{prefix}_w_sig", (N_SIGNALS, hidden)),
        hidden_bias=_array(archive, f"{prefix}_b1", (hidden,)),
        output_weights=_array(archive, f"{prefix}_w2", (hidden, outputs)),
        output_bias=_array(archive, f"{prefix}_b2", (outputs,)),
        thresholds=_array(archive, f"{prefix}_thresholds", (outputs,)),
    )


def load_guard_model(path: Path = DEFAULT_WEIGHTS, intent_path: Path | None = None) -> GuardModel:
    """Load and validate a weight file (no pickle: object arrays are refused by NumPy), and the intent head's
    file when `intent_path` is given."""
    with np.load(path, allow_pickle=False) as npz:
        archive = {name: npz[name] for name in npz.files}
    categories = tuple(str(name) for name in archive["categories"])
    if categories != CATEGORIES:
        raise GuardWeightsError(f"weight file categories {categories} differ from {CATEGORIES}")
    passage_bias = _array(archive, "passage_bias", (1,))
    passage_threshold = _array(archive, "passage_threshold", (1,))
    return GuardModel(
        full=_head(archive, "full", with_embedding=True),
        lexical=_head(archive, "lex", with_embedding=False),
        passage=PassageScorer(
            lexical_weights=_array(archive, "passage_w_lex", (HASH_BUCKETS,)),
            signal_weights=_array(archive, "passage_w_sig", (N_SIGNALS,)),
            bias=float(passage_bias[0]),
            threshold=float(passage_threshold[0]),
        ),
        embedding_model=str(archive["embedding_model"]),
        intent=_intent(intent_path),
    )


def _intent(path: Path | None) -> IntentHead | None:
    if path is None:
        return None
    from homily.guard.intent import load_intent_head

    return load_intent_head(path)


@functools.cache
def default_guard_model() -> GuardModel:
    """The shipped weights with the intent head, loaded once on first use (never at import time), shared read-only."""
    from homily.guard.intent import DEFAULT_INTENT_WEIGHTS

    return load_guard_model(DEFAULT_WEIGHTS, DEFAULT_INTENT_WEIGHTS)
