"""`homily route "..." [--json]` and `homily eval routing`: explain and evaluate the learned router
offline."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any, cast

from homily.catalog.availability import Availability, configured_providers
from homily.catalog.loader import load_catalog
from homily.cli.common import (
    SHARED_DATA_HELP,
    CliError,
    common_options,
    eval_command,
    eval_targets,
    opened_store,
    settings_from_args,
)
from homily.embeddings import load_local_embedder
from homily.embeddings.offline_cache import default_cache_dir
from homily.protocol.chat import canonical_family
from homily.routing.access import AllowList, permits
from homily.routing.benchmarks import default_data_dir
from homily.routing.decision import Tier
from homily.routing.evaluation import evaluate_sets, format_sweep, format_table, load_evaluation_sets
from homily.routing.explain import explain
from homily.routing.learned import ComplexityModel
from homily.routing.policy import ROUTING_PREFERENCES
from homily.routing.requirements import Requirements
from homily.routing.selection import rank_candidates
from homily.routing.signals import ConversationFacts
from homily.settings import ProviderName, Settings

ALL_PROVIDERS: frozenset[ProviderName] = frozenset({"openai", "anthropic", "google", "open_source"})


def add_route_commands(subparsers: Any) -> None:
    """Register `route` and `eval routing` on the CLI's top-level subparsers (reusing an existing `eval`)."""
    route = subparsers.add_parser(
        "route",
        parents=[common_options()],
        help="explain how a request would be routed",
        description="Explain how auto_routing would route one user message: the complexity score, the tier and "
        "its confidence, the model it would pick with its runners-up, and the features that weighed most. "
        "Nothing is sent to a model. Models are ranked among the configured providers (all of them when none "
        "is configured).",
    )
    route.add_argument("text", help="the user message to route")
    route.add_argument("--json", action="store_true", help="print the explanation as JSON")
    route.add_argument("--turns", type=int, default=1, help="number of user turns in the conversation")
    route.add_argument("--tools", action="store_true", help="the request offers tools")
    route.add_argument("--grounded", action="store_true", help="a grounded (retrieval) request")
    route.add_argument("--weights", type=Path, default=None, help="router weights (.npz; default: the shipped ones)")
    route.add_argument("--family", help="model_family mode: rank only this family (e.g. anthropic)")
    route.add_argument("--preference", choices=ROUTING_PREFERENCES, help="cost, balanced or quality")
    route.add_argument(
        "--org",
        metavar="ORG_ID",
        help="rank only the models this organisation may use (its allow-list, read from --data-dir)",
    )
    route.set_defaults(handler=run_route)

    eval_parser = eval_command(subparsers)
    routing_help = "APGR/CPT of the router on RouteLLM's MT-Bench, MMLU (held-out subjects) and GSM8K"
    routing = eval_targets(eval_parser).add_parser(
        "routing",
        help=routing_help,
        description=f"{routing_help}, next to a random router and RouteLLM's best published figures. The first "
        "run embeds every prompt (several minutes on a small machine; progress every 10 s on stderr); later "
        "runs read the embedding cache.",
    )
    routing.add_argument("--data-dir", type=Path, default=default_data_dir(), help=SHARED_DATA_HELP)
    routing.add_argument(
        "--cache-dir", type=Path, default=default_cache_dir(), help="embedding cache (default: %(default)s)"
    )
    routing.add_argument("--weights", type=Path, default=None, help="router weights (.npz; default: the shipped ones)")
    routing.add_argument("--bins", type=int, default=10, help="threshold sweep points minus one (RouteLLM: 10)")
    routing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    routing.set_defaults(handler=run_eval_routing)


def run_route(args: argparse.Namespace) -> int:
    model = ComplexityModel.load(args.weights)
    embedding = load_local_embedder().embed([args.text])[0]
    facts = ConversationFacts(user_turns=args.turns, has_tools=args.tools, grounded=args.grounded)
    probe = explain(args.text, model, embedding, facts=facts)
    ranked, note = _ranked_models(args, model.tier_of(probe.score), probe.confidence, len(args.text))
    explanation = explain(args.text, model, embedding, facts=facts, ranked_models=ranked, note=note)
    if args.json:
        sys.stdout.write(json.dumps(explanation.to_json(), indent=2) + "\n")
    else:
        sys.stdout.write(explanation.to_text() + "\n")
    return 0


def _organisation_allow_list(args: argparse.Namespace, settings: Settings) -> AllowList:
    """The allow-list of `--org` (None: no --org, or an organisation that may use every model)."""
    if not args.org:
        return None

    async def read() -> AllowList:
        async with opened_store(settings) as store:
            organisation = await store.get_organisation(args.org)
        if organisation is None:
            raise CliError(f"no organisation '{args.org}'; `homily admin org list` shows them")
        return None if organisation.allowed_models is None else frozenset(organisation.allowed_models)

    return asyncio.run(read())


def _ranked_models(args: argparse.Namespace, tier: int, confidence: float, chars: int) -> tuple[list[str], str]:
    """Catalog selection for the explanation, using the configured providers (or all, if none is configured)."""
    settings = settings_from_args(args)
    allowed = _organisation_allow_list(args, settings)
    catalog = load_catalog(settings.catalog_path)
    configured = configured_providers(settings)
    note = "providers configured here" if configured else "no provider configured: ranking as if all were"
    families = list(catalog.family_order)
    if args.family:
        family = canonical_family(args.family)
        if family is None:
            raise CliError(f"unknown model family '{args.family}'")
        families = [family]
    preference = args.preference or settings.routing_preference
    ranked = rank_candidates(
        catalog,
        Availability(configured or ALL_PROVIDERS),
        cast("Tier", tier),
        Requirements(needs_tools=args.tools, prompt_tokens=chars // 4),
        families,
        confidence=confidence,
        preference=preference,
        permitted=lambda model: permits(allowed, model),
    )
    if allowed is not None:
        note += f"; organisation {args.org} may use {len(allowed)} model(s)"
    return [m.id for m in ranked], f"{preference} policy; {note}"


def run_eval_routing(args: argparse.Namespace) -> int:
    model = ComplexityModel.load(args.weights)
    rows = evaluate_sets(model, load_evaluation_sets(model, args.data_dir), args.cache_dir, args.bins)
    if args.json:
        payload = [
            {
                "benchmark": row.benchmark,
                "items": row.items,
                "apgr": row.router.apgr,
                "cpt50": row.router.cpt50,
                "cpt80": row.router.cpt80,
                "random_apgr": row.random_apgr,
                "published_apgr": row.published_apgr,
                "sweep": [[p.strong_fraction, p.pgr] for p in row.router.sweep],
            }
            for row in rows
        ]
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        sys.stdout.write(format_table(rows) + "\n\n" + "\n".join(format_sweep(row) for row in rows) + "\n")
    return 0
