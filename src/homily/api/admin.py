"""The admin API under `/admin/v1`, guarded by `Authorization: Bearer <HOMILY_ADMIN_SECRET>`.

Handlers are thin: authorise, parse, call `request.app.state.admin` (an `AdminService`), render.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import cast

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from homily.admin.service import AdminService
from homily.api.responses import json_response
from homily.errors import ForbiddenError, UnauthorizedError
from homily.protocol.admin import (
    CreateCredentialRequest,
    CreateOrganisationRequest,
    CreatePublisherRequest,
    UpdateCredentialRequest,
    UpdateOrganisationRequest,
    credential_json,
    deleted_json,
    list_json,
    organisation_json,
    publisher_json,
)
from homily.protocol.validation import decode_json_object, parse_model
from homily.settings import Settings

Handler = Callable[[Request], Awaitable[Response]]


def admin_routes() -> list[BaseRoute]:
    """The `/admin/v1` mount; the application supplies `state.admin`, `state.settings` and the error handler."""
    return [
        Mount(
            "/admin/v1",
            routes=[
                Route("/organisations", _guarded(create_organisation), methods=["POST"]),
                Route("/organisations", _guarded(list_organisations), methods=["GET"]),
                Route("/organisations/{org_id}", _guarded(get_organisation), methods=["GET"]),
                Route("/organisations/{org_id}", _guarded(update_organisation), methods=["PATCH"]),
                Route("/organisations/{org_id}", _guarded(delete_organisation), methods=["DELETE"]),
                Route("/credentials", _guarded(create_credential), methods=["POST"]),
                Route("/credentials", _guarded(list_credentials), methods=["GET"]),
                Route("/credentials/{client_id}", _guarded(get_credential), methods=["GET"]),
                Route("/credentials/{client_id}", _guarded(update_credential), methods=["PATCH"]),
                Route("/credentials/{client_id}", _guarded(delete_credential), methods=["DELETE"]),
                Route("/publishers", _guarded(create_publisher), methods=["POST"]),
                Route("/publishers", _guarded(list_publishers), methods=["GET"]),
                Route("/publishers/{publisher_id}", _guarded(delete_publisher), methods=["DELETE"]),
            ],
        )
    ]


def authorise_admin(request: Request) -> None:
    """Raise unless the request carries the configured admin secret as a bearer token."""
    settings = cast(Settings, request.app.state.settings)
    configured = settings.admin_secret.get_secret_value() if settings.admin_secret is not None else ""
    if not configured:
        raise ForbiddenError(
            "The admin API is disabled: set HOMILY_ADMIN_SECRET on the server to enable it, "
            "or use `homily admin` on the server machine."
        )
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="homily-admin"'}
    if scheme.lower() != "bearer" or not presented.strip():
        raise UnauthorizedError(
            "Send the admin secret as `Authorization: Bearer <HOMILY_ADMIN_SECRET>`.", headers=challenge
        )
    if not hmac.compare_digest(presented.strip().encode("utf-8"), configured.encode("utf-8")):
        raise UnauthorizedError("The admin secret is not valid.", headers=challenge)


def _guarded(handler: Handler) -> Handler:
    async def guarded(request: Request) -> Response:
        authorise_admin(request)
        return await handler(request)

    guarded.__name__ = handler.__name__
    guarded.__doc__ = handler.__doc__
    return guarded


def _service(request: Request) -> AdminService:
    return cast(AdminService, request.app.state.admin)


def _org_filter(request: Request) -> str | None:
    return request.query_params.get("org_id") or None


# -- organisations -------------------------------------------------------------------------------------


async def create_organisation(request: Request) -> Response:
    body = parse_model(CreateOrganisationRequest, decode_json_object(await request.body()))
    organisation = await _service(request).create_organisation(body.name)
    return json_response(organisation_json(organisation), status=201)


async def list_organisations(request: Request) -> Response:
    organisations = await _service(request).list_organisations()
    return json_response(list_json([organisation_json(item) for item in organisations]))


async def get_organisation(request: Request) -> Response:
    organisation = await _service(request).get_organisation(request.path_params["org_id"])
    return json_response(organisation_json(organisation))


async def update_organisation(request: Request) -> Response:
    body = parse_model(UpdateOrganisationRequest, decode_json_object(await request.body()))
    organisation = await _service(request).set_allowed_models(request.path_params["org_id"], body.allowed_models)
    return json_response(organisation_json(organisation))


async def delete_organisation(request: Request) -> Response:
    org_id: str = request.path_params["org_id"]
    await _service(request).delete_organisation(org_id)
    return json_response(deleted_json(org_id))


# -- credentials ---------------------------------------------------------------------------------------


async def create_credential(request: Request) -> Response:
    body = parse_model(CreateCredentialRequest, decode_json_object(await request.body()))
    issued = await _service(request).create_credential(body.org_id, body.name)
    return json_response(issued.as_json(), status=201, headers={"Cache-Control": "no-store"})


async def list_credentials(request: Request) -> Response:
    credentials = await _service(request).list_credentials(_org_filter(request))
    return json_response(list_json([credential_json(item) for item in credentials]))


async def get_credential(request: Request) -> Response:
    credential = await _service(request).get_credential(request.path_params["client_id"])
    return json_response(credential_json(credential))


async def update_credential(request: Request) -> Response:
    body = parse_model(UpdateCredentialRequest, decode_json_object(await request.body()))
    credential = await _service(request).set_credential_disabled(request.path_params["client_id"], body.disabled)
    return json_response(credential_json(credential))


async def delete_credential(request: Request) -> Response:
    client_id: str = request.path_params["client_id"]
    await _service(request).delete_credential(client_id)
    return json_response(deleted_json(client_id))


# -- publishers ----------------------------------------------------------------------------------------


async def create_publisher(request: Request) -> Response:
    body = parse_model(CreatePublisherRequest, decode_json_object(await request.body()))
    publisher = await _service(request).create_publisher(body.org_id, body.name, shared=body.shared)
    return json_response(publisher_json(publisher), status=201)


async def list_publishers(request: Request) -> Response:
    publishers = await _service(request).list_publishers(_org_filter(request))
    return json_response(list_json([publisher_json(item) for item in publishers]))


async def delete_publisher(request: Request) -> Response:
    publisher_id: str = request.path_params["publisher_id"]
    await _service(request).delete_publisher(publisher_id)
    return json_response(deleted_json(publisher_id))
