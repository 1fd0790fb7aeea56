"""Fault injection against the fake upstreams, through retries, circuit breakers and fallback.

Every fault has a stated expected outcome: the fallback model answers (the fault happened before the first byte),
the stream fails mid-way with an in-band error and no fallback (bytes had been delivered), or, with no fallback
left, a specific error code and status. Sockets opened for each scenario must all be closed afterwards.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from homily.errors import (
    EmptyCompletionError,
    HomilyError,
    InvalidRequestError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from homily.fakes.script import Reply
from homily.fakes.server import FakeUpstream
from homily.protocol.chat import ChatMessage, Tool
from homily.providers.circuit import CircuitBreaker, CircuitState
from homily.providers.errors import UpstreamServerError
from homily.providers.fallback import Candidate, FallbackExecutor
from homily.providers.http import new_session
from homily.providers.retry import Retrier, RetryPolicy
from homily.providers.types import Completion, ProviderRequest, StreamDelta
from tests.support.clock import Clock
from tests.support.upstreams import (
    BACKUP_MODELS,
    FACTORIES,
    FAKES,
    MODELS,
    SHORT,
    assemble,
    drain,
    run,
    wait_for_connections,
)

PROVIDERS = sorted(FAKES)
LIMIT = 256 * 1024
TEXT = "Grace and peace to you all, in every season."
MID_STREAM = {"anthropic": 4, "google": 2}
"""Wire events to send before a mid-stream fault: enough that text has reached the caller."""


def no_retries() -> Retrier:
    return Retrier(RetryPolicy(max_attempts=1))


# ----- fault injection against the fakes -----


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, FakeUpstream]]:
    with ExitStack() as stack:
        yield {provider: stack.enter_context(FAKES[provider]()) for provider in PROVIDERS}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def client_sockets(port: int) -> int:
    """TCP sockets of this host connected to `port` that still hold resources (not TIME_WAIT/CLOSE)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port and fields[3] not in {"06", "07"}:
                count += 1
    return count


@dataclass(frozen=True)
class Fault:
    name: str
    reply: Reply | None
    """Scripted on the primary; None means the primary's port refuses connections."""
    error: type[HomilyError]
    status: int
    code: int
    streams_only: bool = False


BEFORE_FIRST_BYTE = [
    Fault("http_500", Reply(status=500, error_message="internal"), UpstreamServerError, 502, 2003),
    Fault("http_429_retry_after", Reply(status=429, retry_after="7"), ProviderUnavailableError, 503, 2002),
    Fault("connection_refused", None, ProviderUnavailableError, 503, 2002),
    Fault("hang_before_headers", Reply(delay_before_headers=30), ProviderTimeoutError, 408, 2001),
    Fault("malformed_json", Reply(malformed_json=True), ProviderError, 502, 2003),
    Fault("oversized_body", Reply(text=TEXT, oversized_bytes=2 * LIMIT), ProviderError, 502, 2003),
    Fault("truncated_before_output", Reply(text=TEXT, truncate_after_events=0), ProviderError, 502, 2003, True),
]


def candidates_for(
    provider: str, fake: FakeUpstream, session_factory: list[object], fault: Fault | None, *, with_backup: bool
) -> list[Candidate]:
    session = new_session(SHORT, max_connections=8)
    session_factory.append(session)
    primary_url = fake.url if fault is None or fault.reply is not None else f"http://127.0.0.1:{closed_port()}"
    chain = [Candidate(MODELS[provider], FACTORIES[provider](session, primary_url, SHORT, LIMIT))]
    if with_backup:
        chain.append(Candidate(BACKUP_MODELS[provider], FACTORIES[provider](session, fake.url, SHORT, LIMIT)))
    return chain


def request(provider: str) -> ProviderRequest:
    return ProviderRequest(model=MODELS[provider], messages=[ChatMessage(role="user", content="Bless this day")])


async def execute(
    provider: str, fake: FakeUpstream, fault: Fault, *, streamed: bool, with_backup: bool
) -> tuple[str, object]:
    """Run the request along the chain; return (catalog id that answered, outcome) or ("", error)."""
    sessions: list[object] = []
    chain = candidates_for(provider, fake, sessions, fault, with_backup=with_backup)
    executor = FallbackExecutor(no_retries())
    try:
        if streamed:
            answered_stream = await executor.stream(request(provider), chain)
            assembly = await assemble(answered_stream.result)
            return answered_stream.model.catalog_id, assembly.outcome().content
        answered = await executor.complete(request(provider), chain)
        return answered.model.catalog_id, answered.result.content
    except HomilyError as error:
        await assert_no_leaked_connection(provider, fake, sessions[0])
        return "", error
    finally:
        for session in sessions:
            await session.close()  # type: ignore[attr-defined]


async def assert_no_leaked_connection(provider: str, fake: FakeUpstream, session: object) -> None:
    """After a failed exchange, with the session still alive, its socket is either closed or back in the pool idle.

    A leaked (still acquired, half-read) connection would force the follow-up request onto a second socket.
    """
    fake.push(Reply(text="follow-up"))
    probe = FACTORIES[provider](session, fake.url, SHORT, LIMIT)  # type: ignore[arg-type]
    assert (await probe.complete(request(provider))).content == "follow-up"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5.0
    # Polling another thread's server state: there is no event to wait on.
    while fake.open_connections > 1 and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    assert fake.open_connections <= 1, "a failed exchange left its connection acquired"


def assert_sockets_released(fake: FakeUpstream) -> None:
    assert wait_for_connections(fake) == 0
    assert client_sockets(fake.port) == 0


@pytest.mark.parametrize("streamed", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("fault", BEFORE_FIRST_BYTE, ids=[f.name for f in BEFORE_FIRST_BYTE])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_fault_before_first_byte_falls_back(
    fakes: dict[str, FakeUpstream], provider: str, fault: Fault, streamed: bool
) -> None:
    if fault.streams_only and not streamed:
        pytest.skip("a stream-only fault")
    fake = fakes[provider]
    fake.script.clear()
    if fault.reply is not None:
        fake.push(fault.reply)
    fake.push(Reply(text=TEXT))
    model, content = run(execute(provider, fake, fault, streamed=streamed, with_backup=True))
    assert (model, content) == (BACKUP_MODELS[provider].catalog_id, TEXT)
    assert fake.requests[-1].body["model" if provider == "anthropic" else "contents"] is not None
    assert_sockets_released(fake)


@pytest.mark.parametrize("streamed", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("fault", BEFORE_FIRST_BYTE, ids=[f.name for f in BEFORE_FIRST_BYTE])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_fault_without_fallback_gives_its_error(
    fakes: dict[str, FakeUpstream], provider: str, fault: Fault, streamed: bool
) -> None:
    if fault.streams_only and not streamed:
        pytest.skip("a stream-only fault")
    fake = fakes[provider]
    fake.script.clear()
    if fault.reply is not None:
        fake.push(fault.reply)
    model, error = run(execute(provider, fake, fault, streamed=streamed, with_backup=False))
    assert model == ""
    assert isinstance(error, fault.error)
    assert (error.status, error.code) == (fault.status, fault.code)
    if fault.name == "http_429_retry_after":
        assert error.headers["Retry-After"] == "7"
    assert_sockets_released(fake)


MID_STREAM_FAULTS: list[tuple[str, Callable[[int], Reply], type[HomilyError]]] = [
    ("hang_mid_stream", lambda n: Reply(text=TEXT, hang_after_events=n), ProviderTimeoutError),
    ("abort_mid_stream", lambda n: Reply(text=TEXT, abort_after_events=n), ProviderError),
    ("truncated_mid_stream", lambda n: Reply(text=TEXT, truncate_after_events=n), ProviderError),
]


@pytest.mark.parametrize(("name", "fault", "error_type"), MID_STREAM_FAULTS, ids=[f[0] for f in MID_STREAM_FAULTS])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_fault_after_first_byte_is_in_band_and_never_falls_back(
    fakes: dict[str, FakeUpstream],
    provider: str,
    name: str,
    fault: Callable[[int], Reply],
    error_type: type[HomilyError],
) -> None:
    fake = fakes[provider]
    fake.script.clear()
    fake.push(fault(MID_STREAM[provider]))
    before = len(fake.requests)
    breaker = CircuitBreaker(provider, failure_threshold=1)

    async def scenario() -> tuple[str, list[StreamDelta], HomilyError | None]:
        session = new_session(SHORT, max_connections=8)
        try:
            chain = [
                Candidate(MODELS[provider], FACTORIES[provider](session, fake.url, SHORT, LIMIT), breaker),
                Candidate(BACKUP_MODELS[provider], FACTORIES[provider](session, fake.url, SHORT, LIMIT)),
            ]
            answered = await FallbackExecutor(no_retries()).stream(request(provider), chain)
            deltas, error = await drain(answered.result)
            await assert_no_leaked_connection(provider, fake, session)
            return answered.model.catalog_id, deltas, error
        finally:
            await session.close()

    model, deltas, error = run(scenario())
    assert model == MODELS[provider].catalog_id
    assert TEXT.startswith("".join(d.content or "" for d in deltas))
    assert deltas, "some text reached the caller before the fault"
    assert isinstance(error, error_type), name
    assert len(fake.requests) - before == 2, "no retry or fallback after the first byte (just the probe)"
    assert breaker.state is CircuitState.OPEN, "a mid-stream failure still counts against the upstream"
    assert_sockets_released(fake)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_retry_honours_retry_after_then_the_primary_answers(fakes: dict[str, FakeUpstream], provider: str) -> None:
    fake = fakes[provider]
    fake.script.clear()
    fake.push(Reply(status=429, retry_after="2"), Reply(status=503), Reply(text=TEXT))
    clock = Clock()
    retrier = Retrier(RetryPolicy(max_attempts=3, base_delay=0.01), sleep=clock.sleep, clock=clock)

    async def scenario() -> tuple[str, Completion]:
        session = new_session(SHORT, max_connections=8)
        try:
            chain = [
                Candidate(MODELS[provider], FACTORIES[provider](session, fake.url, SHORT, LIMIT)),
                Candidate(BACKUP_MODELS[provider], FACTORIES[provider](session, fake.url, SHORT, LIMIT)),
            ]
            answered = await FallbackExecutor(retrier).complete(request(provider), chain)
            return answered.model.catalog_id, answered.result
        finally:
            await session.close()

    model, completion = run(scenario())
    assert (model, completion.content) == (MODELS[provider].catalog_id, TEXT)
    assert clock.sleeps[0] >= 2.0
    assert len(clock.sleeps) == 2
    assert_sockets_released(fake)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_open_circuit_skips_the_upstream_and_tools_skip_toolless_models(
    fakes: dict[str, FakeUpstream], provider: str
) -> None:
    fake = fakes[provider]
    fake.script.clear()
    fake.push(Reply(status=500), Reply(text="from backup"), Reply(text="from backup again"))
    breaker = CircuitBreaker(provider, failure_threshold=1, reset_timeout=3600)
    tool = Tool.model_validate({"type": "function", "function": {"name": "noop"}})

    async def scenario() -> list[str]:
        session = new_session(SHORT, max_connections=8)
        try:
            primary = Candidate(MODELS[provider], FACTORIES[provider](session, fake.url, SHORT, LIMIT), breaker)
            backup = Candidate(BACKUP_MODELS[provider], FACTORIES[provider](session, fake.url, SHORT, LIMIT))
            executor = FallbackExecutor(no_retries())
            first = await executor.complete(request(provider), [primary, backup])
            second = await executor.complete(request(provider), [primary, backup])
            toolless = Candidate(dataclasses.replace(MODELS[provider], supports_tools=False), primary.adapter)
            with_tools = ProviderRequest(model=MODELS[provider], messages=request(provider).messages, tools=[tool])
            with pytest.raises(InvalidRequestError):
                await executor.complete(with_tools, [toolless])
            return [s.reason for s in first.skipped] + [s.reason for s in second.skipped]
        finally:
            await session.close()

    before = len(fake.requests)
    reasons = run(scenario())
    assert reasons == ["PROVIDER_ERROR", "circuit_open"]
    assert len(fake.requests) - before == 3, "the open circuit kept the second request away from the primary"
    assert not breaker.is_available()


@pytest.mark.parametrize("streamed", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_rejected_request_neither_falls_back_nor_counts_against_the_circuit(
    fakes: dict[str, FakeUpstream], provider: str, *, streamed: bool
) -> None:
    """An upstream 400 is the client's request, not the upstream's health; the backup would refuse it too."""
    fake = fakes[provider]
    fake.script.clear()
    fake.push(Reply(status=400, error_message="the request is invalid"), Reply(text="from backup"))
    breaker = CircuitBreaker(provider, failure_threshold=1, reset_timeout=3600)

    async def scenario() -> HomilyError:
        session = new_session(SHORT, max_connections=8)
        try:
            chain = [
                Candidate(MODELS[provider], FACTORIES[provider](session, fake.url, SHORT, LIMIT), breaker),
                Candidate(BACKUP_MODELS[provider], FACTORIES[provider](session, fake.url, SHORT, LIMIT)),
            ]
            executor = FallbackExecutor(Retrier(RetryPolicy(max_attempts=3, base_delay=0.0)))
            with pytest.raises(InvalidRequestError) as caught:
                await (executor.stream if streamed else executor.complete)(request(provider), chain)
            return caught.value
        finally:
            await session.close()

    before = len(fake.requests)
    error = run(scenario())
    assert "the request is invalid" in error.message
    assert len(fake.requests) - before == 1, "neither retried nor sent to the backup"
    assert breaker.state is CircuitState.CLOSED
    fake.script.clear()


def test_all_circuits_open_is_unavailable() -> None:
    breaker = CircuitBreaker("x", failure_threshold=1)
    breaker.record_failure()

    async def scenario() -> None:
        session = new_session(SHORT, max_connections=1)
        try:
            adapter = FACTORIES["google"](session, "http://127.0.0.1:9", SHORT, LIMIT)
            await FallbackExecutor().complete(request("google"), [Candidate(MODELS["google"], adapter, breaker)])
        finally:
            await session.close()

    with pytest.raises(ProviderUnavailableError, match="circuit_open"):
        run(scenario())


@pytest.mark.parametrize("streamed", [False, True], ids=["complete", "stream"])
def test_reasoning_spent_on_thinking_falls_back_across_providers(
    fakes: dict[str, FakeUpstream], streamed: bool
) -> None:
    """All of max_tokens spent thinking is 503/2006 on its own, and another provider's model answers instead."""
    thinking_only = Reply(text=None, thinking="Let me weigh every council... " * 20, finish="length")
    anthropic, google = fakes["anthropic"], fakes["google"]
    breaker = CircuitBreaker("anthropic", failure_threshold=1)

    async def scenario(with_backup: bool) -> tuple[str, object]:
        session = new_session(SHORT, max_connections=8)
        try:
            chain = [
                Candidate(MODELS["anthropic"], FACTORIES["anthropic"](session, anthropic.url, SHORT, LIMIT), breaker)
            ]
            if with_backup:
                chain.append(Candidate(MODELS["google"], FACTORIES["google"](session, google.url, SHORT, LIMIT)))
            executor = FallbackExecutor(no_retries())
            if streamed:
                opened = await executor.stream(request("anthropic"), chain)
                return opened.model.catalog_id, (await assemble(opened.result)).outcome().content
            answered = await executor.complete(request("anthropic"), chain)
            return answered.model.catalog_id, answered.result.content
        except HomilyError as error:
            return "", error
        finally:
            await session.close()

    anthropic.script.clear()
    google.script.clear()
    anthropic.push(thinking_only, thinking_only)
    google.push(Reply(text=TEXT))
    assert run(scenario(with_backup=True)) == (MODELS["google"].catalog_id, TEXT)
    model, error = run(scenario(with_backup=False))
    assert model == ""
    assert isinstance(error, EmptyCompletionError)
    assert (error.status, error.code) == (503, 2006)
    assert breaker.state is CircuitState.CLOSED, "an empty answer is not an unhealthy upstream"
