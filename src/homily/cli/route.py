"""`homily route "..." [--json]` and `homily eval routing`: explain and evaluate the learned router
offline."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from homily.routing.benchmarks import default_data_dir
from homily.routing.embedding_cache import default_cache_dir, load_default_embedder
from homily.routing.evaluation import evaluate_sets, format_sweep, format_table, load_evaluation_sets
from homily.routing.explain import explain
from homily.routing.learned import ComplexityModel
from homily.routing.signals import ConversationFacts


def _nested_subparsers(parser: argparse.ArgumentParser) -> Any:
    for action in parser._actions:  # argparse offers no public accessor for an existing subparsers action
        if isinstance(action, argparse._SubParsersAction):
            return action
    return parser.add_subparsers(dest="eval_target", required=True)


def add_route_commands(subparsers: Any) -> None:
    """Register `route` and `eval routing` on the CLI's top-level subparsers (reusing an existing `eval`)."""
    route = subparsers.add_parser("route", help="explain how a request would be routed")
    route.add_argument("text", help="the user message to route")
    route.add_argument("--json", action="store_true", help="print the explanation as JSON")
    route.add_argument("--turns", type=int, default=1, help="number of user turns in the conversation")
    route.add_argument("--tools", action="store_true", help="the request offers tools")
    route.add_argument("--grounded", action="store_true", help="a grounded (retrieval) request")
    route.add_argument("--weights", type=Path, default=None, help="router weights (.npz)")
    route.set_defaults(handler=run_route)

    eval_parser = subparsers.choices.get("eval") or subparsers.add_parser("eval", help="offline evaluations")
    routing = _nested_subparsers(eval_parser).add_parser(
        "routing", help="APGR/CPT of the router on RouteLLM's MT-Bench, MMLU (held-out subjects) and GSM8K"
    )
    routing.add_argument("--data-dir", type=Path, default=default_data_dir())
    routing.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    routing.add_argument("--weights", type=Path, default=None)
    routing.add_argument(
        "--bins", type=int, default=10, help="threshold sweep points minus one (RouteLLM: 10)"
    )
    routing.add_argument("--json", action="store_true")
    routing.set_defaults(handler=run_eval_routing)


def run_route(args: argparse.Namespace) -> int:
    model = ComplexityModel.load(args.weights)
    embedding = load_default_embedder().embed([args.text])[0]
    facts = ConversationFacts(user_turns=args.turns, has_tools=args.tools, grounded=args.grounded)
    explanation = explain(args.text, model, embedding, facts=facts)
    if args.json:
        sys.stdout.write(json.dumps(explanation.to_json(), indent=2) + "\n")
    else:
        sys.stdout.write(explanation.to_text() + "\n")
    return 0


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
