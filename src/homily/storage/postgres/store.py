"""`PostgresStore`: the `Store` protocol on PostgreSQL, shared by any number of replicas."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from homily.storage.base import Credential, Organisation, Publisher, StoreError
from homily.storage.postgres.migrations import MIGRATIONS, open_migrated
from homily.storage.postgres.pool import PostgresPool, Row, constraint_errors, describe_url
from homily.storage.postgres.secrets import shared_signing_key
from homily.storage.sqlite.migrations import Migration, check_migrations
from homily.storage.sqlite.store import new_org_id, new_publisher_id

log = logging.getLogger("homily.storage.postgres")

# Constant SELECT heads; callers append constant WHERE/ORDER BY text and pass every value as a parameter.
_SELECT_ORGANISATIONS = "SELECT org_id, name, created_at, allowed_models FROM organisations"
_SELECT_CREDENTIALS = "SELECT client_id, org_id, name, secret_hash, created_at, disabled FROM credentials"
_SELECT_PUBLISHERS = "SELECT publisher_id, org_id, name, shared, created_at FROM publishers"


class PostgresStore:
    """The `Store` protocol over a PostgreSQL database.

    Invariants: every statement runs on a pooled autocommit connection (one statement, one transaction; nothing
    here needs more), so replicas see each other's writes as soon as they are acknowledged. Uniqueness and
    cascades are enforced by the database itself (constraints and `ON DELETE CASCADE`), never by a read-then-write,
    so concurrent replicas cannot break them. `open()` migrates the schema under an advisory lock. A lost server
    surfaces as `DatabaseUnavailableError` (a `StoreError`), and as False from `ping()`.
    """

    def __init__(self, url: str, *, migrations: Sequence[Migration] = MIGRATIONS, pool_size: int = 10) -> None:
        check_migrations(migrations)
        self._migrations = tuple(migrations)
        self._pool = PostgresPool(url, name="store", max_size=pool_size)
        self.schema_version = 0

    # -- lifecycle --------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect and create or upgrade the schema (safe when several replicas open at once)."""
        if self._pool.is_open:
            return
        self.schema_version = await open_migrated(self._pool, self._migrations)
        log.debug(
            "opened postgres store",
            extra={"database": describe_url(self._pool.url), "schema_version": self.schema_version},
        )

    async def close(self) -> None:
        await self._pool.close()

    async def ping(self) -> bool:
        return await self._pool.ping()

    async def shared_signing_key(self) -> bytes:
        """The token signing key every replica on this database uses (created by the first to ask)."""
        async with self._pool.connection() as connection:
            return await shared_signing_key(connection)

    # -- organisations ----------------------------------------------------------------------

    async def create_organisation(self, name: str) -> Organisation:
        organisation = Organisation(org_id=new_org_id(), name=name, created_at=time.time())
        with constraint_errors(f"an organisation named {name!r} already exists", ""):
            await self._pool.changes(
                "INSERT INTO organisations (org_id, name, created_at) VALUES (%s, %s, %s)",
                (organisation.org_id, organisation.name, organisation.created_at),
            )
        return organisation

    async def get_organisation(self, org_id: str) -> Organisation | None:
        row = await self._pool.fetch_one(f"{_SELECT_ORGANISATIONS} WHERE org_id = %s", (org_id,))
        return None if row is None else _organisation(row)

    async def list_organisations(self) -> list[Organisation]:
        rows = await self._pool.fetch_all(f"{_SELECT_ORGANISATIONS} ORDER BY created_at, org_id")
        return [_organisation(row) for row in rows]

    async def set_allowed_models(self, org_id: str, models: Sequence[str] | None) -> bool:
        encoded = None if models is None else list(models)
        return (
            await self._pool.changes(
                "UPDATE organisations SET allowed_models = %s WHERE org_id = %s", (encoded, org_id)
            )
            > 0
        )

    async def delete_organisation(self, org_id: str) -> bool:
        return await self._pool.changes("DELETE FROM organisations WHERE org_id = %s", (org_id,)) > 0

    # -- credentials ------------------------------------------------------------------------

    async def create_credential(self, org_id: str, name: str, client_id: str, secret_hash: str) -> Credential:
        credential = Credential(
            client_id=client_id, org_id=org_id, name=name, secret_hash=secret_hash, created_at=time.time()
        )
        with constraint_errors(
            f"a credential with client id {client_id!r} already exists", f"no organisation {org_id!r}"
        ):
            await self._pool.changes(
                "INSERT INTO credentials (client_id, org_id, name, secret_hash, created_at, disabled)"
                " VALUES (%s, %s, %s, %s, %s, false)",
                (client_id, org_id, name, secret_hash, credential.created_at),
            )
        return credential

    async def get_credential(self, client_id: str) -> Credential | None:
        row = await self._pool.fetch_one(f"{_SELECT_CREDENTIALS} WHERE client_id = %s", (client_id,))
        return None if row is None else _credential(row)

    async def list_credentials(self, org_id: str | None = None) -> list[Credential]:
        if org_id is None:
            rows = await self._pool.fetch_all(f"{_SELECT_CREDENTIALS} ORDER BY created_at, client_id")
        else:
            rows = await self._pool.fetch_all(
                f"{_SELECT_CREDENTIALS} WHERE org_id = %s ORDER BY created_at, client_id", (org_id,)
            )
        return [_credential(row) for row in rows]

    async def delete_credential(self, client_id: str) -> bool:
        return await self._pool.changes("DELETE FROM credentials WHERE client_id = %s", (client_id,)) > 0

    async def set_credential_disabled(self, client_id: str, disabled: bool) -> bool:
        return (
            await self._pool.changes("UPDATE credentials SET disabled = %s WHERE client_id = %s", (disabled, client_id))
            > 0
        )

    async def active_credentials(self) -> dict[str, str]:
        rows = await self._pool.fetch_all("SELECT client_id, org_id FROM credentials WHERE NOT disabled")
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
        with constraint_errors(taken, f"no organisation {org_id!r}"):
            await self._pool.changes(
                "INSERT INTO publishers (publisher_id, org_id, name, shared, created_at) VALUES (%s, %s, %s, %s, %s)",
                (publisher.publisher_id, org_id, name, shared, publisher.created_at),
            )
        return publisher

    async def get_publisher(self, publisher_id: str) -> Publisher | None:
        row = await self._pool.fetch_one(f"{_SELECT_PUBLISHERS} WHERE publisher_id = %s", (publisher_id,))
        return None if row is None else _publisher(row)

    async def find_publisher(self, org_id: str, name: str) -> Publisher | None:
        # The organisation's own publisher sorts first; otherwise the (unique) shared one of that name.
        row = await self._pool.fetch_one(
            f"{_SELECT_PUBLISHERS} WHERE name = %s AND (org_id = %s OR shared) "
            "ORDER BY CASE WHEN org_id = %s THEN 0 ELSE 1 END, created_at LIMIT 1",
            (name, org_id, org_id),
        )
        return None if row is None else _publisher(row)

    async def list_publishers(self, org_id: str | None = None) -> list[Publisher]:
        if org_id is None:
            rows = await self._pool.fetch_all(f"{_SELECT_PUBLISHERS} ORDER BY created_at, publisher_id")
        else:
            rows = await self._pool.fetch_all(
                f"{_SELECT_PUBLISHERS} WHERE org_id = %s ORDER BY created_at, publisher_id", (org_id,)
            )
        return [_publisher(row) for row in rows]

    async def delete_publisher(self, publisher_id: str) -> bool:
        return await self._pool.changes("DELETE FROM publishers WHERE publisher_id = %s", (publisher_id,)) > 0


def _organisation(row: Row) -> Organisation:
    org_id, name, created_at, allowed_models = row
    if allowed_models is not None and not (
        isinstance(allowed_models, list) and all(isinstance(model, str) for model in allowed_models)
    ):
        raise StoreError(f"corrupt model allow-list in the database: {allowed_models!r}")
    return Organisation(
        org_id=str(org_id),
        name=str(name),
        created_at=float(created_at),
        allowed_models=None if allowed_models is None else tuple(allowed_models),
    )


def _credential(row: Row) -> Credential:
    client_id, org_id, name, secret_hash, created_at, disabled = row
    return Credential(
        client_id=str(client_id),
        org_id=str(org_id),
        name=str(name),
        secret_hash=str(secret_hash),
        created_at=float(created_at),
        disabled=bool(disabled),
    )


def _publisher(row: Row) -> Publisher:
    publisher_id, org_id, name, shared, created_at = row
    return Publisher(
        publisher_id=str(publisher_id),
        org_id=str(org_id),
        name=str(name),
        shared=bool(shared),
        created_at=float(created_at),
    )
