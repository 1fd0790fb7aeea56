"""The shared GlooGrounded library for the commands that read it (`homily search`): installed on the spot when it
is missing or behind, instead of waiting for the first `homily serve`. A progress bar on a terminal, one line
otherwise. Safe beside a server using the same data directory: both hold the library lock while installing
(`homily.content.install_lock`), so whichever comes second waits, then finds nothing left to do."""

from __future__ import annotations

import asyncio

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from homily.cli.common import CliError, stderr_console
from homily.content.backend import library_lock_database
from homily.content.embedding_space import retrieval_space
from homily.content.library import LibraryHooks, LibraryOutcome, fill_shared_library
from homily.content.service import ContentService
from homily.grounding.library import LibraryError
from homily.settings import Settings
from homily.storage.content import ItemStatus
from homily.storage.factory import database_backend


async def ensure_shared_library(settings: Settings, service: ContentService, *, quiet: bool) -> LibraryOutcome | None:
    """Install what the shared library lacks (None: `HOMILY_LOAD_LIBRARY` is off, nothing is done). `quiet` (for
    --json) replaces the progress bar by its one-line notice, as a non-terminal does."""
    if not settings.load_library:
        return None
    console = stderr_console()
    with Progress(
        TextColumn("installing the GlooGrounded library"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=quiet or not console.is_terminal,
    ) as progress:
        task: list[TaskID] = []

        def installing(missing: int) -> None:
            if progress.disable:
                console.print(
                    f"Installing the shared GlooGrounded library ({missing} {'item' if missing == 1 else 'items'}) "
                    f"into {_where(settings)}: once, a few seconds.",
                    soft_wrap=True,
                )
            task.append(progress.add_task("library", total=missing))

        def waiting() -> None:
            console.print(
                f"Another Homily process (the server?) is installing the shared library into {_where(settings)}; "
                "waiting for it.",
                soft_wrap=True,
            )

        hooks = LibraryHooks(waiting=waiting, installing=installing, item=lambda: progress.advance(task[0]))
        space = retrieval_space(settings)
        try:
            outcome = await fill_shared_library(
                service,
                service.content,
                service.index,
                settings.library_dir,
                space.model,
                lock_database=library_lock_database(settings),
                hooks=hooks,
            )
        except LibraryError as exc:
            raise CliError(f"cannot install the shared library: {exc} (HOMILY_LIBRARY_DIR chooses another)") from exc
    if outcome.queued and service.worker is not None:
        service.worker.start()
        await follow_items(service, list(outcome.queued), "ingesting the GlooGrounded library", quiet=quiet)
    return outcome


def _where(settings: Settings) -> str:
    return "the PostgreSQL database" if database_backend(settings) == "postgres" else str(settings.data_dir)


async def follow_items(service: ContentService, item_ids: list[str], label: str, *, quiet: bool) -> None:
    """A progress bar of items reaching COMPLETED or FAILED, until all have."""
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=stderr_console(), disable=quiet) as progress:
        task = progress.add_task("items", total=len(item_ids))
        while True:
            items = await service.content.get_items(item_ids)
            finished = sum(item.status in (ItemStatus.COMPLETED, ItemStatus.FAILED) for item in items.values())
            progress.update(task, completed=finished)
            if finished >= len(items):
                return
            await asyncio.sleep(0.25)
