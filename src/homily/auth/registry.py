"""Which credentials are live and which models each organisation may use, held in memory so neither bearer
verification nor routing reads the database.

A background task refreshes both from the store every few seconds, so a credential deleted, or an allow-list
changed, on any replica takes effect everywhere within that interval; changes made through this process take
effect immediately. With Redis (`homily.auth.invalidation`), changes made through this process are announced and
those announced by other replicas reload the registry at once; the timed refresh remains the safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from homily.auth.invalidation import AccessChange
from homily.storage.base import CredentialStore, Organisation, StoreUnavailableError


class AccessStore(CredentialStore, Protocol):
    """The store reads the registry needs: credentials, and organisations for their allow-lists."""

    async def get_organisation(self, org_id: str) -> Organisation | None: ...
    async def list_organisations(self) -> list[Organisation]: ...


log = logging.getLogger("homily.auth")


class CredentialRegistry:
    """Invariant: every organisation with a live credential in `_active` has its allow-list (if any) in `_allowed`,
    because both are loaded together (at refresh, at token issuance, or when `resolve` looks up a credential it had
    not seen), so a restricted organisation is never served as unrestricted; and reads (a refresh, a lookup) that
    overlapped a revocation or allow-list change applied here are made again (the change is already in the
    store), so they never bring back what such a change removed.

    `announce` (optional) is told of every change made through this process (`revoke`, `set_allowed_models`), to
    tell the other replicas; `invalidate` is how their changes arrive here."""

    _MISS_LIMIT = 10_000
    _REFRESH_ATTEMPTS = 3

    def __init__(
        self, store: AccessStore, refresh_seconds: float, announce: Callable[[AccessChange], None] | None = None
    ) -> None:
        self._store = store
        self._refresh_seconds = refresh_seconds
        self._announce = announce
        self._active: dict[str, str] = {}
        self._allowed: dict[str, frozenset[str]] = {}
        self._misses: set[str] = set()
        self._changes = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def org_of(self, client_id: str) -> str | None:
        """The organisation of a live credential, or None when it is unknown, deleted or disabled."""
        return self._active.get(client_id)

    async def resolve(self, client_id: str) -> str | None:
        """Like `org_of`, but a credential created on another replica since the last refresh is looked up once
        (a miss is remembered until the next refresh, so unknown ids cannot make every request hit the database)."""
        org_id = self._active.get(client_id)
        if org_id is not None or client_id in self._misses:
            return org_id
        for _ in range(self._REFRESH_ATTEMPTS):
            changes = self._changes
            credential = await self._store.get_credential(client_id)
            organisation = await self._store.get_organisation(credential.org_id) if credential is not None else None
            if self._changes == changes:
                break  # else a change made meanwhile may be missing from what was read: read again
        if credential is None or credential.disabled or organisation is None or client_id in self._misses:
            if len(self._misses) < self._MISS_LIMIT:
                self._misses.add(client_id)
            return None
        self._set_allowed(organisation.org_id, organisation.allowed_models)
        self._active[client_id] = credential.org_id
        return credential.org_id

    def allowed_models(self, org_id: str) -> frozenset[str] | None:
        """The model ids the organisation may use, or None for every model (`homily.routing.access` applies it)."""
        return self._allowed.get(org_id)

    def set_allowed_models(self, org_id: str, models: Sequence[str] | None) -> None:
        """The organisation's allow-list was just changed in the store through this process."""
        self._set_allowed(org_id, models)
        self._changes += 1
        if self._announce is not None:
            self._announce(AccessChange(org_id=org_id))

    def _set_allowed(self, org_id: str, models: Sequence[str] | None) -> None:
        if models is None:
            self._allowed.pop(org_id, None)
        else:
            self._allowed[org_id] = frozenset(models)

    async def remember(self, client_id: str, org_id: str) -> None:
        """A credential just verified against the store (token issuance) is live from now on; its organisation's
        allow-list is loaded with it, which may be newer than the last refresh."""
        organisation = await self._store.get_organisation(org_id)
        if organisation is None:  # deleted a moment ago, with its credentials
            return
        self._set_allowed(org_id, organisation.allowed_models)
        self._active[client_id] = org_id
        self._misses.discard(client_id)

    def revoke(self, client_id: str) -> None:
        """The credential was just deleted or disabled in the store through this process."""
        self._drop(client_id)
        if self._announce is not None:
            self._announce(AccessChange(client_id=client_id))

    def invalidate(self, change: AccessChange) -> None:
        """Another replica changed access: drop a revoked credential at once, and reload everything now."""
        if change.client_id is not None:
            self._drop(change.client_id)
        self._wake.set()

    def _drop(self, client_id: str) -> None:
        self._active.pop(client_id, None)
        self._misses.add(client_id)
        self._changes += 1

    async def refresh(self) -> None:
        for _ in range(self._REFRESH_ATTEMPTS):
            changes = self._changes
            # Credentials first: an organisation outlives its credentials, so each one read has its organisation.
            active = await self._store.active_credentials()
            organisations = await self._store.list_organisations()
            if self._changes != changes:
                continue  # a change made meanwhile may be missing from what was read: read again
            self._allowed = {
                o.org_id: frozenset(o.allowed_models) for o in organisations if o.allowed_models is not None
            }
            self._active = active
            self._misses = set()
            return
        log.info("access changed during every refresh attempt; keeping the current state until the next one")

    async def start(self) -> None:
        await self.refresh()
        self._task = asyncio.create_task(self._refresh_forever(), name="credential-registry-refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _refresh_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._refresh_seconds)
            self._wake.clear()
            try:
                await self.refresh()
            except StoreUnavailableError as exc:  # a database outage: say so once per attempt, no traceback
                log.warning("credential and allow-list refresh failed (%s); keeping the previous ones", exc)
            except Exception:
                log.exception("credential and allow-list refresh failed; keeping the previous ones")
