"""Entry point of the `homily` command: `serve`, `init`, `admin`, `route` and `eval` (see `homily --help`)."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys

from homily import __version__
from homily.admin.service import IssuedCredential, initialise
from homily.cli.admin import add_admin_commands, print_issued_credential
from homily.cli.common import (
    CliError,
    common_options,
    eval_command,
    eval_targets,
    json_option,
    settings_from_args,
    stderr_console,
)
from homily.cli.content import add_content_commands
from homily.cli.guard import add_guard_commands
from homily.cli.models import add_models_command
from homily.cli.retrieval import add_retrieval_commands
from homily.cli.route import add_route_commands
from homily.errors import HomilyError
from homily.settings import Settings
from homily.storage.base import StoreError
from homily.storage.factory import database_backend
from homily.storage.sqlite import SchemaVersionError

_DESCRIPTION = """\
Homily: a self-hosted gateway for the Gloo AI Completions V2 and Grounded Completions APIs.

Quick start:
  homily serve                       initialise ./homily-data if needed and serve on 127.0.0.1:8000
  homily init --json                 initialise a data directory and print its first credential
  homily admin credential create --org ORG_ID   another credential (org ids: homily admin org list)
  homily search "Rom 8:28"           search the shared library (installed on first use, a few seconds)
  homily ingest notes/ --publisher Sermons      add your documents (then: homily search ... --publisher Sermons)
  homily route "Compare Augustine and Pelagius on grace"   explain how a request would be routed
  homily eval routing                RouteLLM APGR/CPT of the router (MT-Bench, MMLU, GSM8K)
"""

_CONFIG_EPILOG = """\
Settings come from environment variables (and a .env file): HOMILY_DATA_DIR, HOMILY_DATABASE_URL,
HOMILY_HOST, HOMILY_PORT, HOMILY_ADMIN_SECRET, provider keys such as OPENAI_API_KEY. Options given on the
command line override them.
"""


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="homily", description=_DESCRIPTION, epilog=_CONFIG_EPILOG, formatter_class=formatter
    )
    parser.add_argument("--version", action="version", version=f"homily {__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="{serve,init,admin,ingest,search,models,route,guard,eval}"
    )
    common, json_flag = common_options(), json_option()

    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="run the HTTP server (initialising an empty data directory first)",
        description="Run the HTTP server. When the data directory has no organisation yet, it is initialised "
        "first\n(signing key, database, a 'default' organisation and credential) and the new credential is "
        "printed once.",
        epilog=_CONFIG_EPILOG,
        formatter_class=formatter,
    )
    serve.add_argument("--host", metavar="HOST", help="bind address (default: $HOMILY_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, metavar="PORT", help="bind port (default: $HOMILY_PORT or 8000)")
    serve.set_defaults(handler=run_serve)

    init = commands.add_parser(
        "init",
        parents=[common, json_flag],
        help="create the data directory, signing key, database and a first credential",
        description="Initialise a data directory: signing key, database, an organisation named 'default' and "
        "one credential,\nwhose secret is printed once. With --json prints "
        '{"org_id", "client_id", "client_secret"}.\nFails (exit 1) when the directory is already initialised.',
        epilog=_CONFIG_EPILOG,
        formatter_class=formatter,
    )
    init.set_defaults(handler=run_init)

    add_admin_commands(commands, common, json_flag)
    add_content_commands(commands)
    add_retrieval_commands(eval_targets(eval_command(commands)))
    add_route_commands(commands)
    add_guard_commands(commands)
    add_models_command(commands, common, json_flag)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failure, 2 usage or configuration error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        status: int = args.handler(args)
    except CliError as exc:
        _error(str(exc))
        return exc.exit_code
    except HomilyError as exc:
        _error(exc.message)
        return 1
    except FileNotFoundError as exc:  # a path given on the command line (--weights, --data-dir of `eval`...)
        _error(f"no such file or directory: {exc.filename}")
        return 1
    except KeyboardInterrupt:
        return 130
    return status


def run_init(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    issued = _initialise(settings)
    if issued is None:
        raise CliError(
            f"{_initialised_place(settings)} is already initialised; create another credential with "
            "`homily admin credential create --org ORG_ID` (see `homily admin org list`)"
        )
    heading = f"Initialised {_initialised_place(settings)} with organisation 'default' and a credential"
    print_issued_credential(issued, as_json=args.json, heading=heading)
    return 0


def run_serve(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    issued = _initialise(settings)
    if issued is not None:
        heading = f"Initialised {_initialised_place(settings)}: first credential (organisation 'default')"
        print_issued_credential(issued, as_json=False, heading=heading)
    from homily.server import AddressUnavailableError, run_server

    try:
        run_server(settings)
    except AddressUnavailableError as exc:
        raise CliError(str(exc)) from exc
    return 0


def _initialise(settings: Settings) -> IssuedCredential | None:
    try:
        # A PostgreSQL server without pgvector is refused here, in one line, before anything is created.
        if settings.database_url and database_backend(settings) == "postgres":
            from homily.grounding.pg_schema import ensure_vector_extension

            ensure_vector_extension(settings.database_url)
        return asyncio.run(initialise(settings))
    except (ValueError, SchemaVersionError, StoreError) as exc:
        raise CliError(str(exc)) from exc
    except (OSError, sqlite3.DatabaseError) as exc:
        raise CliError(f"cannot initialise {settings.data_dir}: {exc}") from exc


def _initialised_place(settings: Settings) -> str:
    """What `init` sets up: the data directory, or the PostgreSQL database (organisations and credentials live
    there; the data directory then holds only caches)."""
    if settings.database_url and database_backend(settings) == "postgres":
        from homily.storage.postgres.pool import describe_url

        return f"the database at {describe_url(settings.database_url)}"
    return str(settings.data_dir)


def _error(message: str) -> None:
    stderr_console().print(f"homily: error: {message}", soft_wrap=True)


if __name__ == "__main__":
    sys.exit(main())
