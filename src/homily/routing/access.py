"""Per-organisation model allow-lists applied to routing (API.md section 1: a model the organisation may not
use is 403 FORBIDDEN).

An allow-list is a frozenset of catalog model ids, or None for "every model". Ids no longer in the catalog are
ignored. The refusal messages name the models the organisation may use, so a caller can fix the request.
"""

from __future__ import annotations

from collections.abc import Callable

from homily.catalog.loader import Catalog, CatalogModel
from homily.errors import ForbiddenError
from homily.protocol.chat import ModelFamily
from homily.routing.decision import RoutingMechanism

AllowList = frozenset[str] | None
"""The catalog model ids an organisation may use; None: every model."""


def permits(allowed: AllowList, model: CatalogModel) -> bool:
    return allowed is None or model.id in allowed


def permitted_summary(catalog: Catalog, allowed: frozenset[str]) -> str:
    """A sentence naming the models the organisation may use, in catalog order."""
    ids = [model.id for model in catalog.models if model.id in allowed]
    if not ids:
        return "It may use no model of this server's catalog; ask the gateway administrator."
    return f"It may use: {', '.join(ids)} (GET /platform/v2/models describes them)."


def check_direct(catalog: Catalog, model_id: str, allowed: AllowList) -> None:
    """403 when a catalog model is outside the allow-list (an unknown id is left to the 400 of selection)."""
    model = catalog.get(model_id)
    if allowed is None or model is None or model.id in allowed:
        return
    raise ForbiddenError(
        f"Your organisation may not use model '{model_id}'. {permitted_summary(catalog, allowed)}", param="model"
    )


def _scope(mechanism: RoutingMechanism, families: list[ModelFamily]) -> tuple[str, str]:
    if mechanism == "model_family":
        return f" of the {', '.join(families)} family", "model_family"
    return "", "auto_routing"


def check_families(
    catalog: Catalog, mechanism: RoutingMechanism, families: list[ModelFamily], allowed: AllowList
) -> None:
    """403 when the allow-list leaves no catalog model of `families` at all (auto_routing: of any family)."""
    if allowed is None or any(m.family in families and m.id in allowed for m in catalog.models):
        return
    scope, param = _scope(mechanism, families)
    raise ForbiddenError(
        f"Your organisation may use no model{scope} in this server's catalog. {permitted_summary(catalog, allowed)}",
        param=param,
    )


def restriction_error(
    catalog: Catalog,
    mechanism: RoutingMechanism,
    families: list[ModelFamily],
    allowed: AllowList,
    capable: Callable[[CatalogModel], bool],
) -> ForbiddenError | None:
    """When routing found no model: the 403 if the allow-list is the reason (some model of `families` could serve
    the request, none of the allowed ones could), else None (the usual 503 applies: allowed, capable models exist
    but their upstreams are down or unconfigured, or no model at all could serve it)."""
    if allowed is None:
        return None
    in_scope = [m for m in catalog.models if m.family in families and capable(m)]
    if not in_scope or any(m.id in allowed for m in in_scope):
        return None
    scope, param = _scope(mechanism, families)
    return ForbiddenError(
        f"No model{scope} that your organisation may use can serve this request: it needs tool calling or a larger "
        f"context window than they offer. {permitted_summary(catalog, allowed)}",
        param=param,
    )
