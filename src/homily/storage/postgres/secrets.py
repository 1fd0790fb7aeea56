"""Secrets that every replica on one database must share, kept in the `secrets` table."""

from __future__ import annotations

import secrets

from homily.storage.base import StoreError
from homily.storage.postgres.pool import Connection

SIGNING_KEY_NAME = "signing_key"
_GENERATED_KEY_BYTES = 32


async def shared_signing_key(connection: Connection) -> bytes:
    """The token signing key stored in the database, created on first use.

    Invariant: every replica gets the same key. A candidate of 32 CSPRNG bytes (as 64 hex characters, the same
    shape as the data directory's `signing.key`) is inserted with `ON CONFLICT DO NOTHING`, then the stored row is
    read back, so when replicas race the first insert wins and all of them read it.
    """
    candidate = secrets.token_hex(_GENERATED_KEY_BYTES)
    await connection.execute(
        "INSERT INTO secrets (name, value) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
        (SIGNING_KEY_NAME, candidate),
    )
    cursor = await connection.execute("SELECT value FROM secrets WHERE name = %s", (SIGNING_KEY_NAME,))
    row = await cursor.fetchone()
    if row is None or not isinstance(row[0], str) or not row[0]:
        raise StoreError("the shared signing key is missing from the secrets table")
    return row[0].encode("utf-8")
