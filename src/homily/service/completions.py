"""The completion pipeline: route → tradition guidance → upstream call (with fallback) → V2 response."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from homily.auth.tokens import Principal
from homily.catalog.loader import Catalog, CatalogModel
from homily.errors import HomilyError, InternalError, ProviderUnavailableError
from homily.ids import generation_id
from homily.metrics import Metrics
from homily.protocol.chat import ChatCompletionRequest, ChatMessage
from homily.providers.pool import ProviderPool
from homily.providers.types import Completion, ProviderAdapter, ProviderRequest, StreamDelta, UpstreamModel
from homily.routing.decision import QueryEmbedding, RoutingDecision
from homily.routing.features import last_user_text
from homily.routing.router import Router
from homily.service.wire import ChunkEncoder, completion_body, routing_fields, routing_headers
from homily.traditions.profiles import guidance_messages, with_guidance

log = logging.getLogger("homily.completions")

_PASS_THROUGH = ("top_p", "stop", "seed", "user", "response_format", "presence_penalty", "frequency_penalty")


@dataclass(frozen=True, slots=True)
class CompletionResult:
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass(slots=True)
class StreamResult:
    """An upstream stream whose first delta already arrived (so routing headers are final) plus its rest."""

    headers: dict[str, str]
    events: AsyncIterator[bytes]


def provider_request(request: ChatCompletionRequest, model: CatalogModel, guidance: ChatMessage) -> ProviderRequest:
    limit = request.output_limit
    return ProviderRequest(
        model=UpstreamModel(
            catalog_id=model.id,
            upstream_name=model.upstream_model,
            max_output_tokens=model.max_output_tokens,
            supports_reasoning=model.supports_reasoning,
            supports_tools=model.supports_tools,
            max_tokens_field=model.options.max_tokens_field,
            fixed_temperature=model.options.fixed_temperature,
        ),
        messages=with_guidance(list(request.messages), guidance),
        max_tokens=min(limit, model.max_output_tokens) if limit is not None else None,
        temperature=request.temperature,
        tools=request.tools,
        tool_choice=request.tool_choice,
        parallel_tool_calls=request.parallel_tool_calls,
        options={name: value for name in _PASS_THROUGH if (value := getattr(request, name)) is not None},
    )


class QueryEmbedder(Protocol):
    """Embeds one query off the event loop (e.g. `homily.embeddings.BatchingEmbedder`)."""

    async def embed_one(self, text: str) -> QueryEmbedding: ...


class CompletionService:
    """Runs one completion. Falls back along the routing decision's chain only before any byte reached the client."""

    def __init__(
        self,
        catalog: Catalog,
        router: Router,
        pool: ProviderPool,
        metrics: Metrics,
        query_embedder: QueryEmbedder | None = None,
    ) -> None:
        self._catalog = catalog
        self._router = router
        self._pool = pool
        self._metrics = metrics
        self._guidance = guidance_messages()
        self._query_embedder = query_embedder

    async def _decide(self, request: ChatCompletionRequest, *, grounded: bool = False) -> RoutingDecision:
        """Route; auto/family modes first embed the last user turn once (in the embedder's worker thread)."""
        embedding: QueryEmbedding | None = None
        direct = request.model is not None and request.auto_routing is not True and request.model_family is None
        if self._query_embedder is not None and not direct:
            text = last_user_text(request.messages)
            if text:
                embedding = await self._query_embedder.embed_one(text)
        return self._router.decide(request, grounded=grounded, query_embedding=embedding)

    def _candidates(self, decision: RoutingDecision) -> list[tuple[CatalogModel, ProviderAdapter]]:
        chain: list[tuple[CatalogModel, ProviderAdapter]] = []
        for model_id in (decision.model, *decision.fallbacks):
            model = self._catalog.get(model_id)
            adapter = self._pool.adapter(model.provider) if model is not None else None
            if model is not None and adapter is not None:
                chain.append((model, adapter))
        if not chain:
            raise ProviderUnavailableError(f"No upstream adapter is configured for '{decision.model}'.")
        return chain

    async def complete(
        self, request: ChatCompletionRequest, principal: Principal, *, grounded: bool = False
    ) -> CompletionResult:
        decision = await self._decide(request, grounded=grounded)
        last_error: HomilyError | None = None
        for model, adapter in self._candidates(decision):
            try:
                completion = await adapter.complete(provider_request(request, model, self._guidance[request.tradition]))
            except HomilyError as exc:
                if exc.fault != "provider":
                    raise
                log.warning("model %s failed: %s", model.id, exc.message, extra={"org_id": principal.org_id})
                self._count_failure(model, exc)
                last_error = exc
                continue
            return self._result(decision, model, request, completion)
        assert last_error is not None
        raise last_error

    def _count_failure(self, model: CatalogModel, error: HomilyError) -> None:
        self._metrics.inc("homily_upstream_errors_total", (("model", model.id), ("code", str(error.code))))

    def _count_success(self, decision: RoutingDecision, model: CatalogModel) -> None:
        tier = f"tier_{decision.tier}" if decision.tier is not None else "none"
        labels = (("model", model.id), ("mechanism", decision.mechanism), ("tier", tier))
        self._metrics.inc("homily_completions_total", labels)

    def _result(
        self, decision: RoutingDecision, model: CatalogModel, request: ChatCompletionRequest, completion: Completion
    ) -> CompletionResult:
        self._count_success(decision, model)
        metadata = routing_fields(decision, model, request.tradition)
        body = completion_body(generation_id(), int(time.time()), model, completion, metadata)
        return CompletionResult(body=body, headers=routing_headers(decision, model, request.tradition))

    async def open_stream(
        self, request: ChatCompletionRequest, principal: Principal, request_id: str, *, grounded: bool = False
    ) -> StreamResult:
        decision = await self._decide(request, grounded=grounded)
        last_error: HomilyError | None = None
        for model, adapter in self._candidates(decision):
            upstream = adapter.stream(provider_request(request, model, self._guidance[request.tradition]))
            try:
                first = await anext(upstream)
            except StopAsyncIteration:
                first = StreamDelta(finish_reason="stop")
            except HomilyError as exc:
                await upstream.aclose()
                if exc.fault != "provider":
                    raise
                log.warning("model %s failed before streaming: %s", model.id, exc.message)
                self._count_failure(model, exc)
                last_error = exc
                continue
            self._count_success(decision, model)
            include_usage = bool(request.stream_options and request.stream_options.include_usage)
            events = self._events(model, first, upstream, include_usage, request_id)
            return StreamResult(headers=routing_headers(decision, model, request.tradition), events=events)
        assert last_error is not None
        raise last_error

    async def _events(
        self,
        model: CatalogModel,
        first: StreamDelta,
        upstream: AsyncGenerator[StreamDelta, None],
        include_usage: bool,
        request_id: str,
    ) -> AsyncIterator[bytes]:
        encoder = ChunkEncoder(generation_id(), int(time.time()), model.id)
        usage: dict[str, Any] | None = None
        finished = False
        delta: StreamDelta | None = first
        try:
            while delta is not None:
                if delta.usage is not None:
                    usage = delta.usage.to_openai()
                if delta.content is not None or delta.tool_calls or delta.finish_reason is not None:
                    yield encoder.delta(delta)
                    finished = finished or delta.finish_reason is not None
                delta = await anext(upstream, None)
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
        if include_usage and usage is not None:
            yield encoder.usage(usage)
        yield encoder.done()
