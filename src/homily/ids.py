"""Identifiers with the platform's shapes."""

from __future__ import annotations

import secrets
import string
import time

_ALPHANUMERIC = string.ascii_letters + string.digits


_UNBIASED_LIMIT = 248  # 4 * 62: bytes at or above it are dropped so every character is equally likely


def random_alphanumeric(length: int) -> str:
    """`length` characters drawn uniformly from [A-Za-z0-9] by a CSPRNG (one urandom call per id, not per char)."""
    chars: list[str] = []
    while len(chars) < length:
        chars.extend(_ALPHANUMERIC[b % 62] for b in secrets.token_bytes(length + 8) if b < _UNBIASED_LIMIT)
    return "".join(chars[:length])


def generation_id(now: float | None = None) -> str:
    """`gen-<unix seconds>-<20 random alphanumerics>`, the platform's completion id."""
    return f"gen-{int(now if now is not None else time.time())}-{random_alphanumeric(20)}"


def request_id() -> str:
    """`req_<24 hex>`: sent back as `X-Request-Id` and in every error envelope and log line."""
    return "req_" + secrets.token_hex(12)
