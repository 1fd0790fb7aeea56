"""Ingestion leases: how replicas that share one item queue keep out of each other's way.

An item being ingested carries `lease_owner` (the id of the `PostgresContentStore` instance, one per process) and
`lease_until` (a time on the *database's* clock, so replicas with skewed clocks still agree). Invariants:
- Only an item whose lease is free (no owner, our own, or run out) can be claimed, advanced or failed, and
  `next_unfinished` offers only such items: a live replica's work is never taken over.
- `claim` sets the lease, `advance` extends it, COMPLETED/FAILED and new content clear it. While the process lives,
  `LeaseKeeper` renews every lease it holds every `renew_seconds`, so a long parse or embedding run keeps its item;
  a crashed replica stops renewing and its items become claimable `lease_seconds` later (picked up by whichever
  replica polls first, with `attempts` counting the interruption as for a local crash).
- A clean shutdown releases the process's leases at once.
- One ingestion worker per store instance: two workers sharing an instance would share its lease identity.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid

from homily.storage.base import StoreError
from homily.storage.postgres.pool import PostgresPool

log = logging.getLogger("homily.storage.postgres")

DEFAULT_LEASE_SECONDS = 30.0
DEFAULT_RENEW_SECONDS = 10.0

UNFINISHED = "status IN ('QUEUED', 'CHUNKING', 'EMBEDDING')"
LEASE_IS_OURS_OR_FREE = "(lease_owner IS NULL OR lease_owner = %(owner)s OR lease_until < now())"
"""SQL condition on `items`; the statement's parameters must include `owner`."""
TAKE_LEASE = "lease_owner = %(owner)s, lease_until = now() + %(lease)s * interval '1 second'"
"""SQL assignments on `items`; the statement's parameters must include `owner` and `lease`."""
DROP_LEASE = "lease_owner = NULL, lease_until = NULL"
_RELEASE = f"UPDATE items SET {DROP_LEASE} WHERE lease_owner = %(owner)s"  # noqa: S608 - constant text
_RENEW = f"UPDATE items SET {TAKE_LEASE} WHERE lease_owner = %(owner)s AND {UNFINISHED}"  # noqa: S608


class LeaseKeeper:
    """Owns this store instance's lease identity and renews its leases in the background (see the module)."""

    def __init__(self, pool: PostgresPool, lease_seconds: float, renew_seconds: float | None) -> None:
        if lease_seconds <= 0 or (renew_seconds is not None and not 0 < renew_seconds < lease_seconds):
            raise ValueError("leases need 0 < renew_seconds < lease_seconds")
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.lease_seconds = lease_seconds
        self._renew_seconds = renew_seconds
        self._pool = pool
        self._task: asyncio.Task[None] | None = None

    def params(self) -> dict[str, object]:
        """The `owner` and `lease` parameters the SQL fragments above refer to."""
        return {"owner": self.owner, "lease": self.lease_seconds}

    def start(self) -> None:
        if self._task is None and self._renew_seconds is not None:
            self._task = asyncio.create_task(self._renew_forever(self._renew_seconds), name="homily-item-leases")

    async def stop(self) -> None:
        """Stop renewing and release every lease this instance holds (best effort: a lost database lets them
        run out instead)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if not self._pool.is_open:
            return
        try:
            released = await self._pool.changes(_RELEASE, self.params())
        except StoreError:
            log.warning("could not release ingestion leases; they run out in %.0f s", self.lease_seconds)
        else:
            if released:
                log.info("released %d ingestion leases", released)

    async def renew(self) -> int:
        """Extend every unfinished item's lease held by this instance; how many were extended."""
        return await self._pool.changes(_RENEW, self.params())

    async def _renew_forever(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.renew()
            except StoreError:
                log.warning("could not renew ingestion leases; retrying in %.0f s", every)
            except Exception:  # a dead renewal task would let live work be taken over: keep it alive
                log.exception("renewing ingestion leases failed; retrying in %.0f s", every)
