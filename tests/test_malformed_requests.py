"""Nothing a client can send gets a 500: mutated JSON bodies against every JSON endpoint, from a fixed seed.

Each endpoint starts from a valid body; every variant drops keys, swaps values for other JSON types, extreme
numbers, odd strings or deep nesting, or sends bytes that are not JSON at all. Every answer must be a success or
an API.md error envelope with a client-side (4xx) status, and the server must still answer afterwards.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from homily.fakes.openai_upstream import FakeOpenAIUpstream
from tests.support.http import auth_headers
from tests.support.live import LiveHomily

SEED = 20261206
VARIANTS_PER_ENDPOINT = 40
RFC6749_ERRORS = {"invalid_request", "invalid_client", "unsupported_grant_type", "invalid_scope"}
ENVELOPE_FIELDS = {"message", "type", "param", "code", "name", "fault", "retryable", "request_id"}

ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**63,
    -(2**70),
    1e308,
    -0.0,
    0.5,
    "",
    " ",
    "\u0000",
    "x" * 5000,
    "\ud7ff\ue000\U0001f54a",
    "evangelical",
    "auto",
    [],
    [None],
    [{}],
    {},
    {"role": "user"},
    {"content": None},
    [[[[[[[[[[[]]]]]]]]]]],
]
NOT_JSON: list[bytes] = [
    b"",
    b"{",
    b"null",
    b"[]",
    b'"a string"',
    b"42",
    b"{'single': 'quotes'}",
    b'{"messages": [}',
    b"\xff\xfe\x00garbage",
    b"[" * 5000 + b"]" * 5000,
    b'{"a": NaN}',
]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    valid: dict[str, Any]


def endpoints(publisher_id: str) -> list[Endpoint]:
    chat = {"messages": [{"role": "user", "content": "What is grace?"}], "auto_routing": True}
    return [
        Endpoint("POST", "/ai/v2/chat/completions", chat),
        Endpoint("POST", "/ai/v2/chat/completions", {**chat, "stream": True}),
        Endpoint(
            "POST",
            "/ai/v2/chat/completions",
            {
                "messages": [{"role": "user", "content": "Weather?"}],
                "model": "gloo-openai-gpt-5-mini",
                "tools": [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}],
                "tool_choice": "auto",
                "tradition": "catholic",
                "max_tokens": 50,
                "temperature": 0.3,
            },
        ),
        Endpoint(
            "POST",
            "/ai/v2/chat/completions/grounded",
            {**chat, "rag_publisher": "GlooGrounded", "sources_limit": 3, "include_citations": True},
        ),
        Endpoint(
            "POST",
            "/ingestion/v1/real_time_upload",
            {"content": "Psalm 23 comforts.", "publisher_id": publisher_id, "producer_id": "p1", "item_title": "T"},
        ),
        Endpoint("PATCH", "/engine/v2/item", {"publisher_id": publisher_id, "producer_id": "p1", "item_title": "U"}),
        Endpoint("DELETE", "/engine/v2/items", {"item_ids": ["no-such-item"]}),
        Endpoint("POST", "/ai/data/v1/search", {"query": "comfort", "tenant": "Fuzz Press", "limit": 3}),
    ]


def mutate(value: Any, rng: random.Random, depth: int = 0) -> Any:
    """One random structural change somewhere in `value` (a JSON document)."""
    if isinstance(value, dict) and value and depth < 4:
        key = rng.choice(sorted(value))
        changed = dict(value)
        action = rng.random()
        if action < 0.2:
            del changed[key]
        elif action < 0.3:
            changed[rng.choice(["unknown_field", "stream", "model", "messages", "", "\u0000"])] = rng.choice(ODD_VALUES)
        elif action < 0.6:
            changed[key] = rng.choice(ODD_VALUES)
        else:
            changed[key] = mutate(value[key], rng, depth + 1)
        return changed
    if isinstance(value, list) and value and depth < 4:
        changed_list = list(value)
        index = rng.randrange(len(changed_list))
        action = rng.random()
        if action < 0.2:
            changed_list.append(rng.choice(ODD_VALUES))
        elif action < 0.4:
            changed_list[index] = rng.choice(ODD_VALUES)
        elif action < 0.5:
            changed_list = changed_list * 300
        else:
            changed_list[index] = mutate(value[index], rng, depth + 1)
        return changed_list
    return rng.choice(ODD_VALUES)


def variants(endpoint: Endpoint, rng: random.Random) -> Iterator[bytes]:
    for _ in range(VARIANTS_PER_ENDPOINT):
        body = endpoint.valid
        for _ in range(rng.randint(1, 3)):
            body = mutate(body, rng)
        yield json.dumps(body).encode()
    yield from NOT_JSON


@pytest.fixture(scope="module")
def client(homily: LiveHomily) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=homily.base_url, headers=auth_headers(homily.token()), timeout=60) as own:
        yield own


@pytest.fixture(scope="module")
def publisher_id(homily: LiveHomily) -> str:
    """The organisation's "Fuzz Press" publisher (the search body's tenant)."""
    with httpx.Client(base_url=homily.base_url, headers=homily.admin_headers()) as admin:
        created = admin.post("/admin/v1/publishers", json={"org_id": homily.credential.org_id, "name": "Fuzz Press"})
    created.raise_for_status()
    return str(created.json()["publisher_id"])


def check(response: httpx.Response, endpoint: Endpoint, body: bytes) -> None:
    context = f"{endpoint.method} {endpoint.path} {body[:300]!r} -> {response.status_code} {response.text[:300]}"
    assert response.status_code < 500 or response.status_code == 503, context
    if response.status_code < 400:
        return
    if endpoint.path == "/oauth2/token":  # RFC 6749 errors, as API.md section 1 asks
        assert response.json()["error"] in RFC6749_ERRORS, context
        return
    error = response.json()["error"]
    assert set(error) >= ENVELOPE_FIELDS, context
    assert error["request_id"] == response.headers["x-request-id"], context


def test_no_mutated_body_gets_a_server_error(
    client: httpx.Client, publisher_id: str, upstream: FakeOpenAIUpstream
) -> None:
    rng = random.Random(SEED)
    statuses: dict[int, int] = {}
    for endpoint in endpoints(publisher_id):
        for body in variants(endpoint, rng):
            response = client.request(
                endpoint.method, endpoint.path, content=body, headers={"content-type": "application/json"}
            )
            check(response, endpoint, body)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    # The variants exercise both sides: plenty are refused, and some still succeed.
    assert statuses.get(200, 0) > 20, statuses
    assert sum(count for status, count in statuses.items() if 400 <= status < 500) > 100, statuses
    assert client.get("/readyz").status_code in (200, 503)
    health = client.get("/healthz")
    assert health.status_code == 200


FORM_CASES: list[tuple[str, dict[str, str], bytes]] = [
    ("/oauth2/token", {"content-type": "application/x-www-form-urlencoded"}, b""),
    ("/oauth2/token", {"content-type": "application/x-www-form-urlencoded"}, b"grant_type=password"),
    ("/oauth2/token", {"content-type": "application/x-www-form-urlencoded"}, b"grant_type=client_credentials&%%%"),
    ("/oauth2/token", {"content-type": "application/json"}, b'{"grant_type": "client_credentials"}'),
    ("/oauth2/token", {"content-type": "multipart/form-data; boundary=x"}, b"--x\r\nbroken"),
    ("/ingestion/v2/files", {"content-type": "multipart/form-data; boundary=x"}, b"--x\r\nbroken"),
    ("/ingestion/v2/files", {"content-type": "multipart/form-data"}, b"no boundary"),
    ("/ingestion/v2/files", {"content-type": "application/json"}, b'{"files": []}'),
    ("/ingestion/v2/files", {"content-type": "text/plain"}, b"just text"),
    (
        "/ingestion/v2/files",
        {"content-type": "multipart/form-data; boundary=x"},
        b'--x\r\nContent-Disposition: form-data; name="publisher_id"\r\n\r\nnot-a-uuid\r\n--x--\r\n',
    ),
    (
        "/ingestion/v2/files",
        {"content-type": "multipart/form-data; boundary=x"},
        b'--x\r\nContent-Disposition: form-data; name="files"; filename="a.exe"\r\n\r\nMZ\x90\x00\r\n--x--\r\n',
    ),
]


@pytest.mark.parametrize(("path", "headers", "body"), FORM_CASES)
def test_malformed_forms_get_a_client_error(
    client: httpx.Client, path: str, headers: dict[str, str], body: bytes
) -> None:
    response = client.post(path, content=body, headers=headers)
    check(response, Endpoint("POST", path, {}), body)
    assert 400 <= response.status_code < 500, response.text
