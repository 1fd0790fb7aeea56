"""Wire shapes of the admin API (`/admin/v1`): request models and the JSON objects returned.

Responses never carry a secret hash; a client secret appears only in the response that created it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from homily.storage.base import Credential, Organisation, Publisher

MAX_NAME_LENGTH = 200

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_LENGTH)]
Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
MAX_ALLOWED_MODELS = 200


class AdminRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class CreateOrganisationRequest(AdminRequest):
    name: Name


class UpdateOrganisationRequest(AdminRequest):
    """`allowed_models`: the catalog model ids the organisation may use, or null for every model (required, so an
    empty body is an error rather than a silent no-op)."""

    allowed_models: Annotated[list[Identifier], Field(max_length=MAX_ALLOWED_MODELS)] | None


class CreateCredentialRequest(AdminRequest):
    org_id: Identifier
    name: Name = "default"


class UpdateCredentialRequest(AdminRequest):
    disabled: bool


class CreatePublisherRequest(AdminRequest):
    org_id: Identifier
    name: Name
    shared: bool = False


def organisation_json(organisation: Organisation) -> dict[str, Any]:
    return {
        "object": "organisation",
        "org_id": organisation.org_id,
        "name": organisation.name,
        "allowed_models": None if organisation.allowed_models is None else list(organisation.allowed_models),
        "created_at": int(organisation.created_at),
    }


def credential_json(credential: Credential) -> dict[str, Any]:
    """A credential's public fields: never its secret or the secret's hash."""
    return {
        "object": "credential",
        "client_id": credential.client_id,
        "org_id": credential.org_id,
        "name": credential.name,
        "disabled": credential.disabled,
        "created_at": int(credential.created_at),
    }


def publisher_json(publisher: Publisher) -> dict[str, Any]:
    return {
        "object": "publisher",
        "publisher_id": publisher.publisher_id,
        "org_id": publisher.org_id,
        "name": publisher.name,
        "shared": publisher.shared,
        "created_at": int(publisher.created_at),
    }


def list_json(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": items}


def deleted_json(identifier: str) -> dict[str, Any]:
    return {"id": identifier, "deleted": True}
