"""NumPy training of the router network (one hidden layer, soft-label weighted cross-entropy, Adam, L2)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class FitConfig:
    hidden: int = 32
    relu: bool = True
    l2: float = 1e-3
    epochs: int = 300
    learning_rate: float = 3e-3
    seed: int = 0


@dataclass(frozen=True, slots=True)
class FittedNetwork:
    hidden_weight: Array
    hidden_bias: Array
    output_weight: Array
    output_bias: float
    relu: bool

    def logits(self, inputs: Array) -> Array:
        hidden = inputs @ self.hidden_weight + self.hidden_bias
        activated = np.maximum(hidden, 0.0) if self.relu else hidden
        return np.asarray(activated @ self.output_weight + self.output_bias)


def fit_network(inputs: Array, targets: Array, sample_weight: Array, config: FitConfig) -> FittedNetwork:
    """Full-batch Adam on mean weighted binary cross-entropy with soft targets in 0..1."""
    rng = np.random.default_rng(config.seed)
    n_in = inputs.shape[1]
    params = {
        "w1": rng.normal(0.0, np.sqrt(2.0 / n_in), (n_in, config.hidden)),
        "b1": np.zeros(config.hidden),
        "w2": rng.normal(0.0, np.sqrt(1.0 / config.hidden), config.hidden),
        "b2": np.zeros(1),
    }
    moments = {key: (np.zeros_like(value), np.zeros_like(value)) for key, value in params.items()}
    weights = sample_weight / sample_weight.sum()
    beta1, beta2 = 0.9, 0.999
    for step in range(1, config.epochs + 1):
        hidden = inputs @ params["w1"] + params["b1"]
        activated = np.maximum(hidden, 0.0) if config.relu else hidden
        logits = activated @ params["w2"] + params["b2"][0]
        probabilities = 1.0 / (1.0 + np.exp(-np.clip(logits, -40, 40)))
        d_logits = (probabilities - targets) * weights
        d_activated = np.outer(d_logits, params["w2"])
        d_hidden = d_activated * (hidden > 0) if config.relu else d_activated
        grads = {
            "w1": inputs.T @ d_hidden + config.l2 * params["w1"],
            "b1": d_hidden.sum(axis=0),
            "w2": activated.T @ d_logits + config.l2 * params["w2"],
            "b2": np.array([d_logits.sum()]),
        }
        for key, grad in grads.items():
            first, second = moments[key]
            first = beta1 * first + (1 - beta1) * grad
            second = beta2 * second + (1 - beta2) * grad**2
            moments[key] = (first, second)
            corrected = first / (1 - beta1**step)
            params[key] -= config.learning_rate * corrected / (np.sqrt(second / (1 - beta2**step)) + 1e-8)
    return FittedNetwork(params["w1"], params["b1"], params["w2"], float(params["b2"][0]), config.relu)
