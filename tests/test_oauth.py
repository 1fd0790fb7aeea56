"""API.md section 1: the token endpoint, JWT claims, RFC 6749 errors, bearer verification and revocation."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import httpx
import jwt
import pytest

from homily.auth.keys import load_signing_key
from homily.auth.tokens import TokenService
from homily.storage.factory import open_store
from tests.support.http import assert_envelope, auth_headers
from tests.support.live import LiveHomily


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


FORM = {"grant_type": "client_credentials", "scope": "api/access"}


def _token_request(homily: LiveHomily, data: dict[str, str], **kwargs: object) -> httpx.Response:
    return httpx.post(homily.base_url + "/oauth2/token", data=data, **kwargs)  # type: ignore[arg-type]


def _models(homily: LiveHomily, token: str) -> httpx.Response:
    return httpx.get(homily.base_url + "/ai/v2/models", headers=auth_headers(token))


def test_basic_credentials_issue_a_bearer_jwt_with_the_documented_claims(homily: LiveHomily) -> None:
    cred = homily.credential
    before = int(time.time())
    response = _token_request(homily, FORM, auth=(cred.client_id, cred.client_secret))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == claims["client_id"] == cred.client_id
    assert claims["token_use"] == "access"
    assert claims["scope"] == "api/access"
    assert claims["version"] == 2
    assert claims["org_id"] == cred.org_id
    assert claims["iss"] == homily.settings.issuer
    assert before <= claims["iat"] == claims["auth_time"] <= int(time.time())
    assert claims["exp"] == claims["iat"] + 3600
    assert claims["jti"]
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"


def test_form_credentials_and_omitted_scope_are_accepted(homily: LiveHomily) -> None:
    cred = homily.credential
    response = _token_request(
        homily,
        {"grant_type": "client_credentials", "client_id": cred.client_id, "client_secret": cred.client_secret},
    )
    assert response.status_code == 200
    assert _models(homily, response.json()["access_token"]).status_code == 200


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"scope": "api/access"}, "invalid_request"),
        ({"grant_type": "password", "scope": "api/access"}, "unsupported_grant_type"),
        ({"grant_type": "client_credentials", "scope": "admin"}, "invalid_scope"),
    ],
)
def test_rfc6749_request_errors(homily: LiveHomily, data: dict[str, str], error: str) -> None:
    cred = homily.credential
    response = _token_request(homily, data, auth=(cred.client_id, cred.client_secret))
    assert response.status_code == 400
    assert response.json()["error"] == error


def test_json_body_is_an_invalid_request(homily: LiveHomily) -> None:
    cred = homily.credential
    response = httpx.post(homily.base_url + "/oauth2/token", json=FORM, auth=(cred.client_id, cred.client_secret))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_credentials_in_both_header_and_form_are_refused(homily: LiveHomily) -> None:
    cred = homily.credential
    data = {**FORM, "client_id": cred.client_id, "client_secret": cred.client_secret}
    response = _token_request(homily, data, auth=(cred.client_id, cred.client_secret))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic " + base64.b64encode(b"hc_unknown:secret").decode(),
        "Basic not-base64!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Bearer something",
    ],
)
def test_invalid_client_is_401_with_www_authenticate(homily: LiveHomily, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = _token_request(homily, FORM, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")


def test_wrong_secret_is_invalid_client(homily: LiveHomily) -> None:
    response = _token_request(homily, FORM, auth=(homily.credential.client_id, "wrong-secret"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "homily admin credential create" in response.json()["error_description"]  # what to do about it


def _service_with(homily: LiveHomily, key: bytes) -> TokenService:
    return TokenService(key, homily.settings.issuer, 3600)


def _signing_key(homily: LiveHomily) -> bytes:
    """The key the server signs with, wherever its backend keeps it (data-dir file, or the shared database)."""

    async def load() -> bytes:
        store = await open_store(homily.settings)
        try:
            return await load_signing_key(homily.settings, store)
        finally:
            await store.close()

    return asyncio.run(load())


def test_expired_token_is_401(homily: LiveHomily) -> None:
    cred = homily.credential
    old = _service_with(homily, _signing_key(homily)).issue(cred.client_id, cred.org_id, now=time.time() - 7200)
    error = assert_envelope(_models(homily, old.access_token), 401, 1002)
    assert "expired" in error["message"]


def test_token_signed_with_another_key_is_401(homily: LiveHomily) -> None:
    cred = homily.credential
    forged = _service_with(homily, b"x" * 32).issue(cred.client_id, cred.org_id)
    assert_envelope(_models(homily, forged.access_token), 401, 1002)


def test_alg_none_token_is_401(homily: LiveHomily) -> None:
    cred = homily.credential
    claims = jwt.decode(homily.token(), options={"verify_signature": False})
    header = _b64url(b'{"alg":"none","typ":"JWT"}')
    payload = _b64url(json.dumps(claims).encode())
    unsigned = f"{header}.{payload}."
    assert claims["client_id"] == cred.client_id
    assert_envelope(_models(homily, unsigned), 401, 1002)


def test_token_with_tampered_org_is_401(homily: LiveHomily) -> None:
    token = homily.token()
    header, _, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["org_id"] = "org_someone_else"
    tampered = _b64url(json.dumps(claims).encode())
    assert_envelope(_models(homily, f"{header}.{tampered}.{signature}"), 401, 1002)


@pytest.mark.parametrize("authorization", [None, "Bearer", "Token abc", "Bearer not.a.jwt", "Bearer a.b.c"])
def test_missing_or_malformed_bearer_is_401(homily: LiveHomily, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = httpx.get(homily.base_url + "/ai/v2/models", headers=headers)
    assert_envelope(response, 401, 1002)
    # RFC 6750 section 3: a 401 from a bearer-protected resource names the scheme, so clients know what to send.
    assert response.headers["www-authenticate"].startswith("Bearer ")


def test_deleting_a_credential_revokes_its_tokens_within_seconds(homily: LiveHomily) -> None:
    created = httpx.post(
        homily.base_url + "/admin/v1/credentials",
        json={"org_id": homily.credential.org_id, "name": "to-delete"},
        headers=homily.admin_headers(),
    )
    assert created.status_code == 201, created.text
    client_id, secret = created.json()["client_id"], created.json()["client_secret"]
    token = _token_request(homily, FORM, auth=(client_id, secret)).json()["access_token"]
    assert _models(homily, token).status_code == 200
    deleted = httpx.delete(homily.base_url + f"/admin/v1/credentials/{client_id}", headers=homily.admin_headers())
    assert deleted.status_code in (200, 204)
    assert_envelope(_models(homily, token), 401, 1002)
    assert _token_request(homily, FORM, auth=(client_id, secret)).status_code == 401


def test_credential_deleted_by_another_replica_stops_working_after_refresh(homily: LiveHomily) -> None:
    """A deletion that bypasses this process (another replica, same database) is seen at the next refresh."""
    import asyncio

    from homily.admin.service import AdminService
    from homily.storage.factory import open_store

    async def create_and_later_delete() -> tuple[str, str]:
        store = await open_store(homily.settings)
        try:
            issued = await AdminService(store).create_credential(homily.credential.org_id, "replica-test")
        finally:
            await store.close()
        return issued.client_id, issued.client_secret

    client_id, secret = asyncio.run(create_and_later_delete())
    token = _token_request(homily, FORM, auth=(client_id, secret)).json()["access_token"]
    assert _models(homily, token).status_code == 200

    async def delete() -> None:
        store = await open_store(homily.settings)
        try:
            assert await store.delete_credential(client_id)
        finally:
            await store.close()

    asyncio.run(delete())
    deadline = time.monotonic() + 5
    while _models(homily, token).status_code == 200:
        assert time.monotonic() < deadline, "a deleted credential's token still works after 5 s"
        time.sleep(0.05)
    assert_envelope(_models(homily, token), 401, 1002)
