"""`AdminService`: the one place organisations, credentials and publishers are created and removed."""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from homily.auth.keys import load_signing_key
from homily.auth.secrets import hash_secret, new_client_id, new_client_secret
from homily.catalog.loader import Catalog, load_catalog
from homily.errors import InvalidRequestError, NotFoundError
from homily.protocol.admin import MAX_NAME_LENGTH
from homily.settings import Settings
from homily.storage.base import (
    AlreadyExistsError,
    Credential,
    Organisation,
    Publisher,
    ReferenceNotFoundError,
    Store,
)
from homily.storage.factory import open_store

log = logging.getLogger("homily.admin")

DEFAULT_ORGANISATION_NAME = "default"
DEFAULT_CREDENTIAL_NAME = "default"


@dataclass(frozen=True, slots=True)
class IssuedCredential:
    """A newly created credential with its plaintext secret: the only moment the secret exists outside the
    caller's hands, so whoever receives this must show it once and drop it."""

    org_id: str
    client_id: str
    client_secret: str

    def as_json(self) -> dict[str, str]:
        return {"org_id": self.org_id, "client_id": self.client_id, "client_secret": self.client_secret}


class AdminService:
    """Validated administration over a `Store`.

    Invariants: names are trimmed, non-empty and free of control characters; client-facing failures are raised
    as `homily.errors` types (404 for unknown ids, 400 for duplicates) so both the CLI and the HTTP API report
    them the same way; every credential that stops being usable (deleted, disabled, or removed with its
    organisation) is passed to `on_revoke` so in-process token caches drop it at once; every model allow-list
    change is passed to `on_allowed_models` so in-process routing applies it at once; an allow-list names only
    ids of `catalog` (default: the catalog shipped with Homily).
    """

    def __init__(
        self,
        store: Store,
        on_revoke: Callable[[str], None] | None = None,
        *,
        catalog: Catalog | None = None,
        on_allowed_models: Callable[[str, Sequence[str] | None], None] | None = None,
    ) -> None:
        self.store = store
        self._on_revoke = on_revoke
        self._catalog = catalog
        self._on_allowed_models = on_allowed_models

    # -- organisations ---------------------------------------------------------------------------------

    async def create_organisation(self, name: str) -> Organisation:
        clean = _clean_name(name, "name")
        try:
            organisation = await self.store.create_organisation(clean)
        except AlreadyExistsError as exc:
            raise InvalidRequestError(f"An organisation named {clean!r} already exists.", param="name") from exc
        log.info("organisation created", extra={"org_id": organisation.org_id})
        return organisation

    async def list_organisations(self) -> list[Organisation]:
        return await self.store.list_organisations()

    async def get_organisation(self, org_id: str) -> Organisation:
        organisation = await self.store.get_organisation(org_id)
        if organisation is None:
            raise NotFoundError(f"No organisation with id {org_id!r}.", param="org_id")
        return organisation

    async def set_allowed_models(self, org_id: str, models: Sequence[str] | None) -> Organisation:
        """Restrict the organisation's credentials to these catalog model ids, or (None) allow every model.

        Ids are trimmed and repeats dropped, keeping the order given. An unknown id or an empty list is refused
        (422): an empty list would make every completion fail, which disabling the credentials says more plainly.
        """
        cleaned = None if models is None else self._catalog_ids(models)
        if not await self.store.set_allowed_models(org_id, cleaned):
            raise NotFoundError(f"No organisation with id {org_id!r}.", param="org_id")
        if self._on_allowed_models is not None:
            self._on_allowed_models(org_id, cleaned)
        log.info("organisation model allow-list set", extra={"org_id": org_id, "allowed_models": cleaned})
        return await self.get_organisation(org_id)

    def _catalog_ids(self, models: Sequence[str]) -> list[str]:
        cleaned = list(dict.fromkeys(model.strip() for model in models))
        if not cleaned:
            raise InvalidRequestError(
                "allowed_models must name at least one model. To allow every model, send null (CLI: --all); to stop "
                "an organisation from calling any model, disable its credentials.",
                param="allowed_models",
                status=422,
            )
        catalog = self._catalog if self._catalog is not None else load_catalog()
        unknown = [model for model in cleaned if catalog.get(model) is None]
        if unknown:
            raise InvalidRequestError(
                f"Unknown model id(s): {', '.join(repr(m) for m in unknown)}. GET /platform/v2/models lists the "
                "model ids this server offers (the `id` of each entry).",
                param="allowed_models",
                status=422,
            )
        return cleaned

    async def delete_organisation(self, org_id: str) -> None:
        """Delete the organisation with its credentials and publishers; its credentials are revoked."""
        credentials = await self.store.list_credentials(org_id)
        if not await self.store.delete_organisation(org_id):
            raise NotFoundError(f"No organisation with id {org_id!r}.", param="org_id")
        for credential in credentials:
            self._revoke(credential.client_id)
        log.info("organisation deleted", extra={"org_id": org_id, "credentials_revoked": len(credentials)})

    # -- credentials -----------------------------------------------------------------------------------

    async def create_credential(self, org_id: str, name: str = DEFAULT_CREDENTIAL_NAME) -> IssuedCredential:
        """A new client id and secret for the organisation; the secret is stored only as a slow hash."""
        clean = _clean_name(name, "name")
        client_id, client_secret = new_client_id(), new_client_secret()
        secret_hash = await asyncio.to_thread(hash_secret, client_secret)
        try:
            await self.store.create_credential(org_id, clean, client_id, secret_hash)
        except ReferenceNotFoundError as exc:
            raise NotFoundError(f"No organisation with id {org_id!r}.", param="org_id") from exc
        log.info("credential created", extra={"org_id": org_id, "client_id": client_id})
        return IssuedCredential(org_id=org_id, client_id=client_id, client_secret=client_secret)

    async def list_credentials(self, org_id: str | None = None) -> list[Credential]:
        if org_id is not None:
            await self.get_organisation(org_id)
        return await self.store.list_credentials(org_id)

    async def get_credential(self, client_id: str) -> Credential:
        credential = await self.store.get_credential(client_id)
        if credential is None:
            raise NotFoundError(f"No credential with client id {client_id!r}.", param="client_id")
        return credential

    async def delete_credential(self, client_id: str) -> None:
        if not await self.store.delete_credential(client_id):
            raise NotFoundError(f"No credential with client id {client_id!r}.", param="client_id")
        self._revoke(client_id)
        log.info("credential deleted", extra={"client_id": client_id})

    async def set_credential_disabled(self, client_id: str, disabled: bool) -> Credential:
        """Disable (revoking its tokens) or re-enable a credential; returns it as now stored."""
        if not await self.store.set_credential_disabled(client_id, disabled):
            raise NotFoundError(f"No credential with client id {client_id!r}.", param="client_id")
        if disabled:
            self._revoke(client_id)
        log.info("credential updated", extra={"client_id": client_id, "disabled": disabled})
        return await self.get_credential(client_id)

    # -- publishers ------------------------------------------------------------------------------------

    async def create_publisher(self, org_id: str, name: str, *, shared: bool = False) -> Publisher:
        clean = _clean_name(name, "name")
        try:
            publisher = await self.store.create_publisher(org_id, clean, shared=shared)
        except ReferenceNotFoundError as exc:
            raise NotFoundError(f"No organisation with id {org_id!r}.", param="org_id") from exc
        except AlreadyExistsError as exc:
            raise InvalidRequestError(f"The publisher name {clean!r} is taken: {exc}.", param="name") from exc
        log.info("publisher created", extra={"org_id": org_id, "publisher_id": publisher.publisher_id})
        return publisher

    async def list_publishers(self, org_id: str | None = None) -> list[Publisher]:
        if org_id is not None:
            await self.get_organisation(org_id)
        return await self.store.list_publishers(org_id)

    async def delete_publisher(self, publisher_id: str) -> None:
        if not await self.store.delete_publisher(publisher_id):
            raise NotFoundError(f"No publisher with id {publisher_id!r}.", param="publisher_id")
        log.info("publisher deleted", extra={"publisher_id": publisher_id})

    def _revoke(self, client_id: str) -> None:
        if self._on_revoke is not None:
            self._on_revoke(client_id)


async def initialise(settings: Settings) -> IssuedCredential | None:
    """Set up a fresh data directory: the directory, the signing key, the database, an organisation named
    "default" and one credential, which is returned (its secret is never recoverable afterwards).

    Returns None and creates nothing when the data directory already holds an organisation.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = await open_store(settings)
    try:
        if await store.list_organisations():
            return None
        await load_signing_key(settings, store)
        service = AdminService(store)
        try:
            organisation = await service.create_organisation(DEFAULT_ORGANISATION_NAME)
        except InvalidRequestError:
            return None  # another process initialised the same directory a moment ago
        return await service.create_credential(organisation.org_id, DEFAULT_CREDENTIAL_NAME)
    finally:
        await store.close()


def _clean_name(value: str, param: str) -> str:
    clean = value.strip()
    if not clean:
        raise InvalidRequestError("The name must not be empty.", param=param, status=422)
    if len(clean) > MAX_NAME_LENGTH:
        raise InvalidRequestError(f"The name is longer than {MAX_NAME_LENGTH} characters.", param=param, status=422)
    if any(unicodedata.category(char) == "Cc" for char in clean):
        raise InvalidRequestError("The name must not contain control characters.", param=param)
    return clean
