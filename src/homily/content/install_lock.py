"""The lock that serialises installing the shared library into one embedded (SQLite) database.

Installing the library writes an item's chunks before its row (see `install_prebuilt`), and opening the chunk
index removes chunks whose item row is missing (what a crash between the two leaves behind). Without this lock a
process opening the index while another installs (`homily search` in a second terminal while `homily serve`
starts) would remove the chunks of the item being installed, leaving it COMPLETED without its text. So the
installer holds the lock, and the orphan cleanup runs only when it can take the lock at once.

It is an advisory `flock` on a file beside the database, released by the kernel when its holder exits, however
it exits. PostgreSQL needs none: its orphan cleanup spares recently written chunks (`pg_chunks.remove_orphans`).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

_POLL_SECONDS = 0.1


def library_lock_path(database: Path) -> Path:
    """The lock file of the SQLite database at `database`."""
    return database.with_name(database.name + ".library-lock")


def _open(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


def _try_lock(descriptor: int) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def lock_if_free(database: Path) -> Iterator[bool]:
    """Hold the library lock of `database` for the block when no other process holds it; yields whether it does.
    Blocking file calls: use it in a thread."""
    descriptor = _open(library_lock_path(database))
    try:
        locked = _try_lock(descriptor)
        yield locked
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock


@asynccontextmanager
async def library_lock(database: Path | None, on_wait: Callable[[], None] | None = None) -> AsyncIterator[None]:
    """Hold the library lock of the SQLite database at `database` (None: PostgreSQL, no lock) for the block,
    waiting while another process holds it; `on_wait` is called once when it has to wait. The wait polls, so a
    cancelled or interrupted waiter stops at once."""
    if database is None:
        yield
        return
    descriptor = await asyncio.to_thread(_open, library_lock_path(database))
    try:
        waited = False
        while not _try_lock(descriptor):
            if not waited and on_wait is not None:
                on_wait()
            waited = True
            await asyncio.sleep(_POLL_SECONDS)
        yield
    finally:
        os.close(descriptor)
