"""The request schemas in /openapi.json state the rules the server enforces: a body the server refuses for a
documented rule is invalid by the document too, and its corrected twin is valid by both.

Found by fuzzing (schemathesis "schema-valid request rejected"): the document let through messages without the
content or tool_call_id their role needs, unparseable filenames and dates, PATCH bodies naming no item, empty
multipart fields, and OAuth scopes without api/access, all of which the server refuses with a 4xx.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS31Validator

from homily.api.openapi import build_openapi
from tests.support.http import api_client, create_publisher
from tests.support.live import LiveHomily

USER = {"role": "user", "content": "What is grace?"}
CALL = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}


def request_schema(path: str, method: str, media: str) -> OAS31Validator:
    document = build_openapi()
    schema = document["paths"][path][method]["requestBody"]["content"][media]["schema"]
    return OAS31Validator({**schema, "components": document["components"]})


def chat(*messages: dict[str, Any]) -> dict[str, Any]:
    return {"messages": [*messages], "auto_routing": True}


CHAT_RULES = [
    (
        chat({"role": "tool", "content": "42"}),
        chat({"role": "assistant", "tool_calls": [CALL]}, {"role": "tool", "content": "42", "tool_call_id": "call_1"}),
    ),
    (chat({"role": "user"}), chat(USER)),
    (chat({"role": "system", "content": None}, USER), chat({"role": "system", "content": "Be brief."}, USER)),
    (chat(USER, {"role": "assistant", "tool_calls": []}), chat(USER, {"role": "assistant", "content": ""})),
]


@pytest.fixture(scope="module")
def client(homily: LiveHomily) -> Iterator[httpx.Client]:
    with api_client(homily) as own:
        yield own


@pytest.fixture(scope="module")
def publisher_id(homily: LiveHomily) -> str:
    return create_publisher(homily, "Rules Press")


@pytest.mark.parametrize(("refused", "accepted"), CHAT_RULES)
def test_message_role_rules_are_documented(
    client: httpx.Client, refused: dict[str, Any], accepted: dict[str, Any]
) -> None:
    schema = request_schema("/ai/v2/chat/completions", "post", "application/json")
    assert not schema.is_valid(refused)
    assert client.post("/ai/v2/chat/completions", json=refused).status_code == 400
    assert schema.is_valid(accepted)
    assert client.post("/ai/v2/chat/completions", json=accepted).status_code == 200


@pytest.mark.parametrize(
    ("fields", "status"),
    [({"filename": "sermon.exe"}, 400), ({"publication_date": ""}, 422), ({"publication_date": "March 1"}, 422)],
)
def test_real_time_upload_rules_are_documented(
    client: httpx.Client, publisher_id: str, fields: dict[str, Any], status: int
) -> None:
    schema = request_schema("/ingestion/v1/real_time_upload", "post", "application/json")
    body = {"content": "Be still, and know that I am God.", "publisher_id": publisher_id}
    assert not schema.is_valid({**body, **fields})
    assert client.post("/ingestion/v1/real_time_upload", json={**body, **fields}).status_code == status
    accepted = {**body, "filename": "Psalm 46.MD", "publication_date": "2024-02-29"}
    assert schema.is_valid(accepted)
    assert client.post("/ingestion/v1/real_time_upload", json=accepted).status_code == 200


@pytest.mark.parametrize("naming", [{}, {"item_id": ""}, {"item_id": None, "producer_id": None}])
def test_patch_must_name_an_item_in_the_document(
    client: httpx.Client, publisher_id: str, naming: dict[str, Any]
) -> None:
    schema = request_schema("/engine/v2/item", "patch", "application/json")
    body = {"publisher_id": publisher_id, "item_title": "Renamed", **naming}
    assert not schema.is_valid(body)
    assert client.patch("/engine/v2/item", json=body).status_code == 400
    assert schema.is_valid({**body, "producer_id": "sermon-7"})


@pytest.mark.parametrize(
    ("form", "files"), [({"publisher_id": ""}, [("files", ("a.txt", b"Grace"))]), ({"publisher_id": "p"}, [])]
)
def test_upload_fields_are_documented(
    client: httpx.Client, form: dict[str, str], files: list[tuple[str, tuple[str, bytes]]]
) -> None:
    schema = request_schema("/ingestion/v2/files", "post", "multipart/form-data")
    assert not schema.is_valid({**form, "files": [name for _, (name, _) in files]})
    response = client.post("/ingestion/v2/files", data=form, files=files or None)
    assert response.status_code == 400, response.text


def test_token_scope_rule_is_documented(homily: LiveHomily) -> None:
    schema = request_schema("/oauth2/token", "post", "application/x-www-form-urlencoded")
    refused = {"grant_type": "client_credentials", "scope": "openid"}
    assert not schema.is_valid(refused)
    auth = (homily.credential.client_id, homily.credential.client_secret)
    answer = httpx.post(homily.base_url + "/oauth2/token", data=refused, auth=auth)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_scope")
    accepted = {**refused, "scope": "openid api/access"}
    assert schema.is_valid(accepted)
    assert httpx.post(homily.base_url + "/oauth2/token", data=accepted, auth=auth).status_code == 200
