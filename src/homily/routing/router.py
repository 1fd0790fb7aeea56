"""The `Router` seam: request → `RoutingDecision` (mechanism, model, ordered fallbacks, tier, confidence)."""

from __future__ import annotations

from typing import Protocol

from homily.catalog.availability import Availability
from homily.catalog.loader import Catalog, CatalogModel
from homily.errors import InvalidRequestError
from homily.protocol.chat import MECHANISM_RULE, ChatCompletionRequest, ModelFamily, canonical_family
from homily.routing.access import AllowList, check_direct, check_families, permits, restriction_error
from homily.routing.capacity import no_model_error
from homily.routing.decision import QueryEmbedding, RoutingDecision, RoutingMechanism, TierEstimate
from homily.routing.features import RequestFeatures, extract_features
from homily.routing.policy import RoutingPreference, order_models
from homily.routing.requirements import Requirements, fits
from homily.routing.selection import eligible, select_direct


class TierEstimator(Protocol):
    """Scores complexity from the request's features and, when the service computed it, the shared query
    embedding. `LearnedRouter` (trained) and `RuleRouter` (transparent rules) implement it; both are pure and fast
    enough (tens of µs) to run inline on the event loop once the embedding exists."""

    def decide_tier(self, features: RequestFeatures, query_embedding: QueryEmbedding | None = None) -> TierEstimate: ...


def resolve_mechanism(request: ChatCompletionRequest) -> tuple[RoutingMechanism, ModelFamily | None]:
    """Which of the three routing modes the request asked for (API.md: exactly one; `auto_routing: false` is none)."""
    given = [
        name
        for name, present in (
            ("auto_routing", request.auto_routing is True),
            ("model", request.model is not None),
            ("model_family", request.model_family is not None),
        )
        if present
    ]
    if len(given) != 1:
        detail = "none was given" if not given else f"got {', '.join(given)}"
        named = given or ["auto_routing", "model", "model_family"]
        raise InvalidRequestError(f"{MECHANISM_RULE.removesuffix('.')} ({detail}).", param=",".join(named))
    if given[0] == "auto_routing":
        return "auto_routing", None
    if given[0] == "model":
        return "direct_model_selection", None
    family = canonical_family(request.model_family or "")
    if family is None:
        raise InvalidRequestError(
            f"Unknown model_family '{request.model_family}'. Use one of: openai, anthropic, google, open source.",
            param="model_family",
            status=422,
        )
    return "model_family", family


def requirements(request: ChatCompletionRequest) -> Requirements:
    """What the request needs: tools, and a cheap upper-bound guess (≈4 characters per token) of its prompt, with
    the output limit it asked for (each model gives at most its own maximum, as the upstream call does)."""
    prompt_chars = sum(len(m.text()) for m in request.messages)
    return Requirements(
        needs_tools=bool(request.tools), prompt_tokens=prompt_chars // 4, output_tokens=request.output_limit
    )


class Router:
    """Combines the tier estimator with catalog selection. Pure apart from reading availability."""

    def __init__(
        self,
        catalog: Catalog,
        availability: Availability,
        estimator: TierEstimator,
        preference: RoutingPreference = "balanced",
    ) -> None:
        self._catalog = catalog
        self._availability = availability
        self._estimator = estimator
        self._preference: RoutingPreference = preference

    def estimate(
        self,
        request: ChatCompletionRequest,
        *,
        grounded: bool = False,
        query_embedding: QueryEmbedding | None = None,
    ) -> TierEstimate | None:
        """The request's complexity tier in auto_routing and model_family mode; None for direct model selection.
        Pure: no catalog selection, so it also serves answers no model gave (a guard decline)."""
        mechanism, _ = resolve_mechanism(request)
        if mechanism == "direct_model_selection":
            return None
        return self._tier(request, grounded, query_embedding)

    def _tier(
        self, request: ChatCompletionRequest, grounded: bool, query_embedding: QueryEmbedding | None
    ) -> TierEstimate:
        features = extract_features(request.messages, has_tools=bool(request.tools), grounded=grounded)
        return self._estimator.decide_tier(features, query_embedding)

    def check_access(self, request: ChatCompletionRequest, allowed: AllowList) -> None:
        """403 unless the organisation's allow-list leaves a model the request may name or be routed to. Cheap and
        pure, so the service runs it before any embedding, guard or retrieval work."""
        mechanism, family = resolve_mechanism(request)
        if mechanism == "direct_model_selection":
            check_direct(self._catalog, request.model or "", allowed)
        else:
            check_families(self._catalog, mechanism, self._families(family), allowed)

    def _families(self, family: ModelFamily | None) -> list[ModelFamily]:
        return [family] if family is not None else list(self._catalog.family_order)

    def decide(
        self,
        request: ChatCompletionRequest,
        *,
        grounded: bool = False,
        query_embedding: QueryEmbedding | None = None,
        allowed: AllowList = None,
    ) -> RoutingDecision:
        """The decision for `request`; `query_embedding` is the shared embedding of its last user turn. `allowed`
        is the caller's organisation allow-list: only those models are chosen, tried or fallen back to."""
        self.check_access(request, allowed)
        mechanism, family = resolve_mechanism(request)
        needs = requirements(request)
        if mechanism == "direct_model_selection":
            model = select_direct(self._catalog, self._availability, request.model or "", needs)
            return RoutingDecision(mechanism=mechanism, model=model.id, fallbacks=[])
        families = self._families(family)

        def permitted(model: CatalogModel) -> bool:
            return permits(allowed, model)

        candidates = eligible(self._catalog, self._availability, needs, families, permitted)
        if not candidates:  # before estimating: a request no model can take costs no feature extraction
            forbidden = restriction_error(self._catalog, mechanism, families, allowed, lambda m: fits(m, needs))
            raise forbidden or no_model_error(self._catalog, self._availability, families, needs, permitted)
        estimate = self._tier(request, grounded, query_embedding)
        preference = request.routing_preference or self._preference
        ranked = order_models(candidates, estimate.tier, estimate.confidence, families, preference)
        return RoutingDecision(
            mechanism=mechanism,
            model=ranked[0].id,
            fallbacks=[m.id for m in ranked[1:]],
            tier=estimate.tier,
            confidence=estimate.confidence,
            estimate=estimate,
        )
