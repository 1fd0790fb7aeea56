"""NumPy training of one linear router head: L2-regularised logistic regression with soft targets (Newton steps)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LinearHead:
    coef: Array
    bias: float

    def logits(self, inputs: Array) -> Array:
        return np.asarray(inputs @ self.coef + self.bias)


def fit_logistic(inputs: Array, targets: Array, sample_weight: Array, l2: float, iterations: int = 30) -> LinearHead:
    """Minimise mean weighted cross-entropy against soft targets in 0..1 plus l2/2 |coef|^2 (bias unpenalised)."""
    design = np.hstack([inputs, np.ones((len(inputs), 1))])
    weights = sample_weight / sample_weight.sum()
    penalty = np.full(design.shape[1], l2)
    penalty[-1] = 1e-8
    params = np.zeros(design.shape[1])
    for _ in range(iterations):
        probabilities = 1.0 / (1.0 + np.exp(-np.clip(design @ params, -40, 40)))
        gradient = design.T @ (weights * (probabilities - targets)) + penalty * params
        curvature = weights * probabilities * (1.0 - probabilities)
        hessian = design.T @ (design * curvature[:, None]) + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        params -= step
        if float(np.max(np.abs(step))) < 1e-7:
            break
    return LinearHead(params[:-1].copy(), float(params[-1]))
