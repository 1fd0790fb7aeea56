"""From a tier (or a family, or an exact id) to an ordered list of models to try."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homily.catalog.availability import Availability
from homily.catalog.loader import Catalog, CatalogModel
from homily.errors import InvalidRequestError, ProviderUnavailableError
from homily.protocol.chat import ModelFamily
from homily.routing.decision import Tier
from homily.routing.policy import RoutingPreference, order_models


@dataclass(frozen=True, slots=True)
class Requirements:
    """What the request needs from a model: tool calling, and room for prompt plus output."""

    needs_tools: bool
    estimated_tokens: int


def fits(model: CatalogModel, needs: Requirements) -> bool:
    if needs.needs_tools and not model.supports_tools:
        return False
    return needs.estimated_tokens <= model.context_window


def rank_candidates(
    catalog: Catalog,
    availability: Availability,
    tier: Tier,
    needs: Requirements,
    families: list[ModelFamily],
    *,
    confidence: float | None = None,
    preference: RoutingPreference = "balanced",
    permitted: Callable[[CatalogModel], bool] | None = None,
) -> list[CatalogModel]:
    """Available, capable (and `permitted`: the caller's allow-list) models in the order `preference` tries them
    (see `homily.routing.policy`); with the default `balanced` policy: tier distance (stronger first), then family
    preference, then rank within the tier."""
    allowed = set(families)
    candidates = [
        m
        for m in catalog.models
        if m.family in allowed
        and availability.is_available(m)
        and fits(m, needs)
        and (permitted is None or permitted(m))
    ]
    return order_models(candidates, tier, confidence, families, preference)


def unavailable_error(catalog: Catalog, families: list[ModelFamily], needs: Requirements) -> ProviderUnavailableError:
    """The 503 for "nothing can serve this", naming the settings that would enable a model."""
    settings = sorted({Availability.enabling_setting(m) for m in catalog.models if m.family in families})
    what = "tool-capable model" if needs.needs_tools else "model"
    return ProviderUnavailableError(
        f"No {what} of {', '.join(families)} is available. Configure an upstream by setting "
        f"{' or '.join(settings)} and restart Homily.",
        param="model_family" if len(families) == 1 else None,
    )


def select_direct(catalog: Catalog, availability: Availability, model_id: str, needs: Requirements) -> CatalogModel:
    """Direct selection: the model itself, validated (400 unknown / tools unsupported, 503 not configured)."""
    model = catalog.get(model_id)
    if model is None:
        raise InvalidRequestError(
            f"Unknown model '{model_id}'. GET /platform/v2/models lists the model ids this server offers.",
            param="model",
        )
    if needs.needs_tools and not model.supports_tools:
        raise InvalidRequestError(
            f"Model '{model_id}' cannot call tools. Choose a model with supports_tools=true, or use model_family "
            "or auto_routing to let Homily pick one.",
            param="tools",
        )
    if not availability.is_configured(model):
        raise ProviderUnavailableError(
            f"Model '{model_id}' is in the catalog but its upstream is not configured: set "
            f"{Availability.enabling_setting(model)} to enable it.",
            param="model",
        )
    if not availability.is_available(model):
        raise ProviderUnavailableError(
            f"The upstream of model '{model_id}' is failing; retry shortly or choose another model.", param="model"
        )
    if needs.estimated_tokens > model.context_window:
        raise InvalidRequestError(
            f"The request needs about {needs.estimated_tokens} tokens but '{model_id}' has a context window of "
            f"{model.context_window}.",
            param="messages",
        )
    return model
