"""`homily admin org|credential|publisher create|list|delete`: administration from the server machine."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from rich.table import Table

from homily.admin.service import AdminService, IssuedCredential
from homily.auth.invalidation import announced_access_changes
from homily.catalog.loader import load_catalog
from homily.cli.common import CliError, opened_store, print_json, settings_from_args, stdout_console
from homily.errors import NotFoundError
from homily.protocol.admin import credential_json, deleted_json, list_json, organisation_json, publisher_json
from homily.storage.factory import database_backend

AdminAction = Callable[[AdminService, argparse.Namespace], Awaitable[int]]
Formatter = argparse.RawDescriptionHelpFormatter


def add_admin_commands(commands: Any, common: argparse.ArgumentParser, json_flag: argparse.ArgumentParser) -> None:
    """Register `admin` and its subcommands on the top-level subparsers object."""
    admin = commands.add_parser(
        "admin",
        help="manage organisations, credentials and publishers",
        description="Manage organisations, credentials and publishers directly in the data directory.\n"
        "The same operations are available over HTTP under /admin/v1 when HOMILY_ADMIN_SECRET is set.",
        formatter_class=Formatter,
    )
    areas = admin.add_subparsers(dest="area", required=True, metavar="{org,credential,publisher}")
    leaf: list[argparse.ArgumentParser] = [common, json_flag]

    org = areas.add_parser(
        "org", help="organisations", description="Create, list and delete organisations; set the models they may use."
    )
    org_actions = org.add_subparsers(dest="action", required=True, metavar="{create,list,delete,models}")
    created = org_actions.add_parser(
        "create",
        parents=leaf,
        help="create an organisation",
        description="Create an organisation and print its id (org_...); then give it a credential with "
        "`homily admin credential create --org ORG_ID`.",
    )
    created.add_argument("name", help="organisation name (unique)")
    created.set_defaults(admin_action=_create_org)
    org_actions.add_parser(
        "list",
        parents=leaf,
        help="list organisations",
        description="List organisations with their ids and model allow-lists. 'default' is created by "
        "`homily init`; 'homily-system' owns the shared GlooGrounded library.",
    ).set_defaults(admin_action=_list_orgs)
    deleted = org_actions.add_parser(
        "delete",
        parents=leaf,
        help="delete an organisation with ALL its credentials and publishers",
        description="Delete an organisation. Its credentials and publishers are deleted with it and its "
        "tokens stop working.",
    )
    deleted.add_argument("org_id", metavar="ORG_ID", help="the organisation's id (org_...)")
    deleted.set_defaults(admin_action=_delete_org)
    models = org_actions.add_parser(
        "models",
        parents=leaf,
        help="set the models an organisation may use (or --all)",
        description="Restrict an organisation to the given catalog model ids, or with --all let it use every "
        "model (the default).\nA request naming another model is refused with 403; auto_routing and model_family "
        "choose only among the allowed models.\nThe model ids are those of GET /platform/v2/models. A running "
        "server applies the change within HOMILY_REVOCATION_REFRESH_SECONDS (at once with HOMILY_REDIS_URL).\n\n"
        "examples:\n  homily admin org models org_... gloo-openai-gpt-5-mini gloo-anthropic-claude-haiku-4.5\n"
        "  homily admin org models org_... --all",
        formatter_class=Formatter,
    )
    models.add_argument("org_id", metavar="ORG_ID", help="the organisation's id (org_...)")
    chosen = models.add_mutually_exclusive_group(required=True)
    chosen.add_argument("model_ids", nargs="*", default=[], metavar="MODEL_ID", help="the models it may use")
    chosen.add_argument("--all", action="store_true", help="allow every model (clear the list)")
    models.set_defaults(admin_action=_set_org_models)

    credential = areas.add_parser(
        "credential",
        help="OAuth2 client credentials",
        description="Create, list, disable, enable and delete OAuth2 client credentials.\n"
        "A client secret is printed once, at creation; Homily keeps only a slow hash of it.",
        formatter_class=Formatter,
    )
    credential_actions = credential.add_subparsers(
        dest="action", required=True, metavar="{create,list,delete,disable,enable}"
    )
    created = credential_actions.add_parser(
        "create",
        parents=leaf,
        help="create a credential and print its secret once",
        description="Create a client id and secret for an organisation.\n"
        'With --json prints {"org_id", "client_id", "client_secret"}.',
        formatter_class=Formatter,
    )
    created.add_argument("--org", required=True, metavar="ORG_ID", help="owning organisation id")
    created.add_argument("--name", default="default", help="a label for the credential (default: default)")
    created.set_defaults(admin_action=_create_credential)
    listed = credential_actions.add_parser(
        "list",
        parents=leaf,
        help="list credentials (never secrets)",
        description="List credentials: client id, organisation, label and status. Secrets are never shown.",
    )
    listed.add_argument("--org", metavar="ORG_ID", help="only this organisation's credentials")
    listed.set_defaults(admin_action=_list_credentials)
    for action, helptext, handler in (
        ("delete", "delete a credential; its tokens stop working", _delete_credential),
        ("disable", "disable a credential; its tokens stop working", _disable_credential),
        ("enable", "re-enable a disabled credential", _enable_credential),
    ):
        when = " (a running server applies it within HOMILY_REVOCATION_REFRESH_SECONDS)" if "stop" in helptext else ""
        description = f"{helptext[0].upper()}{helptext[1:]}{when}. `homily admin credential list` shows client ids."
        parser = credential_actions.add_parser(action, parents=leaf, help=helptext, description=description)
        parser.add_argument("client_id", metavar="CLIENT_ID", help="the credential's client id (hc_...)")
        parser.set_defaults(admin_action=handler)

    publisher = areas.add_parser(
        "publisher",
        help="content publishers",
        description="Create, list and delete publishers (named content collections of an organisation).\n"
        "A --shared publisher is readable by every organisation by name (like GlooGrounded).",
        formatter_class=Formatter,
    )
    publisher_actions = publisher.add_subparsers(dest="action", required=True, metavar="{create,list,delete}")
    created = publisher_actions.add_parser(
        "create",
        parents=leaf,
        help="create a publisher",
        description="Create a publisher and print its id (a UUID), the publisher_id of uploads. Only "
        "credentials of its organisation can upload to it or search it (or every organisation's, with --shared).",
    )
    created.add_argument("--org", required=True, metavar="ORG_ID", help="owning organisation id")
    created.add_argument("name", help="publisher name (unique in the organisation; used as rag_publisher)")
    created.add_argument("--shared", action="store_true", help="readable by every organisation")
    created.set_defaults(admin_action=_create_publisher)
    listed = publisher_actions.add_parser(
        "list",
        parents=leaf,
        help="list publishers",
        description="List publishers with their ids, organisations and whether they are shared.",
    )
    listed.add_argument("--org", metavar="ORG_ID", help="only this organisation's publishers")
    listed.set_defaults(admin_action=_list_publishers)
    deleted = publisher_actions.add_parser(
        "delete", parents=leaf, help="delete a publisher", description="Delete a publisher by its id."
    )
    deleted.add_argument("publisher_id", metavar="PUBLISHER_ID", help="the publisher's id (a UUID)")
    deleted.set_defaults(admin_action=_delete_publisher)

    admin.set_defaults(handler=run_admin)


def run_admin(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    action: AdminAction = args.admin_action

    async def run() -> int:
        async with opened_store(settings) as store, announced_access_changes(settings) as bus:
            service = AdminService(
                store,
                on_revoke=bus.revoked if bus is not None else None,
                catalog=load_catalog(settings.catalog_path),
                on_allowed_models=bus.allowed_models_changed if bus is not None else None,
            )
            return await action(service, args)

    try:
        return asyncio.run(run())
    except NotFoundError as exc:
        listing = _LISTINGS.get(exc.param or "")
        if listing is None:
            raise
        where = settings.data_dir if database_backend(settings) == "sqlite" else "the database"
        raise CliError(f"{exc.message} `{listing}` shows those in {where} (--data-dir to read another).") from exc


_LISTINGS = {
    "org_id": "homily admin org list",
    "client_id": "homily admin credential list",
    "publisher_id": "homily admin publisher list",
}
"""The command listing the ids a not-found error of that parameter is about."""


def print_issued_credential(issued: IssuedCredential, *, as_json: bool, heading: str) -> None:
    """Show a new credential once: JSON for scripts, or a short block telling the reader to keep it."""
    if as_json:
        print_json(issued.as_json())
        return
    console = stdout_console()
    console.print(heading, style="bold")
    console.print(f"  org_id:        {issued.org_id}")
    console.print(f"  client_id:     {issued.client_id}")
    console.print(f"  client_secret: {issued.client_secret}")
    console.print("Store the client secret now: it is shown only this once.")


def _table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, no_wrap=True, overflow="fold")
    for row in rows:
        table.add_row(*row)
    stdout_console().print(table)


def _when(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _deleted(args: argparse.Namespace, message: str, identifier: str) -> int:
    if args.json:
        print_json(deleted_json(identifier))
    else:
        stdout_console().print(message)
    return 0


async def _create_org(service: AdminService, args: argparse.Namespace) -> int:
    organisation = organisation_json(await service.create_organisation(args.name))
    if args.json:
        print_json(organisation)
    else:
        stdout_console().print(f"Created organisation {organisation['org_id']} ({organisation['name']}).")
    return 0


async def _list_orgs(service: AdminService, args: argparse.Namespace) -> int:
    organisations = [organisation_json(item) for item in await service.list_organisations()]
    if args.json:
        print_json(list_json(organisations))
    else:
        rows = [[o["org_id"], o["name"], _models(o["allowed_models"]), _when(o["created_at"])] for o in organisations]
        _table("Organisations", ["org_id", "name", "models", "created"], rows)
    return 0


def _models(allowed: list[str] | None) -> str:
    return "all" if allowed is None else ", ".join(allowed)


async def _set_org_models(service: AdminService, args: argparse.Namespace) -> int:
    models = None if args.all else list(args.model_ids)
    organisation = organisation_json(await service.set_allowed_models(args.org_id, models))
    if args.json:
        print_json(organisation)
    elif models is None:
        stdout_console().print(f"Organisation {args.org_id} may use every model.")
    else:
        stdout_console().print(f"Organisation {args.org_id} may use: {_models(organisation['allowed_models'])}.")
    return 0


async def _delete_org(service: AdminService, args: argparse.Namespace) -> int:
    await service.delete_organisation(args.org_id)
    return _deleted(args, f"Deleted organisation {args.org_id} with its credentials and publishers.", args.org_id)


async def _create_credential(service: AdminService, args: argparse.Namespace) -> int:
    issued = await service.create_credential(args.org, args.name)
    print_issued_credential(issued, as_json=args.json, heading="Created credential")
    return 0


async def _list_credentials(service: AdminService, args: argparse.Namespace) -> int:
    credentials = [credential_json(item) for item in await service.list_credentials(args.org)]
    if args.json:
        print_json(list_json(credentials))
    else:
        rows = [
            [c["client_id"], c["org_id"], c["name"], "disabled" if c["disabled"] else "active", _when(c["created_at"])]
            for c in credentials
        ]
        _table("Credentials", ["client_id", "org_id", "name", "status", "created"], rows)
    return 0


async def _delete_credential(service: AdminService, args: argparse.Namespace) -> int:
    await service.delete_credential(args.client_id)
    return _deleted(args, f"Deleted credential {args.client_id}.", args.client_id)


async def _disable_credential(service: AdminService, args: argparse.Namespace) -> int:
    return await _set_disabled(service, args, disabled=True)


async def _enable_credential(service: AdminService, args: argparse.Namespace) -> int:
    return await _set_disabled(service, args, disabled=False)


async def _set_disabled(service: AdminService, args: argparse.Namespace, *, disabled: bool) -> int:
    credential = credential_json(await service.set_credential_disabled(args.client_id, disabled))
    if args.json:
        print_json(credential)
    else:
        state = "Disabled" if disabled else "Enabled"
        stdout_console().print(f"{state} credential {args.client_id}.")
    return 0


async def _create_publisher(service: AdminService, args: argparse.Namespace) -> int:
    publisher = publisher_json(await service.create_publisher(args.org, args.name, shared=args.shared))
    if args.json:
        print_json(publisher)
    else:
        kind = "shared publisher" if publisher["shared"] else "publisher"
        stdout_console().print(f"Created {kind} {publisher['publisher_id']} ({publisher['name']}).")
    return 0


async def _list_publishers(service: AdminService, args: argparse.Namespace) -> int:
    publishers = [publisher_json(item) for item in await service.list_publishers(args.org)]
    if args.json:
        print_json(list_json(publishers))
    else:
        rows = [
            [p["publisher_id"], p["org_id"], p["name"], "yes" if p["shared"] else "no", _when(p["created_at"])]
            for p in publishers
        ]
        _table("Publishers", ["publisher_id", "org_id", "name", "shared", "created"], rows)
    return 0


async def _delete_publisher(service: AdminService, args: argparse.Namespace) -> int:
    await service.delete_publisher(args.publisher_id)
    return _deleted(args, f"Deleted publisher {args.publisher_id}.", args.publisher_id)
