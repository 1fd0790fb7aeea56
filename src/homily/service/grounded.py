"""Grounded completions (API.md section 3): retrieve -> numbered sources -> the completion pipeline or the
extractive answerer -> the V2 response plus `sources_returned` and `citations`."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

from homily.auth.tokens import Principal
from homily.content.extractive import EXTRACTIVE_MODEL_ID, extractive_answer
from homily.content.service import ContentService
from homily.content.sources import Source, citation_json, grounding_message, select_sources
from homily.errors import HomilyError
from homily.ids import generation_id
from homily.protocol.chat import ChatMessage
from homily.protocol.content import GroundedCompletionRequest
from homily.providers.types import Completion, StreamDelta, Usage
from homily.routing.access import AllowList
from homily.routing.features import last_user_text
from homily.routing.router import resolve_mechanism
from homily.service.completions import CompletionResult, CompletionService, Screened, StreamResult
from homily.service.small_talk import is_small_talk
from homily.service.wire import ChunkEncoder, completion_body, local_fields, local_headers
from homily.storage.base import Publisher

log = logging.getLogger("homily.grounded")

SHARED_PUBLISHER_NAME = "GlooGrounded"
_CANDIDATES_PER_SOURCE = 3
_SHORT_TURN_WORDS = 8
_CONTEXT_CHARS = 600


def retrieval_query(messages: list[ChatMessage]) -> str:
    """The last user turn; a short follow-up ("and in Romans?") is prefixed with the previous user turn."""
    turns = [text for message in messages if message.role == "user" and (text := message.text().strip())]
    if not turns:
        return ""
    last = turns[-1]
    if len(last.split()) < _SHORT_TURN_WORDS and len(turns) > 1:
        return turns[-2][-_CONTEXT_CHARS:] + "\n" + last
    return last


@dataclass(frozen=True, slots=True)
class Grounding:
    """What retrieval produced for one request."""

    publisher: str
    question: str
    sources: list[Source]

    @property
    def sources_returned(self) -> bool:
        return bool(self.sources)

    def citations(self) -> list[dict[str, Any]]:
        return [citation_json(source) for source in self.sources]


class GroundedService:
    """Prepares a grounded request and answers it.

    Invariants: retrieval only reads publishers the caller may read (403/404 before any model call); the guard
    screens the request before retrieval, so a request it blocks reads no publisher content at all and an answer
    Homily gives by itself because of the guard (the decline, or the fixed crisis answer when no model can answer)
    carries no sources (`sources_returned: false`, no citations); sources reach the model only inside one delimited
    system message; the extractive answerer answers (from the same sources) only on a server with no provider
    configured at all. Otherwise every error of section 2 applies as on the plain endpoint: an unconfigured
    upstream, and configured upstreams that all failed before the first byte, are the same 503/502/408.
    A crisis message is not refused: a model answers it with the crisis guidance ahead of the sources.
    """

    def __init__(
        self, content: ContentService, completions: CompletionService, *, query_space_shared: bool = False
    ) -> None:
        """`query_space_shared`: retrieval embeds with the local model that computes the request's shared query
        embedding, so retrieval reuses that vector when it searches for the very same text."""
        self._content = content
        self._completions = completions
        self._query_space_shared = query_space_shared

    async def _screen(
        self, request: GroundedCompletionRequest, principal: Principal, request_id: str, allowed: AllowList
    ) -> tuple[Publisher, Screened]:
        """400 for a bad routing choice and 403 for a model the organisation may not use, then 403/404 for the
        publisher, then the guard: all before any retrieval."""
        self._completions.check_access(request, allowed)
        publisher = await self._content.publisher_by_name(
            principal.org_id, request.rag_publisher or SHARED_PUBLISHER_NAME
        )
        screened = await self._completions.screen(request, request_id, grounded=True, allowed=allowed)
        return publisher, screened

    async def _prepare(
        self, request: GroundedCompletionRequest, principal: Principal, request_id: str, allowed: AllowList
    ) -> tuple[Publisher, Screened, Grounding]:
        """Screen, then retrieve unless the guard blocked the request."""
        publisher, screened = await self._screen(request, principal, request_id, allowed)
        grounding = _ungrounded(publisher) if screened.blocked else await self._retrieve(request, publisher, screened)
        return publisher, screened, grounding

    async def _retrieve(
        self, request: GroundedCompletionRequest, publisher: Publisher, screened: Screened
    ) -> Grounding:
        messages = list(request.messages)
        question = retrieval_query(messages)
        if not question or is_small_talk(last_user_text(messages)):
            return Grounding(publisher.name, question, [])  # nothing to ground: no sources, none cited
        shared = self._query_space_shared and question == last_user_text(messages).strip()
        passages = await self._content.retrieve(
            publisher,
            question,
            limit=request.sources_limit * _CANDIDATES_PER_SOURCE,
            tradition=request.tradition,
            query_vector=screened.embedding if shared else None,
        )
        return Grounding(publisher.name, question, select_sources(passages, request.sources_limit))

    @staticmethod
    def _sources_message(grounding: Grounding) -> list[ChatMessage]:
        """The delimited sources, given as an extra system message after Homily's guidance (the guard screens
        the caller's messages only, so a passage quoting something hostile cannot block the request)."""
        return [grounding_message(grounding.publisher, grounding.sources)]

    def _extra_fields(self, request: GroundedCompletionRequest, grounding: Grounding) -> dict[str, Any]:
        fields: dict[str, Any] = {"sources_returned": grounding.sources_returned}
        if request.include_citations:
            fields["citations"] = grounding.citations()
        return fields

    def _extractive_allowed(self, exc: HomilyError) -> bool:
        """The extractive answer replaces a model only when no provider is configured at all (DESIGN.md)."""
        return exc.fault == "provider" and not self._completions.has_providers

    async def complete(
        self, request: GroundedCompletionRequest, principal: Principal, request_id: str, allowed: AllowList = None
    ) -> CompletionResult:
        publisher, screened, grounding = await self._prepare(request, principal, request_id, allowed)
        sources = self._sources_message(grounding)
        try:
            result = await self._completions.complete(
                request, request_id, sources, grounded=True, allowed=allowed, screened=screened
            )
        except HomilyError as exc:
            if not self._extractive_allowed(exc):
                raise
            log.warning("no provider is configured (%s); answering extractively", exc.message)
            return await self._extractive(request, grounding)
        if result.guarded:
            grounding = _ungrounded(publisher)
        body = {**result.body, **self._extra_fields(request, grounding)}
        return CompletionResult(
            body=body, headers={**result.headers, **_sources_header(grounding)}, guarded=result.guarded
        )

    async def _extractive(self, request: GroundedCompletionRequest, grounding: Grounding) -> CompletionResult:
        """The answer quoted from the sources; in auto_routing and model_family mode it still reports the request's
        estimated tier, as every response in those modes does (API.md section 2)."""
        text = extractive_answer(grounding.question, grounding.publisher, grounding.sources)
        completion = Completion(
            content=text, tool_calls=[], finish_reason="stop", usage=Usage(completion_tokens=len(text.split()))
        )
        mechanism, _ = resolve_mechanism(request)
        grade = await self._completions.grade(request, grounded=True)
        metadata = {**local_fields(mechanism, request.tradition, grade), **self._extra_fields(request, grounding)}
        body = completion_body(generation_id(), int(time.time()), EXTRACTIVE_MODEL_ID, completion, metadata)
        extractive_headers = local_headers(mechanism, request.tradition, grade, model_id=EXTRACTIVE_MODEL_ID)
        return CompletionResult(body=body, headers={**extractive_headers, **_sources_header(grounding)})

    async def open_stream(
        self, request: GroundedCompletionRequest, principal: Principal, request_id: str, allowed: AllowList = None
    ) -> StreamResult:
        publisher, screened, grounding = await self._prepare(request, principal, request_id, allowed)
        sources = self._sources_message(grounding)
        try:
            stream = await self._completions.open_stream(
                request, request_id, sources, grounded=True, allowed=allowed, screened=screened
            )
        except HomilyError as exc:
            if not self._extractive_allowed(exc):
                raise
            log.warning("no provider is configured (%s); answering extractively", exc.message)
            result = await self._extractive(request, grounding)
            include_usage = bool(request.stream_options and request.stream_options.include_usage)
            prefix = _citations_event(grounding) if request.include_citations else None
            return StreamResult(headers=result.headers, events=_extractive_events(result.body, prefix, include_usage))
        if stream.guarded:  # the guard's own answer: no publisher content, not even in a citations event
            grounding = _ungrounded(publisher)
        prefix = _citations_event(grounding) if request.include_citations and not stream.guarded else None
        headers = {**stream.headers, **_sources_header(grounding)}
        return StreamResult(headers=headers, events=_prefixed(prefix, stream.events), guarded=stream.guarded)


def _ungrounded(publisher: Publisher) -> Grounding:
    """No retrieval: what a request the guard answers itself reports."""
    return Grounding(publisher.name, "", [])


def _sources_header(grounding: Grounding) -> dict[str, str]:
    return {"X-Sources-Returned": _flag(grounding.sources_returned)}


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _citations_event(grounding: Grounding) -> bytes:
    event = {"object": "chat.completion.citations", "citations": grounding.citations()}
    return b"data: " + orjson.dumps(event) + b"\n\n"


async def _prefixed(prefix: bytes | None, events: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if prefix is not None:
        yield prefix
    async for event in events:
        yield event


async def _extractive_events(body: dict[str, Any], prefix: bytes | None, include_usage: bool) -> AsyncIterator[bytes]:
    if prefix is not None:
        yield prefix
    encoder = ChunkEncoder(body["id"], body["created"], EXTRACTIVE_MODEL_ID)
    yield encoder.delta(StreamDelta(content=body["choices"][0]["message"]["content"]))
    yield encoder.delta(StreamDelta(finish_reason="stop"))
    if include_usage:
        yield encoder.usage(body["usage"])
    yield encoder.done()
