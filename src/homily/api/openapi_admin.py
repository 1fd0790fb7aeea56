"""OpenAPI paths and schemas of the admin API under `/admin/v1` (`homily.api.admin`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from homily.protocol.admin import (
    CreateCredentialRequest,
    CreateOrganisationRequest,
    CreatePublisherRequest,
    UpdateCredentialRequest,
    UpdateOrganisationRequest,
)

_REQUESTS: tuple[type[BaseModel], ...] = (
    CreateOrganisationRequest,
    UpdateOrganisationRequest,
    CreateCredentialRequest,
    UpdateCredentialRequest,
    CreatePublisherRequest,
)
_STRING = {"type": "string"}
_CREATED = {"type": "integer", "description": "unix seconds"}


def _object(kind: str | None, properties: dict[str, Any]) -> dict[str, Any]:
    if kind is not None:
        properties = {"object": {"const": kind}, **properties}
    return {"type": "object", "properties": properties, "required": list(properties)}


_RESOURCES: dict[str, dict[str, Any]] = {
    "Organisation": _object(
        "organisation",
        {
            "org_id": _STRING,
            "name": _STRING,
            "allowed_models": {
                "anyOf": [{"type": "array", "items": _STRING}, {"type": "null"}],
                "description": "catalog model ids the organisation may use; null: every model",
            },
            "created_at": _CREATED,
        },
    ),
    "Credential": _object(
        "credential",
        {
            "client_id": _STRING,
            "org_id": _STRING,
            "name": _STRING,
            "disabled": {"type": "boolean"},
            "created_at": _CREATED,
        },
    ),
    "IssuedCredential": _object(
        None, {"org_id": _STRING, "client_id": _STRING, "client_secret": {"type": "string", "description": "once"}}
    ),
    "Publisher": _object(
        "publisher",
        {
            "publisher_id": _STRING,
            "org_id": _STRING,
            "name": _STRING,
            "shared": {"type": "boolean"},
            "created_at": _CREATED,
        },
    ),
    "Deleted": _object(None, {"id": _STRING, "deleted": {"const": True}}),
}


def admin_schemas(ref_template: str) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in _REQUESTS:
        schemas[model.__name__] = model.model_json_schema(ref_template=ref_template)
    for name in ("Organisation", "Credential", "Publisher"):
        item = {"$ref": ref_template.format(model=name)}
        schemas[f"{name}List"] = _object("list", {"data": {"type": "array", "items": item}})
    return {**schemas, **_RESOURCES}


def admin_paths(ref_template: str, error: dict[str, Any]) -> dict[str, Any]:
    """`error` is the error-envelope response object; every operation can also answer 401/403 (admin secret)."""
    security: list[dict[str, list[str]]] = [{"admin": []}]
    refusals = {
        "401": {
            **error,
            "description": "Missing or wrong admin secret",
            "headers": {"WWW-Authenticate": {"schema": _STRING}},
        },
        "403": {**error, "description": "The admin API is disabled (HOMILY_ADMIN_SECRET unset)"},
    }

    def json_of(model: str) -> dict[str, Any]:
        return {"application/json": {"schema": {"$ref": ref_template.format(model=model)}}}

    def operation(
        summary: str, ok: str, body: str | None = None, status: str = "200", path_parameter: str | None = None
    ) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "summary": summary,
            "security": security,
            "responses": {
                status: {"description": "OK", "content": json_of(ok)},
                "400": {**error, "description": "Malformed request"},
                "404": {**error, "description": "Unknown organisation, credential or publisher"},
                "422": {**error, "description": "A value out of range"},
                **refusals,
            },
        }
        if body is not None:
            spec["requestBody"] = {"required": True, "content": json_of(body)}
        if path_parameter is not None:
            spec["parameters"] = [{"name": path_parameter, "in": "path", "required": True, "schema": _STRING}]
        return spec

    org_filter = [{"name": "org_id", "in": "query", "required": False, "schema": _STRING}]
    return {
        "/admin/v1/organisations": {
            "post": operation("Create an organisation", "Organisation", "CreateOrganisationRequest", "201"),
            "get": operation("List organisations", "OrganisationList"),
        },
        "/admin/v1/organisations/{org_id}": {
            "get": operation("An organisation", "Organisation", path_parameter="org_id"),
            "patch": operation(
                "Set the models an organisation may use (null: every model); others are refused with 403",
                "Organisation",
                "UpdateOrganisationRequest",
                path_parameter="org_id",
            ),
            "delete": operation(
                "Delete an organisation with its credentials and publishers", "Deleted", path_parameter="org_id"
            ),
        },
        "/admin/v1/credentials": {
            "post": operation(
                "Create a credential (the secret is in this response only)",
                "IssuedCredential",
                "CreateCredentialRequest",
                "201",
            ),
            "get": {**operation("List credentials", "CredentialList"), "parameters": org_filter},
        },
        "/admin/v1/credentials/{client_id}": {
            "get": operation("A credential", "Credential", path_parameter="client_id"),
            "patch": operation(
                "Disable or enable a credential", "Credential", "UpdateCredentialRequest", path_parameter="client_id"
            ),
            "delete": operation(
                "Delete a credential (its tokens stop working within seconds)", "Deleted", path_parameter="client_id"
            ),
        },
        "/admin/v1/publishers": {
            "post": operation("Create a publisher", "Publisher", "CreatePublisherRequest", "201"),
            "get": {**operation("List publishers", "PublisherList"), "parameters": org_filter},
        },
        "/admin/v1/publishers/{publisher_id}": {
            "delete": operation("Delete a publisher and its content", "Deleted", path_parameter="publisher_id"),
        },
    }
