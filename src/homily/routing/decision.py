"""Routing results: a tier estimate (from the router) and the final decision (after model selection)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

Tier = Literal[1, 2, 3]
QueryEmbedding = npt.NDArray[np.float32]
"""The shared per-request embedding of the last user turn (384 floats, L2-normalised)."""
RoutingMechanism = Literal["auto_routing", "model_family", "direct_model_selection"]


def tier_name(tier: Tier) -> str:
    """`tier_1` (simplest) … `tier_3` (most complex), the wire spelling."""
    return f"tier_{tier}"


@dataclass(frozen=True, slots=True)
class TierEstimate:
    """How complex a request is: `score` in [0, 1], its tier, and how sure the router is (0 to 1)."""

    score: float
    tier: Tier
    confidence: float
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """The model to call first, the ordered fallbacks, and what the response reports about the choice.

    `tier` and `confidence` are None for direct model selection (API.md: absent in that mode).
    """

    mechanism: RoutingMechanism
    model: str
    fallbacks: list[str]
    tier: Tier | None = None
    confidence: float | None = None
    estimate: TierEstimate | None = None
