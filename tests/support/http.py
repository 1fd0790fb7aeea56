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


def create_publisher(homily: LiveHomily, name: str) -> str:
    """A publisher of the live server's organisation, made through the admin API; returns its publisher_id."""
    created = httpx.post(
        homily.base_url + "/admin/v1/publishers",
        json={"org_id": homily.credential.org_id, "name": name},
        headers=homily.admin_headers(),
    )
    created.raise_for_status()
    publisher_id: str = created.json()["publisher_id"]
    return publisher_id


def api_client(homily: LiveHomily) -> httpx.Client:
    """A client of the live server that sends a fresh bearer token of its organisation's credential."""
    return httpx.Client(base_url=homily.base_url, headers=auth_headers(homily.token()), timeout=60)
