"""Why no model can serve a request, as the error the caller should see.

- Some configured model could hold the request but every such upstream is failing (open circuit): 503, retryable,
  "retrying later may help" (setting the key again is not the fix).
- Available models exist but none can hold the request: the caller's 400 naming `max_tokens` (a smaller output
  limit would fit) or `messages` (the conversation itself is too long), with the largest context window available.
- Only models whose upstream is not configured could serve it: 503 naming just those settings.
- No model in scope could ever hold it: the same 400, with the largest context window in the catalog scope.
Settings that are already set are never named as the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from homily.catalog.availability import Availability
from homily.catalog.loader import Catalog, CatalogModel
from homily.errors import HomilyError, InvalidRequestError, ProviderUnavailableError
from homily.protocol.chat import ModelFamily
from homily.routing.requirements import Requirements, can_call_tools, holds


def no_model_error(
    catalog: Catalog,
    availability: Availability,
    families: list[ModelFamily],
    needs: Requirements,
    permitted: Callable[[CatalogModel], bool],
) -> HomilyError:
    """The error for a routed request (auto_routing, model_family) for which ranking found no model."""
    param = "model_family" if len(families) == 1 else None
    what = f"{'tool-capable model' if needs.needs_tools else 'model'} of {', '.join(families)}"
    scope = [m for m in catalog.models if m.family in families and permitted(m) and can_call_tools(m, needs)]
    if not scope:
        return InvalidRequestError(
            f"No {what} exists in this server's catalog. Leave out `tools`, or use another routing mode.",
            param="tools",
        )
    holding = [m for m in scope if holds(m, needs)]
    unconfigured = [m for m in holding if not availability.is_configured(m)]
    failing = [m for m in holding if availability.is_configured(m)]
    if failing:  # ranking took every available model that holds it, so these are all unavailable
        down = sorted({m.family for m in failing})
        upstreams = f"the upstream of {down[0]} is" if len(down) == 1 else f"the upstreams of {', '.join(down)} are"
        return ProviderUnavailableError(
            f"No {what} is available right now: {upstreams} configured but failing. Retrying later may help."
            f"{_enable_hint(unconfigured, 'more models')}",
            param=param,
        )
    available = [m for m in scope if availability.is_available(m)]
    if available or not holding:
        hint = _enable_hint(unconfigured, f"models with a context window of up to {_largest(holding)} tokens")
        return too_large_error(needs, available or scope, hint=hint)
    settings = _names(Availability.enabling_setting(m) for m in unconfigured)
    return ProviderUnavailableError(
        f"No {what} is available. Configure an upstream by setting {settings.replace(', ', ' or ')} and restart "
        "Homily.",
        param=param,
    )


def too_large_error(
    needs: Requirements, models: Sequence[CatalogModel], *, direct: bool = False, hint: str = ""
) -> InvalidRequestError:
    """400: none of `models` has room for the prompt plus its output. Blames `max_tokens` when the caller set it and
    a smaller output limit would fit the largest of them, else `messages`."""
    best = max(models, key=lambda m: m.context_window)
    where = (
        f"'{best.id}' has a context window of {best.context_window} tokens"
        if direct
        else f"the largest context window available is {best.context_window} tokens ({best.id})"
    )
    room = best.context_window - needs.prompt_tokens
    if needs.output_tokens is not None and room >= 1:
        return InvalidRequestError(
            f"max_tokens {needs.output_tokens} does not fit beside the conversation (about {needs.prompt_tokens} "
            f"tokens): {where}, so ask for at most {room} output tokens.{hint}",
            param="max_tokens",
        )
    return InvalidRequestError(
        f"The request needs about {needs.tokens_for(best)} tokens (conversation plus answer) but {where}. "
        f"Shorten the messages{' or set a lower max_tokens' if room >= 1 else ''}.{hint}",
        param="messages",
    )


def _largest(models: Sequence[CatalogModel]) -> int:
    return max((m.context_window for m in models), default=0)


def _enable_hint(unconfigured: Sequence[CatalogModel], what: str) -> str:
    """A sentence naming the settings (never one already set) that would enable `unconfigured` models."""
    if not unconfigured:
        return ""
    settings = _names(Availability.enabling_setting(m) for m in unconfigured).replace(", ", " or ")
    return f" Setting {settings} (and restarting Homily) would enable {what}."


def _names(values: Iterable[str]) -> str:
    """Distinct names, sorted, comma-separated."""
    return ", ".join(sorted(set(values)))
