"""Small helpers for calling a live Homily in tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.live import LiveHomily


def auth_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def post_completion(homily: LiveHomily, token: str, body: Any, **kwargs: Any) -> httpx.Response:
    return httpx.post(homily.base_url + "/ai/v2/chat/completions", json=body, headers=auth_headers(token), **kwargs)


def assert_envelope(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    """The response is the API.md error envelope with this status and code; returns its `error` object."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert set(error) >= {"message", "type", "param", "code", "name", "fault", "retryable", "request_id"}
    assert error["request_id"] == response.headers["x-request-id"]
    return error
