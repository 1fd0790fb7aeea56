"""Training rows of the router: texts with their embedding, signals, word-problem signals, shape and target."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from homily.embeddings.offline_cache import embed_cached
from homily.routing.shapes import problem_signals, prompt_shape
from homily.routing.signals import ConversationFacts, text_signals

Array = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Standardiser:
    mean: Array
    scale: Array

    @classmethod
    def fit(cls, values: Array) -> Standardiser:
        return cls(values.mean(axis=0), np.maximum(values.std(axis=0), 1e-3))

    def apply(self, values: Array) -> Array:
        return np.asarray((values - self.mean) / self.scale)


@dataclass(frozen=True, slots=True)
class Pool:
    """Parallel arrays over one set of training texts."""

    texts: list[str]
    embeddings: Array
    signals: Array
    problem: Array
    shapes: npt.NDArray[np.str_]
    targets: Array
    levels: npt.NDArray[np.int_]
    groups: npt.NDArray[np.str_]

    @classmethod
    def build(
        cls,
        texts: list[str],
        *,
        facts: list[ConversationFacts],
        targets: Array,
        levels: npt.NDArray[np.int_],
        groups: list[str],
        cache_dir: Path,
    ) -> Pool:
        return cls(
            texts=texts,
            embeddings=embed_cached(texts, cache_dir).astype(np.float64),
            signals=np.stack([text_signals(text, fact) for text, fact in zip(texts, facts, strict=True)]).astype(
                np.float64
            ),
            problem=np.stack([problem_signals(text) for text in texts]).astype(np.float64),
            shapes=np.array([prompt_shape(text) for text in texts]),
            targets=targets,
            levels=levels,
            groups=np.array(groups),
        )

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(frozen=True, slots=True)
class HeadConfig:
    """Which inputs one head reads and how strongly it is regularised. The embedding columns are multiplied by
    `embedding_scale` before fitting, which divides their effective L2 penalty by its square: the 384 embedding
    dimensions and the few collinear hand-made signals want different amounts of shrinkage."""

    embedding: bool
    signals: bool
    problem: bool
    l2: float
    embedding_scale: float = 1.0

    def label(self) -> str:
        embedding = "emb" if self.embedding_scale == 1 else f"emb*{self.embedding_scale:g}"
        names = ((embedding, self.embedding), ("sig", self.signals), ("prob", self.problem))
        return f"{'+'.join(name for name, used in names if used)} l2={self.l2:g}"


@dataclass(frozen=True, slots=True)
class Inputs:
    """Builds a head's design matrix from a pool under fixed standardisation."""

    signals: Standardiser
    problem: Standardiser

    def design(self, pool: Pool, mask: Mask, config: HeadConfig) -> Array:
        blocks = []
        if config.embedding:
            blocks.append(pool.embeddings[mask] * config.embedding_scale)
        if config.signals:
            blocks.append(self.signals.apply(pool.signals[mask]))
        if config.problem:
            blocks.append(self.problem.apply(pool.problem[mask]))
        return np.hstack(blocks)
