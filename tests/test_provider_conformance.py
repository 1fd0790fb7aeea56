"""One suite, every adapter: the same OpenAI-format conversations must give the same OpenAI-format results.

Each case states the answer the fake upstream is scripted to give (provider-neutrally), the OpenAI-format outcome
every adapter must return, and what every upstream must have been asked, in a provider-neutral view of the wire
request. Adding a provider is one entry in `tests.support.upstreams.FACTORIES`/`CONFORMANCE_FAKES` and in `neutral`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import Any

import orjson
import pytest

from homily.fakes.script import FakeToolCall, Reply
from homily.protocol.chat import ChatMessage, Tool, ToolChoice
from homily.providers.types import ProviderAdapter, ProviderRequest
from tests.support.upstreams import (
    CONFORMANCE_FAKES,
    MODELS,
    ConformanceFake,
    NeutralRequest,
    Outcome,
    assemble,
    last_body,
    neutral,
    outcome,
    run,
    wait_for_connections,
    with_adapter,
)

PROVIDERS = sorted(CONFORMANCE_FAKES)

WEATHER = Tool.model_validate(
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
)
CLOCK = Tool.model_validate(
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "Local time in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "tz": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
)
TOOLS = [WEATHER, CLOCK]
PARALLEL = (
    FakeToolCall("get_weather", '{"city": "Paris"}'),
    FakeToolCall("get_time", '{"city": "Paris", "tz": "Europe/Paris"}'),
)
PARALLEL_OUT = (("get_weather", {"city": "Paris"}), ("get_time", {"city": "Paris", "tz": "Europe/Paris"}))


def message(role: str, content: str | None = None, **extra: Any) -> ChatMessage:
    return ChatMessage.model_validate({"role": role, "content": content, **extra})


@dataclass(frozen=True)
class Case:
    name: str
    messages: list[ChatMessage]
    reply: Reply
    expected: Outcome
    asked: NeutralRequest
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None


def tool_choice_case(choice: ToolChoice, label: str, reply: Reply, expected: Outcome) -> Case:
    return Case(
        name=f"tool_choice_{label}",
        messages=[message("user", "What time is it in Paris?")],
        tools=TOOLS,
        tool_choice=choice,
        reply=reply,
        expected=expected,
        asked=NeutralRequest(
            "",
            (("user", (("text", "What time is it in Paris?"),)),),
            ("get_weather", "get_time"),
            label.replace("named", "named:get_time"),
        ),
    )


TIME_CALL = Reply(text=None, tool_calls=(FakeToolCall("get_time", '{"city": "Paris"}'),))
TIME_OUT = Outcome(None, (("get_time", {"city": "Paris"}),), "tool_calls", 12, 7)

CASES = [
    Case(
        name="plain_text",
        messages=[message("user", "What is grace?")],
        reply=Reply(text="Grace is favour we did not earn."),
        expected=Outcome("Grace is favour we did not earn.", (), "stop", 12, 7),
        asked=NeutralRequest("", (("user", (("text", "What is grace?"),)),), (), "default"),
    ),
    Case(
        name="multi_turn_with_system",
        messages=[
            message("system", "You are a kind pastor."),
            message("user", "Hello."),
            message("assistant", "Peace be with you."),
            message("developer", "Answer in one sentence."),
            message("user", "Pray for my exam?"),
        ],
        reply=Reply(text="Lord, grant calm and a clear mind.", prompt_tokens=40, completion_tokens=9),
        expected=Outcome("Lord, grant calm and a clear mind.", (), "stop", 40, 9),
        asked=NeutralRequest(
            "You are a kind pastor.\n\nAnswer in one sentence.",
            (
                ("user", (("text", "Hello."),)),
                ("assistant", (("text", "Peace be with you."),)),
                ("user", (("text", "Pray for my exam?"),)),
            ),
            (),
            "default",
        ),
    ),
    Case(
        name="parallel_tool_calls",
        messages=[message("user", "Weather and time in Paris?")],
        tools=TOOLS,
        reply=Reply(text="Let me check both.", tool_calls=PARALLEL),
        expected=Outcome("Let me check both.", PARALLEL_OUT, "tool_calls", 12, 7),
        asked=NeutralRequest(
            "", (("user", (("text", "Weather and time in Paris?"),)),), ("get_weather", "get_time"), "default"
        ),
    ),
    Case(
        name="tool_results_fed_back",
        messages=[
            message("system", "Be brief."),
            message("user", "Weather and time in Paris?"),
            message(
                "assistant",
                None,
                tool_calls=[
                    {
                        "id": "call_w",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {
                        "id": "call_t",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": '{"city": "Paris", "tz": "Europe/Paris"}'},
                    },
                ],
            ),
            message("tool", '{"celsius": 18, "sky": "clear"}', tool_call_id="call_w"),
            message("tool", "14:05", tool_call_id="call_t"),
        ],
        tools=TOOLS,
        tool_choice="auto",
        reply=Reply(text="It is 18°C and clear, and 14:05 in Paris.", prompt_tokens=90, completion_tokens=15),
        expected=Outcome("It is 18°C and clear, and 14:05 in Paris.", (), "stop", 90, 15),
        asked=NeutralRequest(
            "Be brief.",
            (
                ("user", (("text", "Weather and time in Paris?"),)),
                ("assistant", (("call", *PARALLEL_OUT[0]), ("call", *PARALLEL_OUT[1]))),
                ("user", (("result", "get_weather", {"celsius": 18, "sky": "clear"}), ("result", "get_time", "14:05"))),
            ),
            ("get_weather", "get_time"),
            "auto",
        ),
    ),
    tool_choice_case(
        "none", "none", Reply(text="I cannot look that up."), Outcome("I cannot look that up.", (), "stop", 12, 7)
    ),
    tool_choice_case("auto", "auto", TIME_CALL, TIME_OUT),
    tool_choice_case("required", "required", TIME_CALL, TIME_OUT),
    tool_choice_case(
        {"type": "function", "function": {"name": "get_time"}},  # type: ignore[arg-type]
        "named",
        TIME_CALL,
        TIME_OUT,
    ),
    Case(
        name="length_limited",
        messages=[message("user", "Tell me everything about Augustine.")],
        reply=Reply(text="Augustine of Hippo was", finish="length"),
        expected=Outcome("Augustine of Hippo was", (), "length", 12, 7),
        asked=NeutralRequest("", (("user", (("text", "Tell me everything about Augustine."),)),), (), "default"),
    ),
]


def request_for(provider: str, case: Case) -> ProviderRequest:
    choice = case.tool_choice
    if isinstance(choice, dict):
        from homily.protocol.chat import NamedToolChoice

        choice = NamedToolChoice.model_validate(choice)
    return ProviderRequest(
        model=MODELS[provider], messages=case.messages, tools=case.tools, tool_choice=choice, max_tokens=256
    )


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, ConformanceFake]]:
    with ExitStack() as stack:
        running: dict[str, ConformanceFake] = {}
        for provider in PROVIDERS:
            fake = CONFORMANCE_FAKES[provider]()
            stack.enter_context(fake)  # both kinds of fake return themselves
            running[provider] = fake
        yield running


@pytest.mark.parametrize("streamed", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_same_conversation_same_result(
    fakes: dict[str, ConformanceFake], provider: str, case: Case, streamed: bool
) -> None:
    fake = fakes[provider]
    fake.push(case.reply)

    async def use(adapter: ProviderAdapter) -> Outcome:
        request = request_for(provider, case)
        if not streamed:
            completion = await adapter.complete(request)
            assert len({call.id for call in completion.tool_calls}) == len(completion.tool_calls)
            assert all(call.id for call in completion.tool_calls)
            return outcome(completion)
        assembly = await assemble(adapter.stream(request))
        assert len(set(assembly.ids.values())) == len(assembly.ids)
        return assembly.outcome()

    result = run(with_adapter(provider, fake.url, use))
    assert result == case.expected
    assert neutral(provider, last_body(fake)) == case.asked
    assert wait_for_connections(fake) == 0


@pytest.mark.parametrize("provider", PROVIDERS)
def test_streamed_tool_arguments_arrive_whole_and_in_order(fakes: dict[str, ConformanceFake], provider: str) -> None:
    """Long arguments split into many fragments (Anthropic) or sent whole (Gemini) reassemble exactly."""
    fake = fakes[provider]
    long_city = "Saint-Rémy-de-Provence " * 20
    calls = (
        FakeToolCall("get_weather", orjson.dumps({"city": long_city}).decode()),
        FakeToolCall("get_time", '{"city": "Nîmes", "tz": "Europe/Paris"}'),
        FakeToolCall("get_weather", '{"city": "Arles"}'),
    )
    fake.push(replace(Reply(text=None, tool_calls=calls), chunk_chars=5))
    case = CASES[2]

    async def use(adapter: ProviderAdapter) -> Any:
        return await assemble(adapter.stream(request_for(provider, case)))

    assembly = run(with_adapter(provider, fake.url, use))
    assert assembly.outcome().tool_calls == (
        ("get_weather", {"city": long_city}),
        ("get_time", {"city": "Nîmes", "tz": "Europe/Paris"}),
        ("get_weather", {"city": "Arles"}),
    )
    assert assembly.finish_reason == "tool_calls"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_returned_tool_call_ids_route_results_back(fakes: dict[str, ConformanceFake], provider: str) -> None:
    """The ids an adapter hands out are the ids it accepts back in `tool` messages (Gemini's are synthesised)."""
    fake = fakes[provider]
    fake.push(Reply(text=None, tool_calls=PARALLEL), Reply(text="Done."))
    first = request_for(provider, CASES[2])

    async def use(adapter: ProviderAdapter) -> Any:
        completion = await adapter.complete(first)
        history = [
            *first.messages,
            message(
                "assistant",
                None,
                tool_calls=[
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                    for c in completion.tool_calls
                ],
            ),
            *(message("tool", f"result {i}", tool_call_id=c.id) for i, c in enumerate(reversed(completion.tool_calls))),
        ]
        return await adapter.complete(replace(first, messages=history))

    answer = run(with_adapter(provider, fake.url, use))
    assert answer.content == "Done."
    last_turn = neutral(provider, last_body(fake)).turns[-1]
    assert last_turn == ("user", (("result", "get_time", "result 0"), ("result", "get_weather", "result 1")))
