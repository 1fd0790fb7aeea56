"""API.md sections 2, 5, 6 and 7 for `POST /ai/v2/chat/completions` (non-streaming)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from homily.catalog.loader import load_catalog
from homily.fakes.openai_script import Behaviour, FakeToolCall
from homily.fakes.openai_upstream import FakeOpenAIUpstream
from tests.support.http import assert_envelope, auth_headers, post_completion
from tests.support.live import LiveHomily

USER = [{"role": "user", "content": "What does Psalm 23 say about fear?"}]
SEED_V2_BODIES = [
    {"messages": USER, "auto_routing": True},
    {"messages": USER, "model_family": "openai"},
    {"messages": USER, "model": "gloo-openai-gpt-5-mini"},
]


@pytest.fixture(scope="module")
def token(homily: LiveHomily) -> str:
    return homily.token()


def complete(homily: LiveHomily, token: str, body: Any) -> httpx.Response:
    return post_completion(homily, token, body)


# The Grounded Completions seed's response example, field for field.
SEED_TOP_LEVEL = {"id", "choices", "created", "model", "object", "service_tier", "system_fingerprint", "usage"}
SEED_CHOICE = {"finish_reason", "index", "logprobs", "message", "native_finish_reason"}
SEED_MESSAGE = {"content", "refusal", "role", "annotations", "audio", "function_call", "tool_calls", "reasoning"}
SEED_USAGE_DETAILS = {
    "completion_tokens_details": {
        "accepted_prediction_tokens",
        "audio_tokens",
        "reasoning_tokens",
        "rejected_prediction_tokens",
    },
    "prompt_tokens_details": {"audio_tokens", "cached_tokens"},
}


@pytest.mark.parametrize("body", SEED_V2_BODIES, ids=["auto_routing", "model_family", "model"])
def test_response_has_the_seed_example_fields(homily: LiveHomily, token: str, body: Any) -> None:
    data = complete(homily, token, body).json()
    assert set(data) >= SEED_TOP_LEVEL | {"provider", "model_family", "auto_routing", "routing_mechanism"}
    choice = data["choices"][0]
    assert set(choice) >= SEED_CHOICE
    assert set(choice["message"]) >= SEED_MESSAGE
    assert choice["logprobs"] is None
    assert choice["message"]["refusal"] is None
    assert choice["native_finish_reason"] == choice["finish_reason"]
    assert {name: set(data["usage"][name]) for name in SEED_USAGE_DETAILS} == SEED_USAGE_DETAILS


@pytest.mark.parametrize("body", SEED_V2_BODIES, ids=["auto_routing", "model_family", "model"])
def test_seed_request_bodies_succeed(homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream, body: Any) -> None:
    response = complete(homily, token, body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert re.fullmatch(r"gen-\d+-[A-Za-z0-9]{20}", data["id"])
    assert data["object"] == "chat.completion"
    assert data["provider"] == "Gloo AI"
    assert data["choices"][0]["message"]["role"] == "assistant"
    assert data["choices"][0]["finish_reason"] == "stop"
    assert set(data["usage"]) >= {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert "tradition" not in data


def test_auto_routing_reports_tier_confidence_and_headers(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream
) -> None:
    response = complete(homily, token, {"messages": [{"role": "user", "content": "Hi!"}], "auto_routing": True})
    data = response.json()
    assert data["auto_routing"] is True
    assert data["routing_mechanism"] == "auto_routing"
    assert data["routing_tier"] == "tier_1"
    assert 0.0 <= data["routing_confidence"] <= 1.0
    assert data["model_family"] in {"OpenAI", "Open Source"}
    assert response.headers["x-routing-mechanism"] == "auto_routing"
    assert response.headers["x-selected-model"] == data["model"]
    assert response.headers["x-routing-tier"] == "tier_1"
    assert float(response.headers["x-routing-confidence"]) == pytest.approx(data["routing_confidence"], abs=1e-3)


@pytest.mark.parametrize(
    "family", ["openai", "OpenAI", "OPENAI", "open source", "open_source", "open-source", "Open Source"]
)
def test_model_family_is_case_insensitive_with_aliases(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream, family: str
) -> None:
    data = complete(homily, token, {"messages": USER, "model_family": family}).json()
    expected = "OpenAI" if "openai" in family.lower() else "Open Source"
    assert data["model_family"] == expected
    assert data["routing_mechanism"] == "model_family"
    assert data["auto_routing"] is False
    assert data["routing_tier"] in {"tier_1", "tier_2", "tier_3"}
    assert data["model"].startswith("gloo-")


def test_direct_selection_omits_tier_and_confidence(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream
) -> None:
    response = complete(homily, token, {"messages": USER, "model": "gloo-deepseek-v3.2", "tradition": "catholic"})
    data = response.json()
    assert data["model"] == "gloo-deepseek-v3.2"
    assert data["model_family"] == "Open Source"
    assert data["routing_mechanism"] == "direct_model_selection"
    assert data["tradition"] == "catholic"
    assert "routing_tier" not in data
    assert "routing_confidence" not in data
    assert "x-routing-tier" not in response.headers
    assert response.headers["x-tradition"] == "catholic"
    assert upstream.requests[-1].json()["model"] == "deepseek/deepseek-v3.2"


def test_auto_routing_false_with_model_is_direct_selection(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream
) -> None:
    data = complete(homily, token, {"messages": USER, "auto_routing": False, "model": "gloo-openai-gpt-5-nano"}).json()
    assert data["routing_mechanism"] == "direct_model_selection"
    assert data["auto_routing"] is False


@pytest.mark.parametrize(
    "body",
    [
        {"messages": USER},
        {"messages": USER, "auto_routing": False},
        {"messages": USER, "auto_routing": True, "model": "gloo-openai-gpt-5-mini"},
        {"messages": USER, "model": "gloo-openai-gpt-5-mini", "model_family": "openai"},
        {"messages": USER, "auto_routing": True, "model_family": "openai"},
    ],
)
def test_exactly_one_routing_mechanism(homily: LiveHomily, token: str, body: Any) -> None:
    error = assert_envelope(complete(homily, token, body), 400, 1001)
    for option in ("auto_routing", "model", "model_family"):
        assert option in error["message"]
    assert error["param"]
    assert error["name"] == "INVALID_REQUEST"
    assert error["fault"] == "client"
    assert error["retryable"] is False


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": USER}, "auto_routing,model,model_family"),
        ({"messages": USER, "auto_routing": False}, "auto_routing,model,model_family"),
        ({"messages": USER, "auto_routing": True, "model": "gloo-openai-gpt-5-mini"}, "auto_routing,model"),
        ({"messages": USER, "model": "gloo-openai-gpt-5-mini", "model_family": "openai"}, "model,model_family"),
    ],
)
def test_routing_mechanism_error_names_the_fields(homily: LiveHomily, token: str, body: Any, param: str) -> None:
    """API.md section 2: `param` names the fields: the ones in conflict, or all three when none was given."""
    assert assert_envelope(complete(homily, token, body), 400, 1001)["param"] == param


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"auto_routing": True}, "messages"),
        ({"messages": [], "auto_routing": True}, "messages"),
        ({"messages": "hello", "auto_routing": True}, "messages"),
        ({"messages": [{"content": "no role"}], "auto_routing": True}, "messages[0].role"),
        ({"messages": USER, "auto_routing": "yes"}, "auto_routing"),
        ({"messages": USER, "auto_routing": True, "max_tokens": "10"}, "max_tokens"),
        ({"messages": USER, "auto_routing": True, "temperature": "hot"}, "temperature"),
        ({"messages": USER, "auto_routing": True, "stream": "true"}, "stream"),
        ({"messages": USER, "auto_routing": True, "tools": {"type": "function"}}, "tools"),
        ({"messages": USER, "model": 5}, "model"),
    ],
)
def test_wrong_types_and_missing_fields_are_400(homily: LiveHomily, token: str, body: Any, param: str) -> None:
    error = assert_envelope(complete(homily, token, body), 400, 1001)
    assert error["param"].startswith(param)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": USER, "auto_routing": True, "temperature": 2.5}, "temperature"),
        ({"messages": USER, "auto_routing": True, "temperature": -0.1}, "temperature"),
        ({"messages": USER, "auto_routing": True, "max_tokens": 0}, "max_tokens"),
        ({"messages": USER, "auto_routing": True, "tradition": "baptist"}, "tradition"),
        ({"messages": USER, "model_family": "microsoft"}, "model_family"),
        ({"messages": [{"role": "wizard", "content": "x"}], "auto_routing": True}, "messages[0].role"),
        ({"messages": USER, "auto_routing": True, "tool_choice": "sometimes"}, "tool_choice"),
    ],
)
def test_values_out_of_range_or_enum_are_422(homily: LiveHomily, token: str, body: Any, param: str) -> None:
    error = assert_envelope(complete(homily, token, body), 422, 1001)
    assert error["param"].startswith(param)


@pytest.mark.parametrize("temperature", [0, 0.0, 2, 2.0, 1])
def test_temperature_bounds_and_integers_are_accepted(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream, temperature: float
) -> None:
    body = {"messages": USER, "model": "gloo-deepseek-v3.2", "temperature": temperature}
    assert complete(homily, token, body).status_code == 200
    assert upstream.requests[-1].json()["temperature"] == temperature


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"", b'"text"', b"\xff\xfe"])
def test_malformed_bodies_are_400(homily: LiveHomily, token: str, raw: bytes) -> None:
    response = httpx.post(
        homily.base_url + "/ai/v2/chat/completions",
        content=raw,
        headers={**auth_headers(token), "Content-Type": "application/json"},
    )
    assert_envelope(response, 400, 1001)


def test_oversized_body_is_413(homily: LiveHomily, token: str) -> None:
    text = "x" * (homily.settings.max_request_bytes + 10)
    response = complete(homily, token, {"messages": [{"role": "user", "content": text}], "auto_routing": True})
    assert_envelope(response, 413, 1006)


def test_unknown_fields_are_ignored(homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream) -> None:
    body = {"messages": USER, "auto_routing": True, "rag_publisher": "X", "sources_limit": 3, "frobnicate": {"a": 1}}
    assert complete(homily, token, body).status_code == 200
    assert "frobnicate" not in upstream.requests[-1].json()


def test_unknown_model_is_400(homily: LiveHomily, token: str) -> None:
    error = assert_envelope(complete(homily, token, {"messages": USER, "model": "gpt-4o"}), 400, 1001)
    assert "/platform/v2/models" in error["message"]


def test_known_model_without_configured_upstream_is_503_naming_the_setting(homily: LiveHomily, token: str) -> None:
    response = complete(homily, token, {"messages": USER, "model": "gloo-anthropic-claude-sonnet-4.5"})
    error = assert_envelope(response, 503, 2002)
    assert "ANTHROPIC_API_KEY" in error["message"]
    assert error["name"] == "PROVIDER_UNAVAILABLE"
    assert error["retryable"] is True


def test_family_without_configured_upstream_is_503(homily: LiveHomily, token: str) -> None:
    error = assert_envelope(complete(homily, token, {"messages": USER, "model_family": "google"}), 503, 2002)
    assert "GEMINI_API_KEY" in error["message"]


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup_verse",
            "description": "Look up a Bible verse",
            "parameters": {"type": "object", "properties": {"ref": {"type": "string"}}, "required": ["ref"]},
        },
    }
]


def test_tools_to_a_model_that_cannot_call_tools_is_400(homily: LiveHomily, token: str) -> None:
    body = {"messages": USER, "model": "gloo-meta-llama-3.1-8b-instruct", "tools": TOOLS}
    error = assert_envelope(complete(homily, token, body), 400, 1001)
    assert error["param"] == "tools"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tool_choice": {"type": "function", "function": {"name": "lookup_verse"}}}, "tool_choice"),
        ({"tools": [], "tool_choice": "required"}, "tool_choice"),
        ({"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "other"}}}, "tool_choice"),
    ],
    ids=["required-without-tools", "named-without-tools", "required-with-empty-tools", "named-not-in-tools"],
)
def test_tool_choice_that_no_tool_can_satisfy_is_400(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream, fields: dict[str, Any], param: str
) -> None:
    """OpenAI refuses these; the gateway says so itself instead of relaying an upstream failure."""
    body = {"messages": USER, "model": "gloo-openai-gpt-5-mini", **fields}
    for path in ("/ai/v2/chat/completions", "/ai/v2/chat/completions/grounded"):
        response = httpx.post(homily.base_url + path, json=body, headers=auth_headers(token))
        error = assert_envelope(response, 400, 1001)
        assert error["param"].startswith(param)
        assert "tool" in error["message"]
    assert upstream.stats().requests == 0


CALL = {"id": "call_1", "type": "function", "function": {"name": "lookup_verse", "arguments": "{}"}}


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        ([*USER, {"role": "tool", "content": "John 3:16"}], "messages[1].tool_call_id"),
        ([*USER, {"role": "tool", "content": "John 3:16", "tool_call_id": "call_9"}], "messages[1].tool_call_id"),
        (
            [{"role": "tool", "content": "x", "tool_call_id": "call_1"}, {"role": "assistant", "tool_calls": [CALL]}],
            "messages[0].tool_call_id",
        ),
        ([{"role": "user", "content": None}], "messages[0].content"),
        ([{"role": "system", "content": None}, *USER], "messages[0].content"),
        ([*USER, {"role": "assistant", "content": None}], "messages[1].content"),
    ],
    ids=["tool-without-id", "tool-answering-no-call", "tool-before-its-call", "user-null", "system-null", "no-reply"],
)
def test_messages_the_chat_format_forbids_are_400(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream, messages: list[dict[str, Any]], param: str
) -> None:
    """OpenAI refuses these conversations; the gateway says so (400) instead of a retryable 502 from upstream."""
    for path in ("/ai/v2/chat/completions", "/ai/v2/chat/completions/grounded"):
        body = {"messages": messages, "model": "gloo-openai-gpt-5-mini"}
        response = httpx.post(homily.base_url + path, json=body, headers=auth_headers(token))
        assert assert_envelope(response, 400, 1001)["param"] == param
    assert upstream.stats().requests == 0


def test_a_tool_result_answering_an_earlier_call_is_accepted(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream
) -> None:
    messages = [
        *USER,
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "content": "For God so loved the world", "tool_call_id": "call_1"},
    ]
    assert complete(homily, token, {"messages": messages, "model": "gloo-openai-gpt-5-mini"}).status_code == 200


@pytest.mark.parametrize("choice", ["auto", "none"])
def test_harmless_tool_choice_without_tools_is_not_forwarded(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream, choice: str
) -> None:
    """Upstreams reject `tool_choice` without `tools`; `auto`/`none` mean nothing then, so they are dropped."""
    body = {"messages": USER, "model": "gloo-openai-gpt-5-mini", "tool_choice": choice, "parallel_tool_calls": False}
    assert complete(homily, token, body).status_code == 200
    sent = upstream.requests[-1].json()
    assert "tool_choice" not in sent
    assert "parallel_tool_calls" not in sent


def test_tool_calls_round_trip(homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream) -> None:
    upstream.enqueue(
        Behaviour(
            tool_calls=(
                FakeToolCall(name="lookup_verse", arguments='{"ref": "John 3:16"}', id="call_a"),
                FakeToolCall(name="lookup_verse", arguments='{"ref": "Psalm 23:1"}', id="call_b"),
            )
        )
    )
    body = {"messages": USER, "model": "gloo-openai-gpt-5-mini", "tools": TOOLS, "tool_choice": "required"}
    data = complete(homily, token, body).json()
    choice = data["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    calls = choice["message"]["tool_calls"]
    assert [c["id"] for c in calls] == ["call_a", "call_b"]
    assert calls[0]["function"] == {"name": "lookup_verse", "arguments": '{"ref": "John 3:16"}'}
    sent = upstream.requests[-1].json()
    assert sent["tools"][0]["function"]["name"] == "lookup_verse"
    assert sent["tool_choice"] == "required"
    follow_up = {
        "model": "gloo-openai-gpt-5-mini",
        "tools": TOOLS,
        "messages": [
            *USER,
            {"role": "assistant", "content": None, "tool_calls": calls},
            {"role": "tool", "tool_call_id": "call_a", "content": "For God so loved the world..."},
            {"role": "tool", "tool_call_id": "call_b", "content": "The LORD is my shepherd..."},
        ],
        "tool_choice": {"type": "function", "function": {"name": "lookup_verse"}},
    }
    assert complete(homily, token, follow_up).status_code == 200
    sent = upstream.requests[-1].json()
    assert sent["messages"][-1] == {"role": "tool", "tool_call_id": "call_b", "content": "The LORD is my shepherd..."}
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "lookup_verse"}}


def test_tradition_guidance_comes_first_and_keeps_the_callers_system_message(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream
) -> None:
    messages = [{"role": "system", "content": "Answer in one sentence."}, *USER]
    data = complete(homily, token, {"messages": messages, "model": "gloo-openai-gpt-5-mini", "tradition": "mainline"})
    assert data.json()["tradition"] == "mainline"
    sent = upstream.requests[-1].json()["messages"]
    assert sent[0]["role"] == "system"
    assert "Mainline Protestant" in sent[0]["content"]
    assert sent[1] == {"role": "system", "content": "Answer in one sentence."}
    assert sent[2] == USER[0]


@pytest.mark.parametrize(
    ("tradition", "marker"),
    [
        ("evangelical", "Evangelical"),
        ("catholic", "Catholic"),
        ("mainline", "Mainline"),
        ("not_faith_specific", "general"),
    ],
)
def test_each_tradition_has_its_own_guidance(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream, tradition: str, marker: str
) -> None:
    complete(homily, token, {"messages": USER, "model": "gloo-openai-gpt-5-mini", "tradition": tradition})
    assert marker in upstream.requests[-1].json()["messages"][0]["content"]


def test_options_are_passed_through_with_the_upstream_spelling(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream
) -> None:
    body = {
        "messages": USER,
        "model": "gloo-openai-gpt-5-mini",
        "max_tokens": 50,
        "temperature": 0.3,
        "top_p": 0.9,
        "seed": 7,
        "stop": ["\n\n"],
        "user": "u1",
        "presence_penalty": 0.5,
    }
    complete(homily, token, body)
    sent = upstream.requests[-1].json()
    assert sent["max_completion_tokens"] == 50
    assert "max_tokens" not in sent
    assert "temperature" not in sent  # GPT-5 models accept only their default temperature
    assert (sent["top_p"], sent["seed"], sent["stop"], sent["user"], sent["presence_penalty"]) == (
        0.9,
        7,
        ["\n\n"],
        "u1",
        0.5,
    )
    complete(homily, token, {"messages": USER, "model": "gloo-deepseek-v3.2", "max_tokens": 50})
    assert upstream.requests[-1].json()["max_tokens"] == 50


def test_upstream_receives_the_configured_key(homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream) -> None:
    complete(homily, token, {"messages": USER, "model": "gloo-openai-gpt-5-mini"})
    assert upstream.requests[-1].headers["authorization"] == "Bearer sk-upstream-test"


def test_auto_routing_falls_back_when_the_first_model_fails(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream
) -> None:
    upstream.enqueue(Behaviour(status=500))
    response = complete(homily, token, {"messages": [{"role": "user", "content": "Hello"}], "auto_routing": True})
    assert response.status_code == 200, response.text
    first, second = upstream.requests[-2].json()["model"], upstream.requests[-1].json()["model"]
    assert first != second
    assert response.json()["model"] == response.headers["x-selected-model"]
    answered = load_catalog().get(response.json()["model"])
    assert answered is not None
    assert answered.upstream_model == second  # the response names the fallback that answered


@pytest.mark.parametrize(
    ("behaviour", "status", "code"),
    [
        (Behaviour(status=500), 502, 2003),
        (Behaviour(status=429, retry_after="7"), 503, 2002),
        (Behaviour(status=401, error_message="Incorrect API key provided", error_code="invalid_api_key"), 502, 2003),
        (Behaviour(status=404, error_message="The model `gpt-5-mini` does not exist"), 502, 2003),
        (Behaviour(malformed_json=True), 502, 2003),
        (Behaviour(headers_delay=5.0), 408, 2001),
        (Behaviour(content="", finish_reason="length"), 503, 2006),
    ],
    ids=["500", "429", "401-homily-key", "404-configured-model", "malformed", "timeout", "empty-reasoning"],
)
def test_upstream_failures_map_to_the_envelope(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream, behaviour: Behaviour, *, status: int, code: int
) -> None:
    upstream.enqueue(behaviour)
    response = complete(homily, token, {"messages": USER, "model": "gloo-openai-gpt-5-mini"})
    error = assert_envelope(response, status, code)
    assert error["fault"] == "provider"
    if behaviour.retry_after:
        assert response.headers["retry-after"] == "7"


UPSTREAM_REJECTIONS = [
    Behaviour(
        status=400,
        error_message="Invalid schema for response_format 'verse': 'required' is required to be supplied.",
        error_type="invalid_request_error",
        error_code="invalid_json_schema",
    ),
    Behaviour(status=413, error_message="Request too large for gpt-5-mini.", error_type="invalid_request_error"),
    Behaviour(status=422, error_message="temperature: Input should be less than or equal to 2"),
]


@pytest.mark.parametrize("behaviour", UPSTREAM_REJECTIONS, ids=["400", "413", "422"])
@pytest.mark.parametrize("body", [{"model": "gloo-openai-gpt-5-mini"}, {"auto_routing": True}], ids=["direct", "auto"])
def test_a_request_the_upstream_rejects_is_the_clients_400(
    homily: LiveHomily, token: str, upstream: FakeOpenAIUpstream, behaviour: Behaviour, body: dict[str, Any]
) -> None:
    """The client can fix it and the next model would refuse it too: no retry, no fallback, no 502."""
    upstream.enqueue(behaviour)
    response = complete(homily, token, {"messages": USER, **body})
    error = assert_envelope(response, 400, 1001)
    assert (error["name"], error["type"], error["fault"], error["retryable"]) == (
        "INVALID_REQUEST",
        "invalid_request_error",
        "client",
        False,
    )
    family = "OpenAI" if "model" in body else r"OpenAI|Open Source"
    assert re.match(rf"The upstream \(({family})\) rejected the request", error["message"]), error["message"]
    assert behaviour.error_message in error["message"]
    assert upstream.stats().requests == 1


def test_unknown_path_and_wrong_method_use_the_envelope(homily: LiveHomily) -> None:
    assert_envelope(httpx.get(homily.base_url + "/nope"), 404, 1004)
    response = httpx.get(homily.base_url + "/ai/v2/chat/completions")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == 1001
    assert response.headers["allow"] == "POST"
    assert response.json()["error"]["message"].endswith("use POST.")


def test_every_response_carries_a_request_id(homily: LiveHomily, token: str) -> None:
    for response in (
        httpx.get(homily.base_url + "/healthz"),
        httpx.get(homily.base_url + "/nope"),
        complete(homily, token, {"messages": USER}),
        httpx.post(homily.base_url + "/oauth2/token", data={}),
    ):
        assert response.headers["x-request-id"]
    echoed = httpx.get(homily.base_url + "/healthz", headers={"X-Request-Id": "client-chosen-id-123"})
    assert echoed.headers["x-request-id"] == "client-chosen-id-123"
