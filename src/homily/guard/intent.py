"""The guard's intent head (issue #6): attention pooling over MiniLM's token states, mixed into the harm scores.

Mean pooling blurs which word carries a request's intent ("kill a process" / "kill my neighbour"); a few learned
queries attending over the last encoder layer's token states see it. Per query j: a_j = softmax_t(K_t . q_j) with
K = states @ W_k, pooled_j = sum_t a_j[t] * states_t; the pooled vectors and the sentence embedding feed a
one-hidden-layer MLP with one logit per category. Only the five harm categories use it:
score = sigmoid((1 - share) * full-head logit + share * intent logit), judged against the head's own harm
thresholds; the attack categories keep the full head's scores and thresholds.

Weights: `weights/intent_head.npz` (`scripts/guard_export_intent.py`, guard6's looked-at head; see REPORT.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from homily.guard.categories import CATEGORIES, HARM_CATEGORIES, Category
from homily.guard.model import EMBEDDING_DIMENSION, FloatArray, GuardWeightsError

DEFAULT_INTENT_WEIGHTS: Final = Path(__file__).resolve().parent / "weights" / "intent_head.npz"
_HARM = np.array([category in HARM_CATEGORIES for category in CATEGORIES])
_CLIP = 1e-6


@dataclass(frozen=True, slots=True)
class IntentHead:
    """NumPy inference of the attention head, its share of the harm logits and its harm thresholds."""

    key_weights: FloatArray
    """(dimension, key_dim)"""
    queries: FloatArray
    """(key_dim, queries)"""
    hidden_weights: FloatArray
    hidden_bias: FloatArray
    output_weights: FloatArray
    output_bias: FloatArray
    share: float
    harm_thresholds: dict[Category, float]
    max_tokens: int
    """Token states beyond this many (from [CLS]) are ignored, as in training."""

    def logits(self, token_states: FloatArray, embedding: FloatArray) -> FloatArray:
        """One text's logits: `token_states` (tokens, dimension) and its sentence `embedding` (dimension,)."""
        states = np.asarray(token_states, dtype=np.float32)[: self.max_tokens]
        if states.ndim != 2 or states.shape[1] != EMBEDDING_DIMENSION or not len(states):
            raise ValueError(f"token states must be (tokens >= 1, {EMBEDDING_DIMENSION}), got {states.shape}")
        scores = (states @ self.key_weights) @ self.queries  # [T, Q]
        scores = np.exp(scores - scores.max(axis=0))
        weights = scores / scores.sum(axis=0)
        pooled = (weights.T @ states).reshape(-1)
        hidden = np.maximum(np.concatenate([pooled, embedding]) @ self.hidden_weights + self.hidden_bias, 0.0)
        logits: FloatArray = (hidden @ self.output_weights + self.output_bias).astype(np.float32)
        return logits

    def mixed(self, probabilities: FloatArray, token_states: FloatArray, embedding: FloatArray) -> FloatArray:
        """The full head's `probabilities` with the harm columns mixed with this head's logits at `share`."""
        clipped = np.clip(probabilities.astype(np.float64), _CLIP, 1 - _CLIP)
        logits = np.log(clipped / (1 - clipped))
        mixed = (1 - self.share) * logits + self.share * self.logits(token_states, embedding)
        harm: FloatArray = (1.0 / (1.0 + np.exp(-mixed))).astype(np.float32)
        return np.where(_HARM, harm, probabilities).astype(np.float32)


def _matrix(archive: dict[str, npt.NDArray[np.generic]], name: str, shape: tuple[int | None, ...]) -> FloatArray:
    if name not in archive:
        raise GuardWeightsError(f"intent weight file lacks {name!r}")
    value = np.asarray(archive[name], dtype=np.float32)
    if len(value.shape) != len(shape) or any(
        want not in (None, got) for want, got in zip(shape, value.shape, strict=True)
    ):
        raise GuardWeightsError(f"{name}: expected shape {shape}, found {value.shape}")
    return value


def load_intent_head(path: Path = DEFAULT_INTENT_WEIGHTS) -> IntentHead:
    """Load and validate the intent head's `.npz` (no pickle)."""
    with np.load(path, allow_pickle=False) as npz:
        archive = {name: npz[name] for name in npz.files}
    if tuple(str(name) for name in archive.get("categories", ())) != CATEGORIES:
        raise GuardWeightsError(f"intent weight file categories differ from {CATEGORIES}")
    keys = _matrix(archive, "intent_w_keys", (EMBEDDING_DIMENSION, None))
    queries = _matrix(archive, "intent_queries", (keys.shape[1], None))
    hidden_bias = _matrix(archive, "intent_b1", (None,))
    inputs = EMBEDDING_DIMENSION * (queries.shape[1] + 1)
    harm = [str(name) for name in archive["harm_categories"]]
    if set(harm) != HARM_CATEGORIES or len(harm) != len(HARM_CATEGORIES):
        raise GuardWeightsError(f"intent harm categories {harm} differ from {sorted(HARM_CATEGORIES)}")
    thresholds = _matrix(archive, "harm_thresholds", (len(harm),))
    by_name = {category: float(thresholds[harm.index(category)]) for category in CATEGORIES if category in harm}
    share = float(archive["share"])
    if not 0.0 <= share <= 1.0:
        raise GuardWeightsError(f"intent share {share} is not within [0, 1]")
    return IntentHead(
        key_weights=keys,
        queries=queries,
        hidden_weights=_matrix(archive, "intent_w1", (inputs, hidden_bias.shape[0])),
        hidden_bias=hidden_bias,
        output_weights=_matrix(archive, "intent_w2", (hidden_bias.shape[0], len(CATEGORIES))),
        output_bias=_matrix(archive, "intent_b2", (len(CATEGORIES),)),
        share=share,
        harm_thresholds=by_name,
        max_tokens=int(archive["max_tokens"]),
    )
