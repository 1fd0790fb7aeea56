"""JWT access tokens (HS256) with the claims of API.md section 1."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from homily.errors import UnauthorizedError

ALGORITHM = "HS256"
SCOPE = "api/access"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the credential's client id and its organisation."""

    client_id: str
    org_id: str
    expires_at: float
    token_id: str


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int


class TokenService:
    """Issues and verifies access tokens. Verification is pure CPU (no database); results are cached per token."""

    _CACHE_LIMIT = 50_000

    def __init__(self, key: bytes, issuer: str, ttl_seconds: int) -> None:
        if len(key) < 32:
            raise ValueError("the token signing key must be at least 32 bytes")
        self._key = key
        self._issuer = issuer
        self._ttl = ttl_seconds
        self._verified: dict[str, Principal] = {}

    def issue(self, client_id: str, org_id: str, now: float | None = None) -> IssuedToken:
        issued_at = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "sub": client_id,
            "client_id": client_id,
            "token_use": "access",
            "scope": SCOPE,
            "iat": issued_at,
            "auth_time": issued_at,
            "exp": issued_at + self._ttl,
            "jti": str(uuid.uuid4()),
            "iss": self._issuer,
            "version": 2,
            "org_id": org_id,
        }
        return IssuedToken(access_token=jwt.encode(claims, self._key, algorithm=ALGORITHM), expires_in=self._ttl)

    def verify(self, token: str, now: float | None = None) -> Principal:
        """The token's principal, or `UnauthorizedError` (bad signature, alg other than HS256, expired, bad claims)."""
        current = now if now is not None else time.time()
        cached = self._verified.get(token)
        if cached is not None:
            if cached.expires_at > current:
                return cached
            del self._verified[token]
            raise UnauthorizedError("The access token has expired; request a new one from POST /oauth2/token.")
        principal = self._decode(token, current)
        if len(self._verified) >= self._CACHE_LIMIT:
            self._verified.clear()
        self._verified[token] = principal
        return principal

    def _decode(self, token: str, now: float) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "iss", "jti"], "verify_exp": False},
            )
        except jwt.PyJWTError as exc:
            raise UnauthorizedError("The access token is invalid; request a new one from POST /oauth2/token.") from exc
        if claims["exp"] <= now:
            raise UnauthorizedError("The access token has expired; request a new one from POST /oauth2/token.")
        client_id, org_id = claims.get("client_id"), claims.get("org_id")
        if (
            claims.get("token_use") != "access"
            or SCOPE not in str(claims.get("scope", "")).split()
            or not isinstance(client_id, str)
            or not isinstance(org_id, str)
            or client_id != claims["sub"]
        ):
            raise UnauthorizedError("The access token is not a Homily access token.")
        return Principal(client_id=client_id, org_id=org_id, expires_at=float(claims["exp"]), token_id=claims["jti"])
