"""From a tier (or a family, or an exact id) to an ordered list of models to try."""

from __future__ import annotations

from collections.abc import Callable

from homily.catalog.availability import Availability
from homily.catalog.loader import Catalog, CatalogModel
from homily.errors import InvalidRequestError, ProviderUnavailableError
from homily.protocol.chat import ModelFamily
from homily.routing.capacity import too_large_error
from homily.routing.decision import Tier
from homily.routing.policy import RoutingPreference, order_models
from homily.routing.requirements import Requirements, fits, holds


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
    candidates = eligible(catalog, availability, needs, families, permitted)
    return order_models(candidates, tier, confidence, families, preference)


def eligible(
    catalog: Catalog,
    availability: Availability,
    needs: Requirements,
    families: list[ModelFamily],
    permitted: Callable[[CatalogModel], bool] | None = None,
) -> list[CatalogModel]:
    """The models of `families` that are available, capable and permitted, in catalog order."""
    return [
        m
        for m in catalog.models
        if m.family in families
        and availability.is_available(m)
        and fits(m, needs)
        and (permitted is None or permitted(m))
    ]


def select_direct(catalog: Catalog, availability: Availability, model_id: str, needs: Requirements) -> CatalogModel:
    """Direct selection: the model itself, validated (400 unknown / tools unsupported / too large for its context
    window, 503 not configured or failing). Permanent problems (the 400s) come before the 503s."""
    model = catalog.get(model_id)
    if model is None:
        raise InvalidRequestError(
            f"Unknown model '{model_id}'. GET /platform/v2/models (or `homily models`) lists the model ids this "
            "server offers.",
            param="model",
        )
    if needs.needs_tools and not model.supports_tools:
        raise InvalidRequestError(
            f"Model '{model_id}' cannot call tools. Choose a model with supports_tools=true, or use model_family "
            "or auto_routing to let Homily pick one.",
            param="tools",
        )
    if not holds(model, needs):
        raise too_large_error(needs, [model], direct=True)
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
    return model
