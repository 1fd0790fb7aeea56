"""Client ids, client secrets, and the slow hash secrets are stored as.

A stored hash is self-describing, `scrypt$n=<N>,r=<r>,p=<p>$<salt>$<digest>` (salt and digest in unpadded
url-safe base64), so the cost can be raised later: old hashes keep verifying with their own parameters and
`needs_rehash` says which ones to upgrade at the next successful login.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from homily.ids import random_alphanumeric

log = logging.getLogger("homily.auth")

CLIENT_ID_PREFIX = "hc_"
_SCHEME = "scrypt"
_SALT_BYTES = 16
_DIGEST_BYTES = 32
_SECRET_BYTES = 32
_MAX_LOG2_N = 20  # refuse absurd parameters from a tampered row instead of allocating gigabytes


@dataclass(frozen=True, slots=True)
class ScryptParameters:
    """scrypt cost. The default (N=2^13, r=8, p=1: 8 MiB, ~40 ms on this 2-core machine) bounds brute force
    of a leaked database while keeping a token request cheap; raise it here and old hashes still verify."""

    n: int = 2**13
    r: int = 8
    p: int = 1

    def encode(self) -> str:
        return f"n={self.n},r={self.r},p={self.p}"

    @property
    def max_memory(self) -> int:
        return 128 * self.r * (self.n + self.p + 2) + 1024 * 1024

    def is_valid(self) -> bool:
        power_of_two = self.n > 1 and self.n & (self.n - 1) == 0
        return power_of_two and self.n <= 2**_MAX_LOG2_N and 1 <= self.r <= 32 and 1 <= self.p <= 16


DEFAULT_PARAMETERS = ScryptParameters()


def new_client_id() -> str:
    """`hc_` + 24 random alphanumerics (~143 bits): safe in URLs, Basic auth and form bodies, easy to copy."""
    return CLIENT_ID_PREFIX + random_alphanumeric(24)


def new_client_secret() -> str:
    """32 CSPRNG bytes as unpadded url-safe base64 (43 characters)."""
    return secrets.token_urlsafe(_SECRET_BYTES)


def hash_secret(secret: str, parameters: ScryptParameters = DEFAULT_PARAMETERS) -> str:
    """A fresh-salted scrypt hash of `secret`, self-describing. CPU-bound (~40 ms): call it off the loop."""
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(secret, salt, parameters, _DIGEST_BYTES)
    return "$".join((_SCHEME, parameters.encode(), _b64encode(salt), _b64encode(digest)))


def verify_secret(secret: str, stored: str) -> bool:
    """True when `secret` matches `stored` (constant-time comparison); False on mismatch or malformed hash."""
    parsed = _parse(stored)
    if parsed is None:
        log.warning("stored secret hash is malformed; rejecting")
        return False
    parameters, salt, expected = parsed
    actual = _scrypt(secret, salt, parameters, len(expected))
    return hmac.compare_digest(actual, expected)


def needs_rehash(stored: str, parameters: ScryptParameters = DEFAULT_PARAMETERS) -> bool:
    """True when `stored` was made with other parameters than `parameters` (or cannot be parsed)."""
    parsed = _parse(stored)
    return parsed is None or parsed[0] != parameters


def _scrypt(secret: str, salt: bytes, parameters: ScryptParameters, length: int) -> bytes:
    return hashlib.scrypt(
        secret.encode("utf-8"),
        salt=salt,
        n=parameters.n,
        r=parameters.r,
        p=parameters.p,
        maxmem=parameters.max_memory,
        dklen=length,
    )


def _parse(stored: str) -> tuple[ScryptParameters, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 4 or parts[0] != _SCHEME:
        return None
    try:
        fields = dict(item.split("=", 1) for item in parts[1].split(","))
        parameters = ScryptParameters(n=int(fields["n"]), r=int(fields["r"]), p=int(fields["p"]))
        salt = _b64decode(parts[2])
        digest = _b64decode(parts[3])
    except (ValueError, KeyError, binascii.Error):
        return None
    if not parameters.is_valid() or len(salt) < 8 or not 16 <= len(digest) <= 64:
        return None
    return parameters, salt, digest


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
