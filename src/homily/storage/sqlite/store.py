"""`SqliteStore`: the embedded `Store` backend (stdlib sqlite3, WAL, one connection on one worker thread)."""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from homily.storage.base import (
    AlreadyExistsError,
    Credential,
    Organisation,
    Publisher,
    ReferenceNotFoundError,
    StoreError,
)
from homily.storage.sqlite.migrations import MIGRATIONS, Migration, check_migrations
from homily.storage.sqlite.worker import ResultT, SqliteWorker

log = logging.getLogger("homily.storage.sqlite")


# Constant SELECT heads; callers append constant WHERE/ORDER BY text and pass every value as a parameter.
_SELECT_ORGANISATIONS = "SELECT org_id, name, created_at, allowed_models FROM organisations"
_SELECT_CREDENTIALS = "SELECT client_id, org_id, name, secret_hash, created_at, disabled FROM credentials"
_SELECT_PUBLISHERS = "SELECT publisher_id, org_id, name, shared, created_at FROM publishers"


def new_org_id() -> str:
    """`org_<24 hex>` from a CSPRNG."""
    return "org_" + secrets.token_hex(12)


def new_publisher_id() -> str:
    """A random UUID4 string, the platform's publisher id shape."""
    return str(uuid.uuid4())


class SqliteStore:
    """The `Store` protocol over one SQLite file.

    Invariant: the single `sqlite3.Connection` is created, used and closed only on this store's one worker
    thread (a single-thread executor). That serialises all access without locks, keeps the event loop free of
    blocking I/O, and makes every method safe to await from any event loop. The connection runs in autocommit
    mode; a write of more than one statement must wrap them in an explicit transaction.
    """

    def __init__(self, path: Path, *, migrations: Sequence[Migration] = MIGRATIONS) -> None:
        check_migrations(migrations)
        self.path = path
        self._worker = SqliteWorker(path, "sqlite", migrations)

    # -- lifecycle --------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the database (and its directory) or upgrade an existing one to the latest schema."""
        await self._worker.open()
        log.debug("opened sqlite store", extra={"path": str(self.path), "schema_version": self._worker.schema_version})

    async def close(self) -> None:
        await self._worker.close()

    async def ping(self) -> bool:
        if not self._worker.is_open:
            return False
        try:
            return await self._run(lambda db: db.execute("SELECT 1").fetchone() == (1,))
        except sqlite3.Error:
            log.warning("sqlite ping failed", exc_info=True)
            return False

    async def _run(self, work: Callable[[sqlite3.Connection], ResultT]) -> ResultT:
        return await self._worker.run(work)

    # -- organisations ----------------------------------------------------------------------

    async def create_organisation(self, name: str) -> Organisation:
        organisation = Organisation(org_id=new_org_id(), name=name, created_at=time.time())

        def insert(db: sqlite3.Connection) -> None:
            with _constraint_errors(f"an organisation named {name!r} already exists", ""):
                db.execute(
                    "INSERT INTO organisations (org_id, name, created_at) VALUES (?, ?, ?)",
                    (organisation.org_id, organisation.name, organisation.created_at),
                )

        await self._run(insert)
        return organisation

    async def get_organisation(self, org_id: str) -> Organisation | None:
        sql = f"{_SELECT_ORGANISATIONS} WHERE org_id = ?"
        row = await self._run(lambda db: db.execute(sql, (org_id,)).fetchone())
        return None if row is None else _organisation(row)

    async def list_organisations(self) -> list[Organisation]:
        sql = f"{_SELECT_ORGANISATIONS} ORDER BY created_at, org_id"
        rows = await self._run(lambda db: db.execute(sql).fetchall())
        return [_organisation(row) for row in rows]

    async def set_allowed_models(self, org_id: str, models: Sequence[str] | None) -> bool:
        sql = "UPDATE organisations SET allowed_models = ? WHERE org_id = ?"
        encoded = None if models is None else json.dumps(list(models))
        return await self._run(lambda db: db.execute(sql, (encoded, org_id)).rowcount > 0)

    async def delete_organisation(self, org_id: str) -> bool:
        sql = "DELETE FROM organisations WHERE org_id = ?"
        return await self._run(lambda db: db.execute(sql, (org_id,)).rowcount > 0)

    # -- credentials ------------------------------------------------------------------------

    async def create_credential(self, org_id: str, name: str, client_id: str, secret_hash: str) -> Credential:
        credential = Credential(
            client_id=client_id, org_id=org_id, name=name, secret_hash=secret_hash, created_at=time.time()
        )

        def insert(db: sqlite3.Connection) -> None:
            with _constraint_errors(
                f"a credential with client id {client_id!r} already exists", f"no organisation {org_id!r}"
            ):
                db.execute(
                    "INSERT INTO credentials (client_id, org_id, name, secret_hash, created_at, disabled)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (client_id, org_id, name, secret_hash, credential.created_at, 0),
                )

        await self._run(insert)
        return credential

    async def get_credential(self, client_id: str) -> Credential | None:
        sql = f"{_SELECT_CREDENTIALS} WHERE client_id = ?"
        row = await self._run(lambda db: db.execute(sql, (client_id,)).fetchone())
        return None if row is None else _credential(row)

    async def list_credentials(self, org_id: str | None = None) -> list[Credential]:
        if org_id is None:
            sql = f"{_SELECT_CREDENTIALS} ORDER BY created_at, client_id"
            rows = await self._run(lambda db: db.execute(sql).fetchall())
        else:
            sql = f"{_SELECT_CREDENTIALS} WHERE org_id = ? ORDER BY created_at, client_id"
            rows = await self._run(lambda db: db.execute(sql, (org_id,)).fetchall())
        return [_credential(row) for row in rows]

    async def delete_credential(self, client_id: str) -> bool:
        sql = "DELETE FROM credentials WHERE client_id = ?"
        return await self._run(lambda db: db.execute(sql, (client_id,)).rowcount > 0)

    async def set_credential_disabled(self, client_id: str, disabled: bool) -> bool:
        sql = "UPDATE credentials SET disabled = ? WHERE client_id = ?"
        return await self._run(lambda db: db.execute(sql, (int(disabled), client_id)).rowcount > 0)

    async def active_credentials(self) -> dict[str, str]:
        sql = "SELECT client_id, org_id FROM credentials WHERE disabled = 0"
        rows = await self._run(lambda db: db.execute(sql).fetchall())
        return {str(client_id): str(org_id) for client_id, org_id in rows}

    # -- publishers -------------------------------------------------------------------------

    async def create_publisher(self, org_id: str, name: str, *, shared: bool = False) -> Publisher:
        publisher = Publisher(
            publisher_id=new_publisher_id(), org_id=org_id, name=name, shared=shared, created_at=time.time()
        )
        taken = (
            f"a shared publisher or one of this organisation's publishers is already named {name!r}"
            if shared
            else f"this organisation already has a publisher named {name!r}"
        )

        def insert(db: sqlite3.Connection) -> None:
            with _constraint_errors(taken, f"no organisation {org_id!r}"):
                db.execute(
                    "INSERT INTO publishers (publisher_id, org_id, name, shared, created_at) VALUES (?, ?, ?, ?, ?)",
                    (publisher.publisher_id, org_id, name, int(shared), publisher.created_at),
                )

        await self._run(insert)
        return publisher

    async def get_publisher(self, publisher_id: str) -> Publisher | None:
        sql = f"{_SELECT_PUBLISHERS} WHERE publisher_id = ?"
        row = await self._run(lambda db: db.execute(sql, (publisher_id,)).fetchone())
        return None if row is None else _publisher(row)

    async def find_publisher(self, org_id: str, name: str) -> Publisher | None:
        # The organisation's own publisher sorts first; otherwise the (unique) shared one of that name.
        sql = (
            f"{_SELECT_PUBLISHERS} WHERE name = ? AND (org_id = ? OR shared = 1) "
            "ORDER BY CASE WHEN org_id = ? THEN 0 ELSE 1 END, created_at LIMIT 1"
        )
        row = await self._run(lambda db: db.execute(sql, (name, org_id, org_id)).fetchone())
        return None if row is None else _publisher(row)

    async def list_publishers(self, org_id: str | None = None) -> list[Publisher]:
        if org_id is None:
            sql = f"{_SELECT_PUBLISHERS} ORDER BY created_at, publisher_id"
            rows = await self._run(lambda db: db.execute(sql).fetchall())
        else:
            sql = f"{_SELECT_PUBLISHERS} WHERE org_id = ? ORDER BY created_at, publisher_id"
            rows = await self._run(lambda db: db.execute(sql, (org_id,)).fetchall())
        return [_publisher(row) for row in rows]

    async def delete_publisher(self, publisher_id: str) -> bool:
        sql = "DELETE FROM publishers WHERE publisher_id = ?"
        return await self._run(lambda db: db.execute(sql, (publisher_id,)).rowcount > 0)


@contextmanager
def _constraint_errors(duplicate_message: str, missing_reference_message: str) -> Iterator[None]:
    """Translate sqlite's IntegrityError into the backend-neutral store errors, with a readable message."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        code = getattr(exc, "sqlite_errorcode", None)
        if code in (sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY):
            raise AlreadyExistsError(duplicate_message) from exc
        if code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
            raise ReferenceNotFoundError(missing_reference_message or str(exc)) from exc
        raise StoreError(f"constraint violated: {exc}") from exc


def _organisation(row: tuple[object, ...]) -> Organisation:
    org_id, name, created_at, allowed_models = row
    return Organisation(
        org_id=str(org_id),
        name=str(name),
        created_at=_float(created_at),
        allowed_models=_model_ids(allowed_models),
    )


def _model_ids(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    try:
        decoded = json.loads(str(value))
    except ValueError:
        decoded = None
    if not isinstance(decoded, list) or not all(isinstance(item, str) for item in decoded):
        raise StoreError(f"corrupt model allow-list in the database: {value!r}")
    return tuple(decoded)


def _credential(row: tuple[object, ...]) -> Credential:
    client_id, org_id, name, secret_hash, created_at, disabled = row
    return Credential(
        client_id=str(client_id),
        org_id=str(org_id),
        name=str(name),
        secret_hash=str(secret_hash),
        created_at=_float(created_at),
        disabled=bool(disabled),
    )


def _publisher(row: tuple[object, ...]) -> Publisher:
    publisher_id, org_id, name, shared, created_at = row
    return Publisher(
        publisher_id=str(publisher_id),
        org_id=str(org_id),
        name=str(name),
        shared=bool(shared),
        created_at=_float(created_at),
    )


def _float(value: object) -> float:
    if not isinstance(value, int | float):
        raise StoreError(f"corrupt timestamp in the database: {value!r}")
    return float(value)
