"""Guard policy: per category, what to do (block / flag / off) and at which score.

Meant to be a field of `Settings` (env `HOMILY_GUARD_POLICY` as JSON), e.g.
`{"categories": {"jailbreak": {"mode": "flag"}, "hate_harassment": {"threshold": 0.8}}}`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from homily.guard.categories import CATEGORIES, Category

Mode = Literal["block", "flag", "off"]


class CategoryRule(BaseModel):
    """`mode` for one category; `threshold` None means the calibrated threshold shipped with the weights.

    For `self_harm`, "block" means the crisis path (a caring answer with crisis resources), never a refusal.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Mode = "block"
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)


def _default_rules() -> dict[Category, CategoryRule]:
    return {category: CategoryRule() for category in CATEGORIES}


class GuardPolicy(BaseModel):
    """Operator policy. Categories not listed keep the default (block at the calibrated threshold).

    `enabled=False` switches screening off entirely; `screen_history_turns` is how many earlier user turns
    are screened besides the latest (lexical features only: they have no embedding of their own).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    categories: dict[Category, CategoryRule] = Field(default_factory=_default_rules)
    screen_history_turns: int = Field(default=3, ge=0, le=50)
    screen_tool_results: bool = True

    def rule(self, category: Category) -> CategoryRule:
        return self.categories.get(category, CategoryRule())
