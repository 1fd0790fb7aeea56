"""Helpers shared by the CLI commands: settings with overrides, output, and the one-line error type."""

from __future__ import annotations

import argparse
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError
from rich.console import Console

from homily.settings import Settings
from homily.storage.base import Store, StoreError
from homily.storage.factory import open_store
from homily.storage.sqlite import SchemaVersionError

_WIDE_ENOUGH_FOR_IDS = 160

SHARED_DATA_HELP = (
    "the shared evaluation data (benchmarks and held-out sets; not Homily's data directory) "
    "(default: ../shared/data beside the source checkout, %(default)s)"
)
"""Help of `homily eval ... --data-dir`, which means something else than the other commands' --data-dir."""


class CliError(Exception):
    """A failure the user can fix; `main` prints its message on one line and exits with `exit_code`."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def common_options() -> argparse.ArgumentParser:
    """Options every command accepts (argparse parent parser)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="PATH",
        help="data directory holding the database and signing key (default: $HOMILY_DATA_DIR or ./homily-data)",
    )
    return parser


def json_option() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--json", action="store_true", help="print JSON for scripts instead of a table")
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from the environment (and .env), overridden by the options given on the command line."""
    overrides: dict[str, Any] = {}
    for option in ("data_dir", "host", "port"):
        value = getattr(args, option, None)
        if value is not None:
            overrides[option] = value
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(_problem(error["loc"], error["msg"]) for error in exc.errors())
        raise CliError(f"invalid setting ({problems}); fix the environment variable or option", 2) from exc


def _problem(location: tuple[int | str, ...], message: str) -> str:
    """One validation problem: the setting it concerns (none for a check across settings) and what is wrong."""
    message = message.removeprefix("Value error, ")
    return f"{'.'.join(map(str, location))}: {message}" if location else message


@asynccontextmanager
async def opened_store(settings: Settings, *, must_exist: bool = True) -> AsyncIterator[Store]:
    """The configured store, opened and closed around the block, with failures turned into `CliError`."""
    uses_sqlite = not settings.database_url or settings.database_url.startswith("sqlite:///")
    if must_exist and uses_sqlite and not settings.sqlite_path.exists():
        where = "" if settings.sqlite_path.is_absolute() else f" (under {Path.cwd()})"
        raise CliError(
            f"no Homily database at {settings.sqlite_path}{where}; pass the data directory `homily serve` uses "
            f"with --data-dir (or HOMILY_DATA_DIR), or create one with `homily init --data-dir {settings.data_dir}`"
        )
    try:
        store = await open_store(settings)
    except (ValueError, SchemaVersionError, StoreError) as exc:
        raise CliError(str(exc)) from exc
    except sqlite3.DatabaseError as exc:
        raise CliError(f"cannot open the database at {settings.sqlite_path}: {exc}") from exc
    try:
        yield store
    finally:
        await store.close()


def stdout_console() -> Console:
    """A console on the current stdout (no markup: names are user data); wide when not a terminal so ids in
    tables are never cut."""
    console = Console(highlight=False, markup=False)
    if not console.is_terminal:
        console = Console(highlight=False, markup=False, width=max(console.width, _WIDE_ENOUGH_FOR_IDS))
    return console


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, markup=False)


def print_json(data: Any) -> None:
    """One line of JSON on stdout (no colour, no wrapping) for scripts."""
    stdout_console().file.write(orjson.dumps(data).decode("utf-8") + "\n")


def eval_command(subparsers: Any) -> argparse.ArgumentParser:
    """The shared `homily eval` parser (created by whichever command group registers first)."""
    existing: argparse.ArgumentParser | None = subparsers.choices.get("eval")
    if existing is not None:
        return existing
    created: argparse.ArgumentParser = subparsers.add_parser(
        "eval",
        help="offline evaluations",
        description="Offline evaluations of the router, the guard and retrieval on the shared evaluation data "
        "(../shared/data in the development workspace; --data-dir points elsewhere). They call no model.",
    )
    return created


def eval_targets(parser: argparse.ArgumentParser) -> Any:
    """The sub-commands of `homily eval` (`routing`, `guard`, `retrieval`…), created on first use."""
    for action in parser._actions:  # argparse offers no public accessor for an existing subparsers action
        if isinstance(action, argparse._SubParsersAction):
            return action
    return parser.add_subparsers(dest="eval_target", required=True, metavar="{routing,guard,retrieval}")
