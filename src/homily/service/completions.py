"""The completion pipeline: validate routing → embed once → guard → route → tradition guidance → upstream call
(retries, fallback and circuit breakers) → V2 response."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

from homily.catalog.loader import Catalog, CatalogModel
from homily.embeddings.deferred import EmbedderLoadError
from homily.errors import HomilyError, InternalError, ProviderUnavailableError
from homily.ids import generation_id
from homily.metrics import Metrics
from homily.protocol.chat import ChatCompletionRequest, ChatMessage
from homily.providers.circuit import CircuitBreakers
from homily.providers.errors import UpstreamRejectedError
from homily.providers.fallback import Candidate, FallbackExecutor, Skipped
from homily.providers.pool import ProviderPool
from homily.providers.types import Completion, FinishReason, ProviderRequest, StreamDelta, UpstreamModel, Usage
from homily.routing.access import AllowList
from homily.routing.decision import QueryEmbedding, RoutingDecision, RoutingMechanism
from homily.routing.features import last_user_text
from homily.routing.router import Router, resolve_mechanism
from homily.service.guarding import GUARD_MODEL_ID, GuardOutcome, GuardStage
from homily.service.turn_embeddings import QueryEmbedder, TurnEmbedder
from homily.service.wire import (
    ChunkEncoder,
    Graded,
    completion_body,
    graded,
    local_fields,
    local_headers,
    routing_fields,
    routing_headers,
)
from homily.traditions.profiles import guidance_messages

log = logging.getLogger("homily.completions")

_PASS_THROUGH = ("top_p", "stop", "seed", "user", "response_format", "presence_penalty", "frequency_penalty")


@dataclass(frozen=True, slots=True)
class CompletionResult:
    """`guarded`: Homily answered by itself because of the guard (a blocked request, or the fixed crisis answer)."""

    body: dict[str, Any]
    headers: dict[str, str]
    guarded: bool = False


@dataclass(slots=True)
class StreamResult:
    """An upstream stream whose first delta already arrived (so routing headers are final) plus its rest."""

    headers: dict[str, str]
    events: AsyncIterator[bytes]
    guarded: bool = False


def upstream_model(model: CatalogModel) -> UpstreamModel:
    return UpstreamModel(
        catalog_id=model.id,
        upstream_name=model.upstream_model,
        max_output_tokens=model.max_output_tokens,
        supports_reasoning=model.supports_reasoning,
        supports_tools=model.supports_tools,
        max_tokens_field=model.options.max_tokens_field,
        fixed_temperature=model.options.fixed_temperature,
    )


def provider_request(request: ChatCompletionRequest, model: CatalogModel, system: list[ChatMessage]) -> ProviderRequest:
    """The upstream request: Homily's system guidance first, then the caller's messages unchanged."""
    limit = request.output_limit
    return ProviderRequest(
        model=upstream_model(model),
        messages=[*system, *request.messages],
        max_tokens=model.output_budget(limit) if limit is not None else None,
        temperature=request.temperature,
        tools=request.tools,
        # Upstreams refuse tool settings without tools; check_tool_choice already refused the meaningful ones.
        tool_choice=request.tool_choice if request.tools else None,
        parallel_tool_calls=request.parallel_tool_calls if request.tools else None,
        options={name: value for name in _PASS_THROUGH if (value := getattr(request, name)) is not None},
    )


def _no_model_answered(error: HomilyError) -> bool:
    """No upstream could answer: provider faults, and an upstream's rejection of the request (a crisis message is
    never simply refused, even when the client's request was at fault)."""
    return error.fault == "provider" or isinstance(error, UpstreamRejectedError)


@dataclass(frozen=True, slots=True)
class Screened:
    """A request whose routing fields and model access were checked and whose input the guard screened."""

    mechanism: RoutingMechanism
    embedding: QueryEmbedding | None
    guard: GuardOutcome | None
    grounded: bool = False

    @property
    def blocked(self) -> bool:
        return self.guard is not None and self.guard.blocked


class CompletionService:
    """Runs one completion. Falls back along the routing decision's chain only before any byte reached the client."""

    def __init__(
        self,
        catalog: Catalog,
        router: Router,
        pool: ProviderPool,
        metrics: Metrics,
        *,
        executor: FallbackExecutor,
        breakers: CircuitBreakers,
        guard: GuardStage | None = None,
        query_embedder: QueryEmbedder | None = None,
    ) -> None:
        self._catalog = catalog
        self._router = router
        self._pool = pool
        self._metrics = metrics
        self._executor = executor
        self._breakers = breakers
        self._guard = guard
        self._guidance = guidance_messages()
        self._turn_embedder = TurnEmbedder(query_embedder) if query_embedder is not None else None

    async def _embed(
        self, request: ChatCompletionRequest, earlier: list[str] | None = None
    ) -> tuple[QueryEmbedding | None, dict[str, QueryEmbedding]]:
        """The last user turn's embedding, shared by guard, router and retrieval, and those of the `earlier` user
        turns the guard screens (remembered from the conversation's previous requests where possible)."""
        text = last_user_text(request.messages)
        if self._turn_embedder is None or not text:
            return None, {}
        earlier = earlier or []
        with contextlib.suppress(EmbedderLoadError):  # logged at load; screen and route without it
            latest, vectors = await self._turn_embedder.embed(text, earlier)
            return latest, dict(zip(earlier, vectors, strict=True))
        return None, {}

    @property
    def has_providers(self) -> bool:
        """Whether any upstream adapter is configured at all."""
        return bool(self._pool.providers())

    def check_access(self, request: ChatCompletionRequest, allowed: AllowList) -> None:
        """403 when the organisation's allow-list leaves the request no model (see `Router.check_access`)."""
        self._router.check_access(request, allowed)

    async def screen(
        self, request: ChatCompletionRequest, request_id: str, *, grounded: bool = False, allowed: AllowList = None
    ) -> Screened:
        """Validate the routing fields and model access, embed the last user turn once (and the earlier user turns
        the guard screens), and run the guard before any model."""
        mechanism, _ = resolve_mechanism(request)
        self.check_access(request, allowed)
        guard = self._guard if self._guard is not None and self._guard.enabled else None
        messages = list(request.messages)
        earlier = guard.earlier_turns(messages) if guard is not None else []
        embedding, earlier_embeddings = (
            await self._embed(request, earlier)
            if guard is not None or mechanism != "direct_model_selection"
            else (None, {})
        )
        outcome = guard.check(messages, embedding, request_id, earlier_embeddings) if guard is not None else None
        return Screened(mechanism, embedding, outcome, grounded)

    async def route(self, request: ChatCompletionRequest, request_id: str = "") -> RoutingDecision:
        """The routing decision alone (with the shared embedding), as `homily route` and tests see it."""
        screened = await self.screen(request, request_id)
        return self._router.decide(request, query_embedding=screened.embedding)

    def _system(self, request: ChatCompletionRequest, screened: Screened) -> list[ChatMessage]:
        system = [self._guidance[request.tradition]]
        if screened.guard is not None and screened.guard.crisis and self._guard is not None:
            system.append(self._guard.crisis_message)
        return system

    def _candidates(self, decision: RoutingDecision) -> tuple[CatalogModel, list[Candidate]]:
        first: CatalogModel | None = None
        chain: list[Candidate] = []
        for model_id in (decision.model, *decision.fallbacks):
            model = self._catalog.get(model_id)
            adapter = self._pool.adapter(model.provider) if model is not None else None
            if model is None or adapter is None:
                continue
            first = first or model
            chain.append(Candidate(upstream_model(model), adapter, self._breakers.get(model.provider)))
        if first is None:
            raise ProviderUnavailableError(f"No upstream adapter is configured for '{decision.model}'.")
        return first, chain

    async def complete(
        self,
        request: ChatCompletionRequest,
        request_id: str,
        extra_system: list[ChatMessage] | None = None,
        *,
        grounded: bool = False,
        allowed: AllowList = None,
        screened: Screened | None = None,
    ) -> CompletionResult:
        """`screened`: the result of `screen` when the caller ran it already (grounded: before retrieval)."""
        screened = screened or await self.screen(request, request_id, grounded=grounded, allowed=allowed)
        guard = screened.guard
        if guard is not None and guard.blocked:
            return self._local_result(request, screened, guard.decline(), "content_filter")
        try:
            decision = self._router.decide(
                request, grounded=grounded, query_embedding=screened.embedding, allowed=allowed
            )
            first, candidates = self._candidates(decision)
            upstream = provider_request(request, first, [*self._system(request, screened), *(extra_system or [])])
            answered = await self._executor.complete(upstream, candidates)
        except HomilyError as exc:
            if guard is not None and guard.crisis and _no_model_answered(exc):
                log.warning("no model for a crisis message; sending the fixed caring response: %s", exc.message)
                return self._local_result(request, screened, guard.crisis_fallback(), "stop")
            raise
        self._count_skipped(answered.skipped)
        model = self._answered_model(answered.model)
        self._count_success(decision, model)
        metadata = routing_fields(decision, model, request.tradition)
        if guard is not None and (wire := guard.wire()) is not None:
            metadata["guardrail"] = wire
        body = completion_body(generation_id(), int(time.time()), model.id, answered.result, metadata)
        return CompletionResult(body=body, headers=routing_headers(decision, model, request.tradition))

    async def open_stream(
        self,
        request: ChatCompletionRequest,
        request_id: str,
        extra_system: list[ChatMessage] | None = None,
        *,
        grounded: bool = False,
        allowed: AllowList = None,
        screened: Screened | None = None,
    ) -> StreamResult:
        screened = screened or await self.screen(request, request_id, grounded=grounded, allowed=allowed)
        guard = screened.guard
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        if guard is not None and guard.blocked:
            return self._local_stream(request, screened, guard.decline(), "content_filter", include_usage)
        try:
            decision = self._router.decide(
                request, grounded=grounded, query_embedding=screened.embedding, allowed=allowed
            )
            first, candidates = self._candidates(decision)
            upstream = provider_request(request, first, [*self._system(request, screened), *(extra_system or [])])
            answered = await self._executor.stream(upstream, candidates)
        except HomilyError as exc:
            if guard is not None and guard.crisis and _no_model_answered(exc):
                return self._local_stream(request, screened, guard.crisis_fallback(), "stop", include_usage)
            raise
        self._count_skipped(answered.skipped)
        model = self._answered_model(answered.model)
        self._count_success(decision, model)
        guardrail = guard.wire() if guard is not None else None
        events = self._events(model, answered.result, include_usage, request_id, guardrail)
        return StreamResult(headers=routing_headers(decision, model, request.tradition), events=events)

    def _answered_model(self, answered: UpstreamModel) -> CatalogModel:
        model = self._catalog.get(answered.catalog_id)
        if model is None:  # the executor only returns candidates built from the catalog
            raise InternalError(f"the answering model {answered.catalog_id} is not in the catalog")
        return model

    def _count_skipped(self, skipped: tuple[Skipped, ...]) -> None:
        for entry in skipped:
            self._metrics.inc("homily_upstream_errors_total", (("model", entry.catalog_id), ("code", entry.reason)))

    def _count_success(self, decision: RoutingDecision, model: CatalogModel) -> None:
        tier = f"tier_{decision.tier}" if decision.tier is not None else "none"
        labels = (("model", model.id), ("mechanism", decision.mechanism), ("tier", tier))
        self._metrics.inc("homily_completions_total", labels)

    @staticmethod
    def _local_completion(text: str, finish: FinishReason) -> Completion:
        return Completion(content=text, tool_calls=[], finish_reason=finish, usage=Usage())

    async def grade(self, request: ChatCompletionRequest, *, grounded: bool = False) -> Graded:
        """The routing tier and confidence an answer no model gave reports (None for direct model selection)."""
        if resolve_mechanism(request)[0] == "direct_model_selection":
            return None
        embedding, _ = await self._embed(request)
        return graded(self._router.estimate(request, grounded=grounded, query_embedding=embedding))

    def _local_grade(self, request: ChatCompletionRequest, screened: Screened) -> Graded:
        estimate = self._router.estimate(request, grounded=screened.grounded, query_embedding=screened.embedding)
        return graded(estimate)

    def _local_result(
        self, request: ChatCompletionRequest, screened: Screened, text: str, finish: FinishReason
    ) -> CompletionResult:
        """Homily answers by itself (blocked request, or a crisis with no model): no upstream is called."""
        assert screened.guard is not None
        grade = self._local_grade(request, screened)
        metadata = {**local_fields(screened.mechanism, request.tradition, grade), "guardrail": screened.guard.wire()}
        completion = self._local_completion(text, finish)
        body = completion_body(generation_id(), int(time.time()), GUARD_MODEL_ID, completion, metadata)
        headers = local_headers(screened.mechanism, request.tradition, grade)
        return CompletionResult(body=body, headers=headers, guarded=True)

    def _local_stream(
        self,
        request: ChatCompletionRequest,
        screened: Screened,
        text: str,
        finish: FinishReason,
        include_usage: bool,
    ) -> StreamResult:
        assert screened.guard is not None
        guardrail = screened.guard.wire()
        headers = local_headers(screened.mechanism, request.tradition, self._local_grade(request, screened))
        completion = self._local_completion(text, finish)

        async def events() -> AsyncIterator[bytes]:
            encoder = ChunkEncoder(generation_id(), int(time.time()), None)
            yield encoder.delta(StreamDelta(content=completion.content), guardrail=guardrail)
            yield encoder.delta(StreamDelta(finish_reason=completion.finish_reason))
            if include_usage:
                yield encoder.usage(completion.usage.to_openai())
            yield encoder.done()

        return StreamResult(headers=headers, events=events(), guarded=True)

    async def _events(
        self,
        model: CatalogModel,
        upstream: AsyncGenerator[StreamDelta, None],
        include_usage: bool,
        request_id: str,
        guardrail: dict[str, Any] | None,
    ) -> AsyncIterator[bytes]:
        encoder = ChunkEncoder(generation_id(), int(time.time()), model.id)
        usage: dict[str, Any] | None = None
        finished = False
        first = True
        try:
            async for delta in upstream:
                if delta.usage is not None:
                    usage = delta.usage.to_openai()
                if delta.content is not None or delta.tool_calls or delta.finish_reason is not None or first:
                    yield encoder.delta(delta, guardrail=guardrail if first else None)
                    first = False
                    finished = finished or delta.finish_reason is not None
        except HomilyError as exc:
            log.warning("stream from %s failed mid-way: %s", model.id, exc.message, extra={"request_id": request_id})
            yield encoder.error(exc.envelope(request_id))
            return
        except Exception:
            log.exception("stream from %s crashed", model.id)
            yield encoder.error(InternalError("The stream failed inside Homily.").envelope(request_id))
            return
        finally:
            await upstream.aclose()
        if not finished:
            yield encoder.delta(StreamDelta(finish_reason="stop"))
        if include_usage:  # an upstream that reported no usage still gets the promised chunk (zeros)
            yield encoder.usage(usage if usage is not None else Usage().to_openai())
        yield encoder.done()
