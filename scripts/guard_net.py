"""The guard's MLP heads in PyTorch (training only) and their export to the `.npz` layout of `homily.guard.model`.

An ensemble of nets is exported as one head: hidden layers side by side, output weights divided by the number
of nets and output biases averaged, which is exactly the mean of the nets' logits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from homily.guard.categories import CATEGORIES, Category
from homily.guard.features import HASH_BUCKETS, N_SIGNALS, LexicalFeatures, lexical_features

Example = tuple[str, frozenset[Category]]
Bag = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class NetConfig:
    """Training hyper-parameters of one net (chosen by cross-validation, never on the test part)."""

    hidden: int = 48
    epochs: int = 60
    lr: float = 3e-3
    weight_decay: float = 1e-5
    dropout: float = 0.0
    seed: int = 7
    lexical: bool = True
    """False: the net reads only the embedding and the regex signals (its hashed n-gram weights are zero)."""


def feature_matrix(texts: Sequence[str]) -> tuple[list[LexicalFeatures], npt.NDArray[np.float32]]:
    features = [lexical_features(text) for text in texts]
    return features, np.stack([item.signals for item in features])


def label_matrix(examples: Sequence[Example]) -> npt.NDArray[np.float32]:
    return np.array([[1.0 if c in labels else 0.0 for c in CATEGORIES] for _, labels in examples], dtype=np.float32)


def bag(features: Sequence[LexicalFeatures]) -> Bag:
    offsets = np.cumsum([0] + [item.indices.size for item in features[:-1]])
    indices = np.concatenate([item.indices for item in features])
    values = np.concatenate([item.values for item in features])
    return torch.from_numpy(indices), torch.from_numpy(offsets.astype(np.int64)), torch.from_numpy(values)


class GuardNet(torch.nn.Module):
    def __init__(self, with_embedding: bool, outputs: int, config: NetConfig) -> None:
        super().__init__()
        self.embedding = torch.nn.Linear(384, config.hidden, bias=False) if with_embedding else None
        self.lexical = torch.nn.EmbeddingBag(HASH_BUCKETS, config.hidden, mode="sum") if config.lexical else None
        if self.lexical is not None:
            torch.nn.init.normal_(self.lexical.weight, std=0.01)
        self.signals = torch.nn.Linear(N_SIGNALS, config.hidden)
        self.dropout = torch.nn.Dropout(config.dropout)
        self.output = torch.nn.Linear(config.hidden, outputs)
        self.hidden_size = config.hidden

    def forward(self, emb: torch.Tensor, features: Bag) -> torch.Tensor:
        indices, offsets, values = features
        hidden = self.signals(emb[:, 384:])
        if self.lexical is not None:
            hidden = hidden + self.lexical(indices, offsets, per_sample_weights=values)
        if self.embedding is not None:
            hidden = hidden + self.embedding(emb[:, :384])
        return self.output(self.dropout(torch.relu(hidden)))  # type: ignore[no-any-return]


def train_net(
    inputs: npt.NDArray[np.float32],
    features: Sequence[LexicalFeatures],
    labels: npt.NDArray[np.float32],
    with_embedding: bool,
    config: NetConfig,
) -> GuardNet:
    """`inputs` = embedding (384 columns) followed by the regex signals."""
    torch.manual_seed(config.seed)
    net = GuardNet(with_embedding, labels.shape[1], config)
    optimiser = torch.optim.Adam(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    positives = labels.sum(axis=0)
    weight = torch.from_numpy(np.clip((len(labels) - positives) / np.maximum(positives, 1), 1, 8) ** 0.5)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=weight.float())
    order = np.arange(len(labels))
    rng = np.random.default_rng(config.seed)
    net.train()
    for _ in range(config.epochs):
        rng.shuffle(order)
        for start in range(0, len(order), 64):
            batch = order[start : start + 64]
            optimiser.zero_grad()
            logits = net(torch.from_numpy(inputs[batch]), bag([features[i] for i in batch]))
            loss = loss_fn(logits, torch.from_numpy(labels[batch]))
            loss.backward()
            optimiser.step()
    net.eval()
    return net


def ensemble_scores(
    nets: Sequence[GuardNet], inputs: npt.NDArray[np.float32], features: Sequence[LexicalFeatures]
) -> npt.NDArray[np.float32]:
    """Sigmoid of the mean logit of `nets` (what the exported head computes)."""
    with torch.no_grad():
        logits = torch.stack([net(torch.from_numpy(inputs), bag(features)) for net in nets]).mean(dim=0)
    scores: npt.NDArray[np.float32] = torch.sigmoid(logits).numpy().astype(np.float32)
    return scores


def head_arrays(
    nets: Sequence[GuardNet], prefix: str, thresholds: npt.NDArray[np.float32]
) -> dict[str, npt.NDArray[np.generic]]:
    """One head computing the mean logit of `nets` (hidden layers concatenated)."""
    count = len(nets)

    def lexical(net: GuardNet) -> npt.NDArray[np.float32]:
        if net.lexical is None:
            return np.zeros((HASH_BUCKETS, net.hidden_size), dtype=np.float32)
        return net.lexical.weight.detach().numpy()

    arrays: dict[str, npt.NDArray[np.generic]] = {
        f"{prefix}_w_lex": np.hstack([lexical(net) for net in nets]).astype(np.float16),
        f"{prefix}_w_sig": np.hstack([net.signals.weight.detach().numpy().T for net in nets]).astype(np.float32),
        f"{prefix}_b1": np.concatenate([net.signals.bias.detach().numpy() for net in nets]).astype(np.float32),
        f"{prefix}_w2": np.vstack([net.output.weight.detach().numpy().T / count for net in nets]).astype(np.float32),
        f"{prefix}_b2": np.mean([net.output.bias.detach().numpy() for net in nets], axis=0).astype(np.float32),
        f"{prefix}_thresholds": thresholds.astype(np.float32),
    }
    if all(net.embedding is not None for net in nets):
        arrays[f"{prefix}_w_emb"] = np.hstack(
            [net.embedding.weight.detach().numpy().T for net in nets if net.embedding is not None]
        ).astype(np.float16)
    return arrays
