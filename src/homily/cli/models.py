"""`homily models [--json]`: the model catalog as this configuration sees it (which ids exist, which can answer)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from homily.catalog.availability import configured_providers
from homily.catalog.loader import load_catalog
from homily.cli.common import settings_from_args
from homily.settings import PROVIDER_SETTING


def catalog_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    settings = settings_from_args(args)
    configured = configured_providers(settings)
    return [
        {
            "id": model.id,
            "family": model.family,
            "tier": f"tier_{model.tier}",
            "context_window": model.context_window,
            "supports_tools": model.supports_tools,
            "configured": model.provider in configured,
            "setting": PROVIDER_SETTING[model.provider],
        }
        for model in load_catalog(settings.catalog_path).models
    ]


def _run_models(args: argparse.Namespace) -> int:
    rows = catalog_rows(args)
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    width = max(len(row["id"]) for row in rows)
    lines = [f"{'id':<{width}}  {'family':<11}  {'tier':<6}  {'context':>9}  tools  configured"]
    for row in rows:
        configured = "yes" if row["configured"] else f"no (set {row['setting']})"
        lines.append(
            f"{row['id']:<{width}}  {row['family']:<11}  {row['tier']}  {row['context_window']:>9,}  "
            f"{'yes' if row['supports_tools'] else 'no':<5}  {configured}"
        )
    lines.append("A running server also reports whether each upstream is healthy: GET /platform/v2/models.")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def add_models_command(commands: Any, common: argparse.ArgumentParser, json_flag: argparse.ArgumentParser) -> None:
    """Mount `homily models` on the top-level sub-parsers."""
    models = commands.add_parser(
        "models",
        parents=[common, json_flag],
        help="list the model catalog and which models this configuration can call",
        description="List every catalog id (use one as a request's `model`) with its family, tier, context window "
        "and tool support, and whether its provider is configured here (its key, or for Open Source its base "
        "URL, is set), naming the setting that would enable it.",
    )
    models.set_defaults(handler=_run_models)
