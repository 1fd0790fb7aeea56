"""The OpenAI-format adapter shares the upstream client's limits: response size, event size, truncation, reuse."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from homily.errors import ProviderError
from homily.fakes.openai_script import Behaviour
from homily.protocol.chat import ChatMessage
from homily.providers.types import ProviderAdapter, ProviderRequest
from tests.support.upstreams import (
    MODELS,
    OpenAIFakeDriver,
    Outcome,
    assemble,
    run,
    wait_for_connections,
    with_adapter,
)

LIMIT = 64 * 1024
REQUEST = ProviderRequest(model=MODELS["openai"], messages=[ChatMessage(role="user", content="Hello")], max_tokens=64)


@pytest.fixture(scope="module")
def fake() -> Iterator[OpenAIFakeDriver]:
    with OpenAIFakeDriver() as running:
        yield running


def test_a_body_over_the_limit_is_a_provider_error(fake: OpenAIFakeDriver) -> None:
    fake.enqueue(Behaviour(content="x" * (2 * LIMIT)))

    async def use(adapter: ProviderAdapter) -> None:
        await adapter.complete(REQUEST)

    with pytest.raises(ProviderError, match="limit"):
        run(with_adapter("openai", fake.url, use, max_response_bytes=LIMIT))
    assert wait_for_connections(fake) == 0


def test_a_stream_event_over_the_limit_is_a_provider_error(fake: OpenAIFakeDriver) -> None:
    fake.enqueue(Behaviour(content="x" * (2 * LIMIT), chunks=1))

    async def use(adapter: ProviderAdapter) -> None:
        await assemble(adapter.stream(REQUEST))

    with pytest.raises(ProviderError, match="oversized stream event"):
        run(with_adapter("openai", fake.url, use, max_response_bytes=LIMIT))
    assert wait_for_connections(fake) == 0


@pytest.mark.parametrize(
    ("truncate", "message"),
    [("before_finish", "ended the stream before it was complete"), ("mid_event", "cut off inside an event")],
)
def test_a_truncated_stream_is_a_provider_error(fake: OpenAIFakeDriver, truncate: str, message: str) -> None:
    fake.enqueue(Behaviour(content="Grace and peace", truncate=truncate))  # type: ignore[arg-type]

    async def use(adapter: ProviderAdapter) -> None:
        await assemble(adapter.stream(REQUEST))

    with pytest.raises(ProviderError, match=message):
        run(with_adapter("openai", fake.url, use))


def test_a_stream_that_ends_without_done_after_its_finish_reason_is_complete(fake: OpenAIFakeDriver) -> None:
    fake.enqueue(Behaviour(content="Grace and peace", truncate="no_done"))

    async def use(adapter: ProviderAdapter) -> Outcome:
        return (await assemble(adapter.stream(REQUEST))).outcome()

    answer = run(with_adapter("openai", fake.url, use))
    assert (answer.content, answer.finish_reason, answer.completion_tokens) == ("Grace and peace", "stop", 3)


def test_streams_end_at_done_and_keep_their_connection(fake: OpenAIFakeDriver) -> None:
    fake.enqueue(Behaviour(content="Grace and peace"), Behaviour(content="to you all"))

    async def use(adapter: ProviderAdapter) -> tuple[list[str | None], int]:
        first = await assemble(adapter.stream(REQUEST))
        second = await assemble(adapter.stream(REQUEST))
        # Read to its end after [DONE], the first stream's connection went back to the pool for the second.
        return [first.outcome().content, second.outcome().content], fake.stats().open_connections

    contents, open_connections = run(with_adapter("openai", fake.url, use))
    assert contents == ["Grace and peace", "to you all"]
    assert open_connections == 1
    assert wait_for_connections(fake) == 0


def test_a_request_body_over_a_mebibyte_is_sent(fake: OpenAIFakeDriver) -> None:
    """A long conversation (here 1.5 MB of JSON) goes upstream streamed from memory, not as one raw write, which
    aiohttp warns against (and the test suite turns warnings into errors)."""
    big = ProviderRequest(
        model=MODELS["openai"], messages=[ChatMessage(role="user", content="word " * 300_000)], max_tokens=64
    )

    async def use(adapter: ProviderAdapter) -> str | None:
        return (await adapter.complete(big)).content

    assert run(with_adapter("openai", fake.url, use))
