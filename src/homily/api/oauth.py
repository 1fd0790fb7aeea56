"""`POST /oauth2/token`: OAuth2 client credentials (API.md section 1; errors per RFC 6749 section 5.2)."""

from __future__ import annotations

import asyncio
import base64
import binascii
from urllib.parse import parse_qs, unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from homily.api.deps import read_body, services
from homily.api.responses import json_response
from homily.auth.secrets import verify_secret
from homily.auth.tokens import SCOPE

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_MAX_FORM_BYTES = 16 * 1024


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    headers = dict(_NO_STORE)
    if error == "invalid_client":
        status = 401
        headers["WWW-Authenticate"] = 'Basic realm="homily"'
    return json_response({"error": error, "error_description": description}, status=status, headers=headers)


def _basic_credentials(header: str | None) -> tuple[str, str] | str | None:
    """(client_id, secret) from an HTTP Basic header; None when absent; an error description when malformed."""
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return "the Authorization header must use the Basic scheme"
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "the Basic credentials are not valid base64"
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return "the Basic credentials must be client_id:client_secret"
    # RFC 6749 2.3.1: both parts are form-urlencoded before base64.
    return unquote(client_id), unquote(secret)


async def token(request: Request) -> Response:
    found = services(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return oauth_error("invalid_request", "send the body as application/x-www-form-urlencoded")
    raw = await read_body(request, _MAX_FORM_BYTES)
    try:
        form = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        return oauth_error("invalid_request", "the form body is not UTF-8")
    if any(len(values) > 1 for values in form.values()):
        return oauth_error("invalid_request", "a parameter was repeated")
    params = {key: values[0] for key, values in form.items()}
    grant_type = params.get("grant_type")
    if not grant_type:
        return oauth_error("invalid_request", "grant_type is required (grant_type=client_credentials)")
    if grant_type != "client_credentials":
        return oauth_error("unsupported_grant_type", "only grant_type=client_credentials is supported")
    scope = params.get("scope")
    if scope is not None and SCOPE not in scope.split():
        return oauth_error("invalid_scope", f"the only scope offered is {SCOPE}")
    basic = _basic_credentials(request.headers.get("authorization"))
    if isinstance(basic, str):
        return oauth_error("invalid_client", basic)
    form_id, form_secret = params.get("client_id"), params.get("client_secret")
    if basic is not None and form_secret is not None:
        return oauth_error("invalid_request", "send client credentials either with HTTP Basic or in the form, not both")
    if basic is not None:
        client_id, secret = basic
    elif form_id and form_secret:
        client_id, secret = form_id, form_secret
    else:
        return oauth_error("invalid_client", "client authentication is required (HTTP Basic client_id:client_secret)")
    credential = await found.store.get_credential(client_id)
    # Hash even when the id is unknown, so response time does not reveal which ids exist.
    stored_hash = credential.secret_hash if credential is not None else found.dummy_secret_hash
    valid = await asyncio.to_thread(verify_secret, secret, stored_hash)
    if credential is None or credential.disabled or not valid:
        return oauth_error(
            "invalid_client",
            "unknown client, wrong secret or disabled credential; a secret is shown only when its credential is "
            "created: a lost one is replaced by a new credential (`homily admin credential create --org ORG_ID`)",
        )
    await found.credentials.remember(credential.client_id, credential.org_id)
    issued = found.tokens.issue(credential.client_id, credential.org_id)
    return json_response(
        {"access_token": issued.access_token, "token_type": "Bearer", "expires_in": issued.expires_in},
        headers=_NO_STORE,
    )


def oauth_routes() -> list[Route]:
    return [Route("/oauth2/token", token, methods=["POST"])]
