"""API.md section 5 (model lists), health endpoints and the OpenAPI document."""

from __future__ import annotations

import time

import httpx
from openapi_spec_validator import validate
from starlette.routing import Mount, Route

from homily.api.openapi import build_openapi
from homily.app import create_app
from tests.support.http import assert_envelope, auth_headers
from tests.support.live import LiveHomily

PUBLISHED_IDS = {
    "Anthropic": {
        "gloo-anthropic-claude-haiku-4.5",
        "gloo-anthropic-claude-sonnet-4.5",
        "gloo-anthropic-claude-opus-4.5",
    },
    "Google": {
        "gloo-google-gemini-2.5-flash-lite",
        "gloo-google-gemini-2.5-flash",
        "gloo-google-gemini-2.5-pro",
        "gloo-google-gemini-3-pro-preview",
    },
    "OpenAI": {"gloo-openai-gpt-5-nano", "gloo-openai-gpt-5-mini", "gloo-openai-gpt-5-pro", "gloo-openai-gpt-5.2"},
    "Open Source": {
        "gloo-meta-llama-3.1-8b-instruct",
        "gloo-deepseek-chat-v3.1",
        "gloo-deepseek-v3.2",
        "gloo-openai-gpt-oss-120b",
    },
}


def test_platform_models_needs_no_auth_and_marks_availability(homily: LiveHomily) -> None:
    response = httpx.get(homily.base_url + "/platform/v2/models")
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    by_family: dict[str, set[str]] = {}
    for entry in body["data"]:
        by_family.setdefault(entry["family"], set()).add(entry["id"])
        assert set(entry) >= {
            "id",
            "name",
            "family",
            "context_window",
            "max_output_tokens",
            "supports_tools",
            "supports_reasoning",
            "input_modalities",
            "pricing",
            "tier",
            "available",
        }
        assert float(entry["pricing"]["input"]["rate_per_1m_tokens"]) >= 0
        assert entry["tier"] in {"tier_1", "tier_2", "tier_3"}
        assert entry["available"] is (entry["family"] in {"OpenAI", "Open Source"})
    assert by_family == PUBLISHED_IDS


def test_openai_models_list_needs_a_token(homily: LiveHomily) -> None:
    assert_envelope(httpx.get(homily.base_url + "/ai/v2/models"), 401, 1002)
    response = httpx.get(homily.base_url + "/ai/v2/models", headers=auth_headers(homily.token()))
    body = response.json()
    assert body["object"] == "list"
    assert all(m["object"] == "model" and isinstance(m["created"], int) and m["owned_by"] for m in body["data"])


def test_health_and_readiness(homily: LiveHomily) -> None:
    assert httpx.get(homily.base_url + "/healthz").json()["status"] == "ok"
    deadline = time.monotonic() + 60
    ready = httpx.get(homily.base_url + "/readyz")
    while ready.json()["embeddings"] == "loading" and time.monotonic() < deadline:  # the model loads after start
        assert ready.status_code == 503
        assert ready.json()["status"] == "not_ready"
        time.sleep(0.1)
        ready = httpx.get(homily.base_url + "/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "database": True,
        "embeddings": "ready",
        "providers": ["open_source", "openai"],
    }


def test_openapi_document_is_valid_openapi_3_1() -> None:
    """Tools that generate clients from /openapi.json refuse an invalid document (e.g. undeclared path parameters)."""
    validate(build_openapi())


def test_openapi_only_401_responses_document_a_challenge() -> None:
    for path, methods in build_openapi()["paths"].items():
        for method, operation in methods.items():
            for status, response in operation["responses"].items():
                has_challenge = "WWW-Authenticate" in response.get("headers", {})
                assert has_challenge == (status == "401"), (path, method, status)


def test_openapi_document_matches_the_served_routes(homily: LiveHomily) -> None:
    served = httpx.get(homily.base_url + "/openapi.json").json()
    assert served == build_openapi()
    assert served["openapi"].startswith("3.")
    schema = served["components"]["schemas"]["ChatCompletionRequest"]
    assert {"messages", "auto_routing", "model", "model_family", "tradition", "stream", "tools"} <= set(
        schema["properties"]
    )
    for path, methods in served["paths"].items():
        for method in methods:
            response = httpx.request(method.upper(), homily.base_url + path)
            assert response.status_code != 404, f"{method.upper()} {path} is documented but not served"


def test_metrics_count_requests_and_completions(homily: LiveHomily) -> None:
    token = homily.token()
    body = {"messages": [{"role": "user", "content": "Hi"}], "model": "gloo-openai-gpt-5-nano"}
    assert httpx.post(homily.base_url + "/ai/v2/chat/completions", json=body, headers=auth_headers(token)).is_success
    text = httpx.get(homily.base_url + "/metrics").text
    assert "# TYPE homily_http_requests_total counter" in text
    assert 'homily_http_requests_total{method="POST",status="2xx"}' in text
    prefix = 'homily_completions_total{model="gloo-openai-gpt-5-nano",mechanism="direct_model_selection",tier="none"} '
    line = next(row for row in text.splitlines() if row.startswith(prefix))
    assert float(line.rsplit(" ", 1)[1]) >= 1
    assert 'homily_http_request_seconds_bucket{method="POST",le="+Inf"}' in text


def test_every_served_route_is_documented(homily: LiveHomily) -> None:
    """The reverse of the check above: nothing the server answers is missing from /openapi.json."""
    documented = build_openapi()["paths"]
    app = create_app(homily.settings)
    served: list[tuple[str, str]] = []
    for route in app.routes:
        children = route.routes if isinstance(route, Mount) else [route]
        prefix = route.path if isinstance(route, Mount) else ""
        served.extend(
            (prefix + child.path, method.lower())
            for child in children
            if isinstance(child, Route)
            for method in child.methods or ()
            if method != "HEAD"
        )
    missing = [f"{method.upper()} {path}" for path, method in served if method not in documented.get(path, {})]
    assert missing == []
