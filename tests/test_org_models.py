"""Per-organisation model allow-lists end to end (API.md section 1: "a model the organisation may not use" -> 403),
against a live Homily whose OpenAI and Open Source families are served by the fake upstream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from homily.admin.service import IssuedCredential
from homily.catalog.loader import load_catalog
from homily.fakes.openai_script import Behaviour
from homily.fakes.openai_upstream import FakeOpenAIUpstream
from homily.storage.factory import open_store
from tests.support.http import assert_envelope, auth_headers, post_completion
from tests.support.live import LiveHomily

USER = [{"role": "user", "content": "Hi, how are you?"}]
MINI = "gloo-openai-gpt-5-mini"
NANO = "gloo-openai-gpt-5-nano"  # what auto_routing picks for a greeting when nothing is restricted
PRO = "gloo-openai-gpt-5-pro"
DEEPSEEK = "gloo-deepseek-v3.2"
CATALOG = load_catalog()


def upstream_name(model_id: str) -> str:
    model = CATALOG.get(model_id)
    assert model is not None
    return model.upstream_model


@pytest.fixture
def admin(homily: LiveHomily) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=homily.base_url, headers=homily.admin_headers()) as client:
        yield client


def set_models(admin: httpx.Client, org_id: str, models: list[str] | None) -> None:
    response = admin.patch(f"/admin/v1/organisations/{org_id}", json={"allowed_models": models})
    assert response.status_code == 200, response.text
    assert response.json()["allowed_models"] == models


def new_organisation(admin: httpx.Client, name: str, models: list[str] | None) -> IssuedCredential:
    """A fresh organisation with one credential and the given allow-list (each test gets its own)."""
    org = admin.post("/admin/v1/organisations", json={"name": name}).json()
    issued = admin.post("/admin/v1/credentials", json={"org_id": org["org_id"]}).json()
    set_models(admin, org["org_id"], models)
    return IssuedCredential(**issued)


def sdk(homily: LiveHomily, credential: IssuedCredential) -> openai.OpenAI:
    return openai.OpenAI(base_url=homily.api_base, api_key=homily.token(credential), max_retries=0)


def seen_models(upstream: FakeOpenAIUpstream) -> list[str]:
    return [str(request.json()["model"]) for request in upstream.requests if request.path.endswith("/completions")]


def forbidden_count(homily: LiveHomily) -> float:
    """`homily_errors_total{name="FORBIDDEN",status="403"}` from /metrics (0 before the first refusal)."""
    series = 'homily_errors_total{name="FORBIDDEN",status="403"} '
    lines = httpx.get(homily.base_url + "/metrics").text.splitlines()
    return sum(float(line[len(series) :]) for line in lines if line.startswith(series))


def test_direct_model_outside_the_list_is_403_and_never_reaches_the_upstream(
    homily: LiveHomily, admin: httpx.Client, upstream: FakeOpenAIUpstream
) -> None:
    credential = new_organisation(admin, "Direct", [MINI, DEEPSEEK])
    refused_before = forbidden_count(homily)
    with sdk(homily, credential) as client:
        for stream in (False, True):
            with pytest.raises(openai.PermissionDeniedError) as caught:
                client.chat.completions.create(model=PRO, messages=USER, stream=stream)  # type: ignore[arg-type]
            assert caught.value.status_code == 403
            error: dict[str, Any] = caught.value.response.json()["error"]
            assert (error["code"], error["name"], error["param"]) == (1003, "FORBIDDEN", "model")
            assert PRO in error["message"]
            assert f"It may use: {MINI}, {DEEPSEEK}" in error["message"]
        assert seen_models(upstream) == []
        assert forbidden_count(homily) == refused_before + 2  # operators see the refusals by kind
        answered = client.chat.completions.create(model=MINI, messages=USER)  # type: ignore[arg-type]
    assert answered.model == MINI
    assert seen_models(upstream) == [upstream_name(MINI)]


def test_auto_routing_chooses_and_falls_back_only_among_allowed_models(
    homily: LiveHomily, admin: httpx.Client, upstream: FakeOpenAIUpstream
) -> None:
    allowed = [PRO, DEEPSEEK]
    credential = new_organisation(admin, "Auto", allowed)
    token = homily.token(credential)
    body = {"messages": USER, "auto_routing": True}
    response = post_completion(homily, token, body)
    assert response.status_code == 200, response.text
    first = response.headers["x-selected-model"]
    assert first in allowed
    assert response.json()["model"] == first
    # The first allowed model fails: the fallback chain holds only allowed models too.
    upstream.enqueue(Behaviour(status=500))
    response = post_completion(homily, token, body)
    assert response.status_code == 200, response.text
    second = response.headers["x-selected-model"]
    assert {first, second} == set(allowed)
    assert set(seen_models(upstream)) == {upstream_name(m) for m in allowed}
    # Unrestricted, the same request goes to a model outside that list: the list, not luck, decided.
    unrestricted = post_completion(homily, homily.token(), body)
    assert unrestricted.headers["x-selected-model"] == NANO


def test_model_family_limited_to_allowed_and_403_when_none_is(
    homily: LiveHomily, admin: httpx.Client, upstream: FakeOpenAIUpstream
) -> None:
    token = homily.token(new_organisation(admin, "Family", [MINI]))
    chosen = post_completion(homily, token, {"messages": USER, "model_family": "openai"})
    assert chosen.status_code == 200, chosen.text
    assert chosen.headers["x-selected-model"] == MINI
    upstream.reset()
    refused = post_completion(homily, token, {"messages": USER, "model_family": "open source"})
    error = assert_envelope(refused, 403, 1003)
    assert error["param"] == "model_family"
    assert "no model of the Open Source family" in error["message"]
    assert MINI in error["message"]
    assert seen_models(upstream) == []


def test_clearing_the_list_restores_every_model(homily: LiveHomily, admin: httpx.Client) -> None:
    credential = new_organisation(admin, "Cleared", [MINI])
    token = homily.token(credential)
    body = {"messages": USER, "model": PRO}
    assert_envelope(post_completion(homily, token, body), 403, 1003)
    set_models(admin, credential.org_id, None)
    restored = post_completion(homily, token, body)  # applied in-process at once: no waiting for a refresh
    assert restored.status_code == 200, restored.text
    assert restored.headers["x-selected-model"] == PRO


def test_grounded_completions_are_refused_before_retrieval(
    homily: LiveHomily, admin: httpx.Client, upstream: FakeOpenAIUpstream
) -> None:
    token = homily.token(new_organisation(admin, "Grounded", [MINI]))
    body = {"messages": USER, "model": PRO, "rag_publisher": "NoSuchPublisher"}
    response = httpx.post(
        homily.base_url + "/ai/v2/chat/completions/grounded", json=body, headers=auth_headers(token), timeout=60
    )
    error = assert_envelope(response, 403, 1003)  # not the 404 of the unknown publisher: access is checked first
    assert error["param"] == "model"
    assert seen_models(upstream) == []


def test_model_lists(homily: LiveHomily, admin: httpx.Client) -> None:
    credential = new_organisation(admin, "Listing", [DEEPSEEK, MINI])
    with sdk(homily, credential) as client:
        assert [model.id for model in client.models.list()] == [MINI, DEEPSEEK]  # catalog order
    public = httpx.get(homily.base_url + "/platform/v2/models")  # the public catalog, no token
    assert [m["id"] for m in public.json()["data"]] == [m.id for m in CATALOG.models]


def test_a_change_made_elsewhere_arrives_within_the_refresh_interval(homily: LiveHomily, admin: httpx.Client) -> None:
    """Another replica (or `homily admin` on the server machine) writes the database; this process learns of it
    at its next registry refresh (HOMILY_REVOCATION_REFRESH_SECONDS, 0.25 s in these tests)."""
    credential = new_organisation(admin, "Elsewhere", None)
    token = homily.token(credential)
    body = {"messages": USER, "model": PRO}
    assert post_completion(homily, token, body).status_code == 200

    async def restrict_from_another_process() -> None:
        store = await open_store(homily.settings)  # the server's database, SQLite file or PostgreSQL
        try:
            assert await store.set_allowed_models(credential.org_id, [MINI])
        finally:
            await store.close()

    asyncio.run(restrict_from_another_process())
    deadline = time.monotonic() + 5
    status = 200
    while status != 403 and time.monotonic() < deadline:
        time.sleep(0.05)
        status = post_completion(homily, token, body).status_code
    assert status == 403
