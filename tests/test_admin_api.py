"""The `/admin/v1` routes over a minimal Starlette app (the real app mounts the same routes)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient

from homily.admin.service import AdminService
from homily.api.admin import admin_routes
from homily.api.responses import json_response
from homily.auth.secrets import verify_secret
from homily.errors import HomilyError
from homily.settings import Settings
from homily.storage.factory import open_store

ADMIN_SECRET = "admin-secret-for-tests-0123456789"


async def render_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HomilyError)
    return json_response(exc.envelope("req_test"), status=exc.status, headers=exc.headers)


AllowListChange = tuple[str, list[str] | None]


def build_app(settings: Settings, revoked: list[str], allow_lists: list[AllowListChange] | None = None) -> Starlette:
    changes = allow_lists if allow_lists is not None else []

    def record(org_id: str, models: Sequence[str] | None) -> None:
        changes.append((org_id, None if models is None else list(models)))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = await open_store(settings)
        app.state.settings = settings
        app.state.admin = AdminService(store, on_revoke=revoked.append, on_allowed_models=record)
        app.state.store = store
        try:
            yield
        finally:
            await store.close()

    return Starlette(routes=admin_routes(), exception_handlers={HomilyError: render_error}, lifespan=lifespan)


@pytest.fixture
def revoked() -> list[str]:
    return []


@pytest.fixture
def allow_lists() -> list[AllowListChange]:
    return []


@pytest.fixture
def client(tmp_path: Path, revoked: list[str], allow_lists: list[AllowListChange]) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", admin_secret=SecretStr(ADMIN_SECRET))
    with TestClient(
        build_app(settings, revoked, allow_lists), headers={"Authorization": f"Bearer {ADMIN_SECRET}"}
    ) as client:
        yield client


def error_of(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    return dict(body["error"])


def create_org(client: TestClient, name: str = "Acme") -> dict[str, Any]:
    response = client.post("/admin/v1/organisations", json={"name": name})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer", "Bearer ", "Basic YWRtaW46eA==", "Bearer wrong", f"Token {ADMIN_SECRET}"]
)
def test_missing_or_wrong_admin_secret_is_401(client: TestClient, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    client.headers.pop("Authorization")
    for method, path in (("GET", "/admin/v1/organisations"), ("POST", "/admin/v1/credentials")):
        response = client.request(method, path, headers=headers, json={"org_id": "x"})
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        error = error_of(response)
        assert (error["code"], error["name"], error["type"]) == (1002, "UNAUTHORIZED", "authentication_error")
        assert ADMIN_SECRET not in response.text


def test_scheme_is_case_insensitive(client: TestClient) -> None:
    response = client.get("/admin/v1/organisations", headers={"Authorization": f"bearer {ADMIN_SECRET}"})
    assert response.status_code == 200


@pytest.mark.parametrize("configured", [None, ""])
def test_unconfigured_admin_secret_is_403_naming_the_setting(
    tmp_path: Path, configured: str | None, revoked: list[str]
) -> None:
    secret = None if configured is None else SecretStr(configured)
    settings = Settings(data_dir=tmp_path, admin_secret=secret)
    with TestClient(build_app(settings, revoked)) as client:
        response = client.get("/admin/v1/organisations", headers={"Authorization": "Bearer "})
    assert response.status_code == 403
    error = error_of(response)
    assert error["name"] == "FORBIDDEN"
    assert "HOMILY_ADMIN_SECRET" in error["message"]


def test_organisation_crud(client: TestClient) -> None:
    org = create_org(client, "  Acme Church  ")
    assert org["name"] == "Acme Church"
    assert org["org_id"].startswith("org_")
    assert isinstance(org["created_at"], int)
    assert client.get(f"/admin/v1/organisations/{org['org_id']}").json() == org
    listed = client.get("/admin/v1/organisations").json()
    assert listed == {"object": "list", "data": [org]}
    duplicate = client.post("/admin/v1/organisations", json={"name": "Acme Church"})
    assert duplicate.status_code == 400
    assert error_of(duplicate)["param"] == "name"
    deleted = client.delete(f"/admin/v1/organisations/{org['org_id']}")
    assert deleted.json() == {"id": org["org_id"], "deleted": True}
    again = client.delete(f"/admin/v1/organisations/{org['org_id']}")
    assert again.status_code == 404
    assert error_of(again)["code"] == 1004
    assert client.get(f"/admin/v1/organisations/{org['org_id']}").status_code == 404


def test_new_organisation_may_use_every_model(client: TestClient) -> None:
    assert create_org(client)["allowed_models"] is None


def test_set_and_clear_allowed_models(client: TestClient, allow_lists: list[AllowListChange]) -> None:
    org = create_org(client)
    path = f"/admin/v1/organisations/{org['org_id']}"
    models = [" gloo-openai-gpt-5-mini", "gloo-anthropic-claude-haiku-4.5", "gloo-openai-gpt-5-mini"]
    response = client.patch(path, json={"allowed_models": models})
    assert response.status_code == 200, response.text
    limited = response.json()
    assert limited == {**org, "allowed_models": ["gloo-openai-gpt-5-mini", "gloo-anthropic-claude-haiku-4.5"]}
    assert client.get(path).json() == limited
    assert client.get("/admin/v1/organisations").json()["data"] == [limited]
    cleared = client.patch(path, json={"allowed_models": None})
    assert cleared.status_code == 200
    assert cleared.json() == org
    # The running process is told at once (the app passes these to the in-memory registry).
    assert allow_lists == [
        (org["org_id"], ["gloo-openai-gpt-5-mini", "gloo-anthropic-claude-haiku-4.5"]),
        (org["org_id"], None),
    ]


def test_unknown_model_ids_are_refused_naming_where_to_find_valid_ones(
    client: TestClient, allow_lists: list[AllowListChange]
) -> None:
    org = create_org(client)
    path = f"/admin/v1/organisations/{org['org_id']}"
    response = client.patch(path, json={"allowed_models": ["gloo-openai-gpt-5-mini", "gpt-4o", "gloo-nope"]})
    assert response.status_code == 422
    error = error_of(response)
    assert error["param"] == "allowed_models"
    assert "'gpt-4o', 'gloo-nope'" in error["message"]
    assert "GET /platform/v2/models" in error["message"]
    assert "gloo-openai-gpt-5-mini'" not in error["message"]
    assert client.get(path).json()["allowed_models"] is None
    assert allow_lists == []


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"allowed_models": []}, 422, "send null"),
        ({}, 400, "allowed_models"),
        ({"allowed_models": "gloo-openai-gpt-5-mini"}, 400, "allowed_models"),
        ({"allowed_models": [""]}, 422, "allowed_models"),
        ({"allowed_models": [1]}, 400, "allowed_models"),
    ],
)
def test_malformed_allow_lists_are_refused(
    client: TestClient, body: dict[str, Any], status: int, fragment: str
) -> None:
    org = create_org(client)
    response = client.patch(f"/admin/v1/organisations/{org['org_id']}", json=body)
    assert response.status_code == status, response.text
    assert fragment in error_of(response)["message"]
    assert error_of(response)["param"].startswith("allowed_models")  # "allowed_models[0]" for an item


def test_allowed_models_of_unknown_organisation_is_404(client: TestClient) -> None:
    response = client.patch("/admin/v1/organisations/org_missing", json={"allowed_models": None})
    assert response.status_code == 404
    assert error_of(response)["param"] == "org_id"


def test_setting_allowed_models_needs_the_admin_secret(client: TestClient) -> None:
    org = create_org(client)
    client.headers.pop("Authorization")
    response = client.patch(f"/admin/v1/organisations/{org['org_id']}", json={"allowed_models": None})
    assert response.status_code == 401


def test_credential_lifecycle_and_revocation(client: TestClient, revoked: list[str]) -> None:
    org = create_org(client)
    response = client.post("/admin/v1/credentials", json={"org_id": org["org_id"], "name": "web"})
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    issued = response.json()
    assert set(issued) == {"org_id", "client_id", "client_secret"}
    assert issued["org_id"] == org["org_id"]

    store = client.app.state.store  # type: ignore[attr-defined]
    credential = client.portal.call(store.get_credential, issued["client_id"])  # type: ignore[union-attr]
    assert verify_secret(issued["client_secret"], credential.secret_hash)

    listed = client.get("/admin/v1/credentials", params={"org_id": org["org_id"]})
    assert issued["client_secret"] not in listed.text
    assert "scrypt$" not in listed.text
    assert [c["client_id"] for c in listed.json()["data"]] == [issued["client_id"]]
    assert client.get("/admin/v1/credentials", params={"org_id": "org_missing"}).status_code == 404

    disabled = client.patch(f"/admin/v1/credentials/{issued['client_id']}", json={"disabled": True})
    assert disabled.json()["disabled"] is True
    assert revoked == [issued["client_id"]]
    enabled = client.patch(f"/admin/v1/credentials/{issued['client_id']}", json={"disabled": False})
    assert enabled.json()["disabled"] is False
    assert revoked == [issued["client_id"]]

    deleted = client.delete(f"/admin/v1/credentials/{issued['client_id']}")
    assert deleted.json() == {"id": issued["client_id"], "deleted": True}
    assert revoked == [issued["client_id"], issued["client_id"]]
    assert client.delete(f"/admin/v1/credentials/{issued['client_id']}").status_code == 404
    assert client.get(f"/admin/v1/credentials/{issued['client_id']}").status_code == 404


def test_credential_name_defaults_and_unknown_org_is_404(client: TestClient) -> None:
    org = create_org(client)
    issued = client.post("/admin/v1/credentials", json={"org_id": org["org_id"]}).json()
    assert client.get(f"/admin/v1/credentials/{issued['client_id']}").json()["name"] == "default"
    missing = client.post("/admin/v1/credentials", json={"org_id": "org_missing", "name": "x"})
    assert missing.status_code == 404
    assert error_of(missing)["param"] == "org_id"


def test_deleting_an_organisation_revokes_its_credentials(client: TestClient, revoked: list[str]) -> None:
    org, other = create_org(client, "a"), create_org(client, "b")
    ids = {client.post("/admin/v1/credentials", json={"org_id": org["org_id"]}).json()["client_id"] for _ in "ab"}
    kept = client.post("/admin/v1/credentials", json={"org_id": other["org_id"]}).json()["client_id"]
    assert client.delete(f"/admin/v1/organisations/{org['org_id']}").status_code == 200
    assert set(revoked) == ids
    assert [c["client_id"] for c in client.get("/admin/v1/credentials").json()["data"]] == [kept]


def test_publisher_crud(client: TestClient) -> None:
    org, other = create_org(client, "a"), create_org(client, "b")
    created = client.post("/admin/v1/publishers", json={"org_id": org["org_id"], "name": "Sermons"})
    assert created.status_code == 201
    publisher = created.json()
    assert (publisher["name"], publisher["shared"], publisher["org_id"]) == ("Sermons", False, org["org_id"])
    duplicate = client.post("/admin/v1/publishers", json={"org_id": org["org_id"], "name": "Sermons"})
    assert duplicate.status_code == 400
    shared = client.post("/admin/v1/publishers", json={"org_id": other["org_id"], "name": "Sermons", "shared": True})
    assert shared.json()["shared"] is True
    assert len(client.get("/admin/v1/publishers").json()["data"]) == 2
    only = client.get("/admin/v1/publishers", params={"org_id": org["org_id"]}).json()["data"]
    assert only == [publisher]
    assert client.delete(f"/admin/v1/publishers/{publisher['publisher_id']}").json()["deleted"] is True
    assert client.delete(f"/admin/v1/publishers/{publisher['publisher_id']}").status_code == 404
    unknown_org = client.post("/admin/v1/publishers", json={"org_id": "org_missing", "name": "x"})
    assert unknown_org.status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "status", "param"),
    [
        ("/admin/v1/organisations", b"", 400, "body"),
        ("/admin/v1/organisations", b"{not json", 400, "body"),
        ("/admin/v1/organisations", b"[]", 400, "body"),
        ("/admin/v1/organisations", b"{}", 400, "name"),
        ("/admin/v1/organisations", b'{"name": 7}', 400, "name"),
        ("/admin/v1/organisations", b'{"name": "   "}', 422, "name"),
        ("/admin/v1/organisations", b'{"name": "' + b"x" * 201 + b'"}', 422, "name"),
        ("/admin/v1/organisations", b'{"name": "bad\\u0000name"}', 400, "name"),
        ("/admin/v1/credentials", b'{"name": "x"}', 400, "org_id"),
        ("/admin/v1/publishers", b'{"org_id": "o", "name": "p", "shared": "yes"}', 400, "shared"),
    ],
)
def test_bad_bodies_get_the_envelope(client: TestClient, path: str, body: bytes, status: int, param: str) -> None:
    response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    error = error_of(response)
    assert (error["code"], error["param"], error["fault"]) == (1001, param, "client")
