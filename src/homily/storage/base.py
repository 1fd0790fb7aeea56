"""Store protocols. Every backend (SQLite now, PostgreSQL later) passes the same contract suite in tests/.

Methods are async so a backend may use a network driver; the SQLite backend runs its work on a dedicated thread.
Hashing of secrets happens above this layer: a store only ever sees `secret_hash`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class StoreError(Exception):
    """Base of storage failures that callers may handle."""


class StoreUnavailableError(StoreError):
    """The backend cannot be reached right now (a database server down or restarting). Transient: callers retry
    later or answer 503."""


class AlreadyExistsError(StoreError):
    """A unique name is already taken (e.g. a publisher name within an organisation)."""


class ReferenceNotFoundError(StoreError):
    """A referenced row (e.g. the organisation of a new credential) does not exist."""


@dataclass(frozen=True, slots=True)
class Organisation:
    """A tenant. `allowed_models` is the allow-list of catalog model ids its credentials may use; None means
    every model in the catalog (the default, and what every organisation had before allow-lists existed)."""

    org_id: str
    name: str
    created_at: float
    allowed_models: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Credential:
    """An OAuth2 client. `secret_hash` is a slow hash (see `homily.auth.secrets`), never the secret."""

    client_id: str
    org_id: str
    name: str
    secret_hash: str
    created_at: float
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class Publisher:
    """A named content collection owned by an organisation; `shared` ones (GlooGrounded) are readable by all."""

    publisher_id: str
    org_id: str
    name: str
    shared: bool
    created_at: float


class OrganisationStore(Protocol):
    async def create_organisation(self, name: str) -> Organisation: ...
    async def get_organisation(self, org_id: str) -> Organisation | None: ...
    async def list_organisations(self) -> list[Organisation]: ...
    async def set_allowed_models(self, org_id: str, models: Sequence[str] | None) -> bool:
        """Replace the organisation's model allow-list (None: every model), order kept. False when it did not
        exist."""
        ...

    async def delete_organisation(self, org_id: str) -> bool:
        """Delete the organisation with its credentials and publishers. False when it did not exist."""
        ...


class CredentialStore(Protocol):
    async def create_credential(self, org_id: str, name: str, client_id: str, secret_hash: str) -> Credential:
        """Raises `ReferenceNotFoundError` for an unknown organisation, `AlreadyExistsError` for a taken id."""
        ...

    async def get_credential(self, client_id: str) -> Credential | None: ...
    async def list_credentials(self, org_id: str | None = None) -> list[Credential]: ...
    async def delete_credential(self, client_id: str) -> bool: ...
    async def set_credential_disabled(self, client_id: str, disabled: bool) -> bool: ...

    async def active_credentials(self) -> dict[str, str]:
        """`client_id -> org_id` for every enabled credential: the revocation cache is rebuilt from this."""
        ...


class PublisherStore(Protocol):
    async def create_publisher(self, org_id: str, name: str, *, shared: bool = False) -> Publisher:
        """Names are unique within an organisation (`AlreadyExistsError`)."""
        ...

    async def get_publisher(self, publisher_id: str) -> Publisher | None: ...
    async def find_publisher(self, org_id: str, name: str) -> Publisher | None:
        """The organisation's own publisher of that name, else a shared one of that name, else None."""
        ...

    async def list_publishers(self, org_id: str | None = None) -> list[Publisher]: ...
    async def delete_publisher(self, publisher_id: str) -> bool: ...


class Store(OrganisationStore, CredentialStore, PublisherStore, Protocol):
    """Everything the server persists. `open()` creates or migrates the schema; `close()` releases resources."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> bool:
        """True when the backend answers a trivial query (used by `/readyz`)."""
        ...
