"""Which credentials are live, held in memory so bearer verification never reads the database.

A background task refreshes the set from the store every few seconds, so a credential deleted on any replica stops
working everywhere within that interval; deletions made through this process take effect immediately.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from homily.storage.base import CredentialStore

log = logging.getLogger("homily.auth")


class CredentialRegistry:
    _MISS_LIMIT = 10_000

    def __init__(self, store: CredentialStore, refresh_seconds: float) -> None:
        self._store = store
        self._refresh_seconds = refresh_seconds
        self._active: dict[str, str] = {}
        self._misses: set[str] = set()
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
        credential = await self._store.get_credential(client_id)
        if credential is None or credential.disabled:
            if len(self._misses) < self._MISS_LIMIT:
                self._misses.add(client_id)
            return None
        self._active[client_id] = credential.org_id
        return credential.org_id

    def remember(self, client_id: str, org_id: str) -> None:
        self._active[client_id] = org_id
        self._misses.discard(client_id)

    def revoke(self, client_id: str) -> None:
        self._active.pop(client_id, None)
        self._misses.add(client_id)

    async def refresh(self) -> None:
        self._active = await self._store.active_credentials()
        self._misses = set()

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
            await asyncio.sleep(self._refresh_seconds)
            try:
                await self.refresh()
            except Exception:
                log.exception("credential refresh failed; keeping the previous set")
