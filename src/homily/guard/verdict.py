"""The guard's decision for one request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from homily.guard.categories import Category

Action = Literal["allow", "flag", "block", "crisis"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """`action` is the strongest rule that fired: crisis > block > flag > allow.

    `categories` lists every category at or above its threshold whose mode is not "off", strongest first;
    `scores` holds every category's probability (max over the screened turns) so callers can log and explain;
    `signals` names the lexical cues seen and which message they came from, for `homily guard` explanations.
    """

    action: Action
    categories: list[Category]
    scores: dict[Category, float]
    signals: list[str] = field(default_factory=list)

    @property
    def wire_action(self) -> str:
        """The `guardrail.action` value of API.md section 8 ("blocked" for a block)."""
        return {"block": "blocked", "flag": "flagged", "crisis": "crisis", "allow": "allowed"}[self.action]
