"""An intent head over MiniLM's token states: learned-query attention pooling + a small MLP (training in torch).

Hypothesis (guard5): mean pooling blurs which word carries the intent ("kill a process" / "kill my neighbour"),
so a few learned queries attending over the last encoder layer's token states may separate harmful from honest
requests on the same topic better than the mean-pooled embedding. Per query j: a_j = softmax_t(K_t . q_j) with
K = states @ W_k (a shared key projection), pooled_j = sum_t a_j[t] * states_t. The pooled vectors and the
sentence embedding feed a one-hidden-layer MLP with 8 sigmoid outputs. `numpy_logits` is the NumPy inference
the service would run (arrays as exported by `head_arrays`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

HIDDEN_SIZE = 384
States = Sequence[npt.NDArray[np.float16]]


@dataclass(frozen=True)
class AttentionConfig:
    """Hyper-parameters (chosen by cross-validation only)."""

    queries: int = 4
    """Learned attention queries; 0 is the ablation: the same MLP reading only the mean-pooled sentence embedding."""
    key_dim: int = 32
    hidden: int = 64
    epochs: int = 12
    lr: float = 2e-3
    weight_decay: float = 1e-4
    dropout: float = 0.2
    max_tokens: int = 96
    seed: int = 7


def padded(states: States, rows: Sequence[int], max_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(states [B, T, 384] float32, mask [B, T] bool) for `rows`, each truncated to `max_tokens` tokens."""
    width = min(max_tokens, max(len(states[i]) for i in rows))
    batch = np.zeros((len(rows), width, HIDDEN_SIZE), dtype=np.float32)
    mask = np.zeros((len(rows), width), dtype=bool)
    for row, index in enumerate(rows):
        item = states[index][:width]
        batch[row, : len(item)] = item
        mask[row, : len(item)] = True
    return torch.from_numpy(batch), torch.from_numpy(mask)


class AttentionHead(torch.nn.Module):
    def __init__(self, outputs: int, config: AttentionConfig) -> None:
        super().__init__()
        self.keys = torch.nn.Linear(HIDDEN_SIZE, config.key_dim, bias=False)
        self.queries = torch.nn.Parameter(torch.randn(config.key_dim, config.queries) * 0.1)
        self.hidden = torch.nn.Linear(HIDDEN_SIZE * (config.queries + 1), config.hidden)
        self.dropout = torch.nn.Dropout(config.dropout)
        self.output = torch.nn.Linear(config.hidden, outputs)

    def forward(self, states: torch.Tensor, mask: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        scores = self.keys(states) @ self.queries  # [B, T, Q]
        scores = scores.masked_fill(~mask.unsqueeze(-1), -1e9)
        weights = torch.softmax(scores, dim=1)
        pooled = torch.einsum("btq,btd->bqd", weights, states).flatten(1)  # [B, Q * 384]
        hidden = torch.relu(self.hidden(torch.cat([pooled, embedding], dim=1)))
        return self.output(self.dropout(hidden))  # type: ignore[no-any-return]


def train_attention(
    states: States,
    embeddings: npt.NDArray[np.float32],
    labels: npt.NDArray[np.float32],
    rows: npt.NDArray[np.intp],
    config: AttentionConfig,
) -> AttentionHead:
    """Fit on `rows` of the data, with the class weighting of `guard_net.train_net`."""
    torch.manual_seed(config.seed)
    net = AttentionHead(labels.shape[1], config)
    optimiser = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    fit = labels[rows]
    positives = fit.sum(axis=0)
    weight = torch.from_numpy(np.clip((len(fit) - positives) / np.maximum(positives, 1), 1, 8) ** 0.5)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=weight.float())
    order = np.array(rows, dtype=np.intp)
    rng = np.random.default_rng(config.seed)
    net.train()
    for _ in range(config.epochs):
        rng.shuffle(order)
        for start in range(0, len(order), 64):
            batch = order[start : start + 64]
            tokens, mask = padded(states, batch.tolist(), config.max_tokens)
            optimiser.zero_grad()
            logits = net(tokens, mask, torch.from_numpy(embeddings[batch]))
            loss_fn(logits, torch.from_numpy(labels[batch])).backward()
            optimiser.step()
    net.eval()
    return net


def attention_logits(
    nets: Sequence[AttentionHead], states: States, embeddings: npt.NDArray[np.float32], max_tokens: int
) -> npt.NDArray[np.float32]:
    """Mean logit of `nets` for every row."""
    out = np.zeros((len(states), len(nets) and nets[0].output.out_features), dtype=np.float32)
    order = sorted(range(len(states)), key=lambda index: len(states[index]))
    with torch.no_grad():
        for start in range(0, len(order), 128):
            rows = order[start : start + 128]
            tokens, mask = padded(states, rows, max_tokens)
            logits = torch.stack([net(tokens, mask, torch.from_numpy(embeddings[rows])) for net in nets]).mean(0)
            out[rows] = logits.numpy()
    return out


def head_arrays(net: AttentionHead, prefix: str = "intent") -> dict[str, npt.NDArray[np.float32]]:
    """The head's weights as plain arrays (for a `.npz`)."""
    return {
        f"{prefix}_w_keys": net.keys.weight.detach().numpy().T.astype(np.float32),
        f"{prefix}_queries": net.queries.detach().numpy().astype(np.float32),
        f"{prefix}_w1": net.hidden.weight.detach().numpy().T.astype(np.float32),
        f"{prefix}_b1": net.hidden.bias.detach().numpy().astype(np.float32),
        f"{prefix}_w2": net.output.weight.detach().numpy().T.astype(np.float32),
        f"{prefix}_b2": net.output.bias.detach().numpy().astype(np.float32),
    }


def numpy_logits(
    arrays: dict[str, npt.NDArray[np.float32]], states: npt.NDArray[np.float32], embedding: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """One text's logits in NumPy: `states` (tokens, 384) and its sentence `embedding` (384,)."""
    scores = (states @ arrays["intent_w_keys"]) @ arrays["intent_queries"]  # [T, Q]
    scores = np.exp(scores - scores.max(axis=0))
    weights = scores / scores.sum(axis=0)
    pooled = (weights.T @ states).reshape(-1)
    hidden = np.maximum(np.concatenate([pooled, embedding]) @ arrays["intent_w1"] + arrays["intent_b1"], 0.0)
    logits: npt.NDArray[np.float32] = (hidden @ arrays["intent_w2"] + arrays["intent_b2"]).astype(np.float32)
    return logits
