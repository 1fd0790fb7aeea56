"""What a request needs from a model (tool calling, room in the context window) and which models have it."""

from __future__ import annotations

from dataclasses import dataclass

from homily.catalog.loader import CatalogModel

DEFAULT_OUTPUT_ALLOWANCE = 1024
"""Output tokens reserved for a request that sets no `max_tokens` (clamped to the model's own limit)."""


@dataclass(frozen=True, slots=True)
class Requirements:
    """What the request needs from a model: tool calling, and room for its prompt plus its output. `output_tokens`
    is the caller's `max_tokens` (None: not given); a model gives at most its own `max_output_tokens`, which is
    also what is sent upstream, so the room needed depends on the model."""

    needs_tools: bool
    prompt_tokens: int
    output_tokens: int | None = None

    def output_for(self, model: CatalogModel) -> int:
        wanted = self.output_tokens if self.output_tokens is not None else DEFAULT_OUTPUT_ALLOWANCE
        return model.output_budget(wanted)

    def tokens_for(self, model: CatalogModel) -> int:
        """Estimated prompt plus the output this model would be asked for."""
        return self.prompt_tokens + self.output_for(model)


def can_call_tools(model: CatalogModel, needs: Requirements) -> bool:
    return model.supports_tools or not needs.needs_tools


def holds(model: CatalogModel, needs: Requirements) -> bool:
    """The model's context window has room for the prompt plus the (clamped) output."""
    return needs.tokens_for(model) <= model.context_window


def fits(model: CatalogModel, needs: Requirements) -> bool:
    return can_call_tools(model, needs) and holds(model, needs)
