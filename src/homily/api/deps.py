"""What every handler needs: the services, the caller's principal, and a size-limited body."""

from __future__ import annotations

from starlette.requests import Request

from homily.auth.tokens import Principal
from homily.errors import PayloadTooLargeError, UnauthorizedError
from homily.services import Services


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def request_id(request: Request) -> str:
    rid: str = request.scope.get("state", {}).get("request_id", "")
    return rid


_CHALLENGE = 'Bearer realm="homily"'


async def authenticate(request: Request) -> Principal:
    """Verify `Authorization: Bearer <token>` (pure CPU) and that its credential is still live (in memory).

    A refusal is 401 with `WWW-Authenticate: Bearer ...` (RFC 6750 section 3): `error="invalid_token"` when a token
    was presented."""
    try:
        return await _principal(request)
    except UnauthorizedError as exc:
        presented = request.headers.get("authorization", "").lower().startswith("bearer ")
        exc.headers.setdefault("WWW-Authenticate", _CHALLENGE + (', error="invalid_token"' if presented else ""))
        raise


async def _principal(request: Request) -> Principal:
    header = request.headers.get("authorization")
    if not header:
        raise UnauthorizedError(
            "Missing Authorization header; send 'Authorization: Bearer <token>' with a token from POST /oauth2/token."
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError("The Authorization header must be 'Bearer <token>'.")
    found = services(request)
    principal = found.tokens.verify(token.strip())
    org_id = await found.credentials.resolve(principal.client_id)
    if org_id != principal.org_id:
        raise UnauthorizedError("The credential behind this token was deleted or disabled.")
    return principal


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) anything over `limit` bytes without reading it all into memory."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"The request body exceeds the limit of {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"The request body exceeds the limit of {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)
