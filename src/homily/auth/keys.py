"""The HMAC key that signs access tokens: from `HOMILY_SIGNING_KEY`, else from the database replicas share
(PostgreSQL), else a file in the data directory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path
from typing import Protocol, runtime_checkable

from homily.settings import Settings
from homily.storage.base import Store

log = logging.getLogger("homily.auth")

SIGNING_KEY_FILENAME = "signing.key"
MIN_KEY_BYTES = 32
_GENERATED_KEY_BYTES = 32


@runtime_checkable
class SharedSigningKeySource(Protocol):
    """A store shared by several replicas that keeps one signing key for all of them (`PostgresStore`)."""

    async def shared_signing_key(self) -> bytes: ...


async def load_signing_key(settings: Settings, store: Store) -> bytes:
    """The token signing key of this deployment.

    `HOMILY_SIGNING_KEY` wins. Otherwise a store shared by replicas supplies the key stored in its database
    (created by the first replica that asks), so tokens issued by one replica verify on every other; the embedded
    SQLite store uses `<data_dir>/signing.key` as `load_or_create_signing_key` does.
    """
    configured = configured_signing_key(settings)
    if configured is not None:
        return configured
    if isinstance(store, SharedSigningKeySource):
        key = await store.shared_signing_key()
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(
                f"the signing key stored in the database holds {len(key)} bytes (at least {MIN_KEY_BYTES} needed); "
                "delete its row from the secrets table to generate a new one or set HOMILY_SIGNING_KEY"
            )
        return key
    return await asyncio.to_thread(load_or_create_signing_key, settings)


def configured_signing_key(settings: Settings) -> bytes | None:
    """`HOMILY_SIGNING_KEY` as UTF-8 bytes, or None when unset. Raises `ValueError` when it is too short."""
    if settings.signing_key is None or not settings.signing_key.get_secret_value():
        return None
    key = settings.signing_key.get_secret_value().encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"HOMILY_SIGNING_KEY is {len(key)} bytes; use at least {MIN_KEY_BYTES} random bytes "
            "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)"
        )
    return key


def load_or_create_signing_key(settings: Settings) -> bytes:
    """The token signing key.

    `HOMILY_SIGNING_KEY` (its UTF-8 bytes) wins; otherwise `<data_dir>/signing.key` is read, or created
    with 32 CSPRNG bytes written as 64 hex characters (mode 0600, atomically, never replacing a key another
    process wrote first). The key is the file's text, so `HOMILY_SIGNING_KEY="$(cat signing.key)"` gives
    other replicas the same key. Raises `ValueError` for a key shorter than 32 bytes (HS256 needs that).
    """
    configured = configured_signing_key(settings)
    if configured is not None:
        return configured
    path = settings.data_dir / SIGNING_KEY_FILENAME
    if not path.exists():
        _create_key_file(path)
    return _read_key_file(path)


def _read_key_file(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("signing key file is readable by other users; chmod 600 it", extra={"path": str(path)})
    key = path.read_bytes().strip()
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"the signing key file {path} holds {len(key)} bytes (at least {MIN_KEY_BYTES} needed); "
            "delete it to generate a new key (existing tokens become invalid) or set HOMILY_SIGNING_KEY"
        )
    return key


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = secrets.token_hex(_GENERATED_KEY_BYTES).encode("ascii")
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            # A hard link publishes the complete file atomically and fails if another process won the race.
            os.link(temporary, path)
        except FileExistsError:
            log.info("signing key was created concurrently; using the existing one", extra={"path": str(path)})
        except OSError:
            # Filesystems without hard links: fall back to an atomic rename.
            temporary.replace(path)
        else:
            log.info("created token signing key", extra={"path": str(path)})
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
