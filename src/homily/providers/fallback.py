"""Trying an ordered chain of models until one answers, before anything reached the client.

Wiring (the completion service): build one `Candidate` per model of the routing decision, in order (chosen
model first, then its fallbacks), each with its family's adapter and that upstream's breaker
(`CircuitBreakers.get(provider)`); then, with one `FallbackExecutor` for the app:

    answered = await executor.complete(request, candidates)  # answered.model: the catalog model that answered
    opened = await executor.stream(request, candidates)      # opened.result: async generator of the deltas

`request.model` is replaced by each candidate's model in turn. `stream` returns only once the first delta is in
hand, so HTTP errors and fallbacks stay possible until then; after that, errors surface while iterating
`opened.result` (send them in-band). Iterate that generator to its end, or `aclose()` it when the client goes
away: either way the upstream connection is released at once.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from homily.errors import (
    EmptyCompletionError,
    HomilyError,
    InvalidRequestError,
    ProviderUnavailableError,
)
from homily.providers.circuit import CircuitBreaker
from homily.providers.retry import Retrier
from homily.providers.types import Completion, ProviderAdapter, ProviderRequest, StreamDelta, UpstreamModel

log = logging.getLogger("homily.providers.fallback")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One model the request may go to, the adapter that speaks its upstream, and that upstream's breaker."""

    model: UpstreamModel
    adapter: ProviderAdapter
    breaker: CircuitBreaker | None = None


@dataclass(frozen=True, slots=True)
class Skipped:
    """A candidate that did not answer: `reason` is an error name (`PROVIDER_TIMEOUT`…), `circuit_open`
    or `no_tools`."""

    catalog_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Answered(Generic[T]):
    """The result and the catalog model that produced it (what the response's `model` must name)."""

    model: UpstreamModel
    result: T
    skipped: tuple[Skipped, ...] = ()

    @property
    def fell_back(self) -> bool:
        return bool(self.skipped)


class FallbackExecutor:
    """Runs a request along its candidate chain with per-upstream retries and circuit breakers.

    Invariants: a candidate is tried only if its breaker admits it and, when the request has tools, its model
    supports tools; only provider faults (timeouts, unavailable, upstream errors, empty completions) move on
    to the next candidate, while client errors end the chain at once and say nothing about the upstream's
    health (an upstream's 400 for the client's request included, see `homily.providers.errors`: the next model
    would refuse it too); nothing is retried or re-routed after a stream's first delta was handed out. Memory
    per call is bounded by the number of candidates.
    """

    def __init__(self, retrier: Retrier | None = None) -> None:
        self.retrier = retrier or Retrier()

    async def complete(self, request: ProviderRequest, candidates: Sequence[Candidate]) -> Answered[Completion]:
        async def run(candidate: Candidate, routed: ProviderRequest) -> Completion:
            return await self.retrier.call(lambda: candidate.adapter.complete(routed))

        return await self._along_chain(request, candidates, run)

    async def stream(
        self, request: ProviderRequest, candidates: Sequence[Candidate]
    ) -> Answered[AsyncGenerator[StreamDelta, None]]:
        async def run(candidate: Candidate, routed: ProviderRequest) -> AsyncGenerator[StreamDelta, None]:
            first, rest = await self.retrier.open_stream(lambda: candidate.adapter.stream(routed))
            return _committed(first, rest, candidate.breaker)

        return await self._along_chain(request, candidates, run)

    async def _along_chain(
        self,
        request: ProviderRequest,
        candidates: Sequence[Candidate],
        run: Callable[[Candidate, ProviderRequest], Awaitable[T]],
    ) -> Answered[T]:
        skipped: list[Skipped] = []
        first_error: HomilyError | None = None
        for candidate in candidates:
            reason = _refusal(request, candidate)
            if reason is not None:
                skipped.append(Skipped(candidate.model.catalog_id, reason))
                continue
            routed = dataclasses.replace(request, model=candidate.model)
            try:
                result = await run(candidate, routed)
            except HomilyError as error:
                _record(candidate.breaker, error)
                if error.fault != "provider":
                    raise
                log.warning(
                    "candidate failed",
                    extra={
                        "model": candidate.model.catalog_id,
                        "error_name": error.name,
                        "error_message": error.message,
                    },
                )
                skipped.append(Skipped(candidate.model.catalog_id, error.name))
                first_error = first_error or error
                continue
            except BaseException:
                if candidate.breaker is not None:
                    candidate.breaker.release_probe()
                raise
            if candidate.breaker is not None:
                candidate.breaker.record_success()
            return Answered(candidate.model, result, tuple(skipped))
        raise _exhausted(first_error, skipped)


def _refusal(request: ProviderRequest, candidate: Candidate) -> str | None:
    if request.tools and not candidate.model.supports_tools:
        return "no_tools"
    if candidate.breaker is not None and not candidate.breaker.allow_request():
        return "circuit_open"
    return None


def _record(breaker: CircuitBreaker | None, error: HomilyError) -> None:
    if breaker is None:
        return
    if isinstance(error, EmptyCompletionError):
        breaker.record_success()  # the upstream answered; the model just produced nothing usable
    elif error.fault == "provider":
        breaker.record_failure()
    else:  # the client's fault: neither a failure nor a success of the upstream
        breaker.release_probe()


def _exhausted(first_error: HomilyError | None, skipped: list[Skipped]) -> HomilyError:
    if first_error is not None:
        return first_error
    if skipped and all(s.reason == "no_tools" for s in skipped):
        return InvalidRequestError(
            "The selected model cannot call tools; remove `tools` or choose another model.", param="tools"
        )
    names = ", ".join(f"{s.catalog_id} ({s.reason})" for s in skipped) or "none configured"
    return ProviderUnavailableError(f"No upstream model is available right now: {names}.")


async def _committed(
    first: StreamDelta, rest: AsyncIterator[StreamDelta], breaker: CircuitBreaker | None
) -> AsyncGenerator[StreamDelta, None]:
    """The stream after its first delta: errors now surface to the caller (in-band), and count against the
    breaker."""
    try:
        yield first
        async for delta in rest:
            yield delta
    except HomilyError as error:
        _record(breaker, error)
        raise
    finally:
        close = getattr(rest, "aclose", None)
        if close is not None:
            await close()
