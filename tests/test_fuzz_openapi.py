"""Property-based fuzzing of every operation in the server's own /openapi.json (schemathesis), from a fixed seed.

Schemathesis generates schema-valid and schema-violating requests (wrong types, missing fields, boundary values,
odd strings, wrong or missing bodies, unexpected methods) for each documented operation of a live server with a
fake upstream. Every answer must be: no 5xx except the documented retryable provider ones (502, 503, 408) and
never a server-side traceback in the log; every error the API.md envelope with the response's request id; every
documented status, content type, header and body schema honoured (schemathesis' own conformance checks); and a
405 naming the methods the path really serves. A second test cuts streaming requests off mid-body and mid-stream.
"""

from __future__ import annotations

import json
import logging
import socket
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import Case, Response
from schemathesis.checks import not_a_server_error, positive_data_acceptance
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import CoveragePhaseData, CoverageScenario
from schemathesis.specs.openapi.schemas import OpenApiSchema

from homily.fakes.openai_upstream import FakeOpenAIUpstream
from tests.support.http import auth_headers, create_publisher
from tests.support.live import LiveHomily

RFC6749_ERRORS = {"invalid_request", "invalid_client", "unsupported_grant_type", "invalid_scope"}
ENVELOPE_FIELDS = {"message", "type", "param", "code", "name", "fault", "retryable", "request_id"}
RETRYABLE_PROVIDER_STATUSES = {408, 502, 503}

served = schemathesis.pytest.from_fixture("served_schema")


@pytest.fixture(scope="module")
def served_schema(homily: LiveHomily) -> OpenApiSchema:
    return schemathesis.openapi.from_url(homily.base_url + "/openapi.json")


@pytest.fixture(scope="module")
def bearer(homily: LiveHomily) -> dict[str, str]:
    return {"Authorization": f"Bearer {homily.token()}"}


def drops_authorization(case: Case[Any]) -> bool:
    """A generated case that leaves the Authorization header out on purpose (a negative header component, or the
    coverage phase's missing-parameter scenario): it expects a refusal, so no credentials are added."""
    if "authorization" in {name.lower() for name in case.headers or {}} or case.meta is None:
        return False
    data = case.meta.phase.data
    missing = isinstance(data, CoveragePhaseData) and data.scenario == CoverageScenario.MISSING_PARAMETER
    return case.meta.is_negative_at(ParameterLocation.HEADER) or (
        missing and (data.parameter or "").lower() == "authorization"
    )


def credentials_for(case: Case[Any], homily: LiveHomily, bearer: dict[str, str]) -> dict[str, Any]:
    """The caller each operation documents: the admin secret, HTTP Basic client credentials, or a bearer token;
    none when the case is about a missing Authorization header."""
    if drops_authorization(case):
        return {}
    if case.path.startswith("/admin/"):
        return {"headers": homily.admin_headers()}
    if case.path == "/oauth2/token":
        return {"auth": (homily.credential.client_id, homily.credential.client_secret)}
    return {"headers": bearer}


def assert_client_safe(case: Case[Any], response: Response) -> None:
    """No server fault a client could provoke, and every error in the documented shape."""
    context = f"{case.method} {case.formatted_path} -> {response.status_code} {response.text[:300]}"
    status = response.status_code
    assert "x-request-id" in response.headers, context
    if status < 400:
        return
    body = response.json()
    if isinstance(body["error"], str):  # POST /oauth2/token: RFC 6749 errors, as API.md section 1 asks
        assert case.path == "/oauth2/token", context
        assert body["error"] in RFC6749_ERRORS, context
        return
    error = body["error"]
    assert set(error) >= ENVELOPE_FIELDS, context
    assert [error["request_id"]] == response.headers["x-request-id"], context
    if status >= 500:
        assert status in RETRYABLE_PROVIDER_STATUSES, context
        assert (error["fault"], error["retryable"]) == ("provider", True), context


@served.parametrize()
@settings(
    max_examples=6,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_generated_requests_keep_the_contract(
    case: Case[Any],
    homily: LiveHomily,
    bearer: dict[str, str],
    upstream: FakeOpenAIUpstream,
    caplog: pytest.LogCaptureFixture,
) -> None:
    kwargs = credentials_for(case, homily, bearer)
    headers = {**kwargs.pop("headers", {}), **(case.headers or {})}
    with caplog.at_level(logging.WARNING):
        response = case.call(headers=headers, timeout=30, **kwargs)
    assert_client_safe(case, response)
    # Schema-valid requests the server refuses for rules a JSON schema cannot state (the routing mechanism, a tool
    # result answering an earlier call, 1.0 for an integer) are not failures; the 5xx rule is checked above.
    case.validate_response(response, excluded_checks=[not_a_server_error, positive_data_acceptance], headers=headers)
    faults = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert faults == [], f"{case.method} {case.formatted_path}: the server logged {faults}"


@pytest.fixture(scope="module")
def publisher(homily: LiveHomily) -> str:
    """A publisher of the caller's organisation for the grounded streams (the shared library is not loaded)."""
    create_publisher(homily, "Fuzz Psalter")
    return "Fuzz Psalter"


def streaming_request(path: str, token: str, publisher: str) -> bytes:
    fields: dict[str, Any] = {
        "messages": [{"role": "user", "content": "What does Psalm 23 say about fear?"}],
        "auto_routing": True,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if path.endswith("/grounded"):
        fields["rag_publisher"] = publisher
    body = json.dumps(fields).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: homily\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@pytest.mark.parametrize("path", ["/ai/v2/chat/completions", "/ai/v2/chat/completions/grounded"])
@pytest.mark.parametrize("cut", ["mid-headers", "mid-body", "after-first-bytes"])
def test_a_streaming_request_cut_off_by_the_client_is_no_server_error(
    homily: LiveHomily, publisher: str, caplog: pytest.LogCaptureFixture, path: str, cut: str
) -> None:
    """The client hangs up while sending headers, while sending the body (found by fuzzing: two tracebacks and a
    counted 500 per hang-up), or once the stream has begun; the server logs no fault and serves the next call."""
    token = homily.token()
    request = streaming_request(path, token, publisher)
    url = httpx.URL(homily.base_url)
    with caplog.at_level(logging.INFO):
        with socket.create_connection((url.host, url.port or 80), timeout=10) as connection:
            if cut == "mid-headers":
                connection.sendall(request[:40])
            elif cut == "mid-body":
                connection.sendall(request[:-10])
            else:
                connection.sendall(request)
                assert connection.recv(16).startswith(b"HTTP/1.1 200")
        body = json.loads(request.partition(b"\r\n\r\n")[2])
        followed = httpx.post(
            homily.base_url + path, json={**body, "stream": False}, headers=auth_headers(token), timeout=30
        )
    assert followed.status_code == 200, followed.text
    faults = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert faults == []
