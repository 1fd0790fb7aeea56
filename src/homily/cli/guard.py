"""`homily guard "text" [--json]` (explain a verdict) and `homily eval guard` (held-out evaluation).

The lead mounts these with `add_guard_commands(subparsers)`; each sub-parser stores its handler in
`handler`, called as `handler(args) -> int`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from homily.cli.common import SHARED_DATA_HELP, CliError, eval_command, eval_targets
from homily.embeddings.offline_cache import default_cache_dir
from homily.guard.categories import CATEGORIES
from homily.guard.datasets import default_data_dir
from homily.guard.embedding import LocalEmbedFunction
from homily.guard.evaluation import evaluate, format_table, target_summary
from homily.guard.model import default_guard_model
from homily.guard.policy import GuardPolicy
from homily.guard.screen import screen
from homily.protocol.chat import ChatMessage


def explain(text: str, policy: GuardPolicy, embed: LocalEmbedFunction | None) -> dict[str, Any]:
    """Verdict for one user message with per-category scores, thresholds and the lexical signals seen."""
    model = default_guard_model()
    vector = embed([text])[0] if embed is not None else None
    verdict = screen([ChatMessage(role="user", content=text)], vector, policy, model)
    defaults = model.default_thresholds(with_embedding=vector is not None)
    return {
        "action": verdict.action,
        "categories": verdict.categories,
        "scores": {category: round(verdict.scores[category], 4) for category in CATEGORIES},
        "thresholds": {
            category: policy.rule(category).threshold or round(defaults[category], 4) for category in CATEGORIES
        },
        "modes": {category: policy.rule(category).mode for category in CATEGORIES},
        "signals": verdict.signals,
        "embedding": vector is not None,
    }


def _run_guard(args: argparse.Namespace) -> int:
    try:
        policy = GuardPolicy.model_validate_json(args.policy) if args.policy else GuardPolicy()
    except ValidationError as exc:
        problems = "; ".join(error["msg"] for error in exc.errors())
        raise CliError(f"--policy is not a valid guard policy ({problems})", 2) from exc
    result = explain(args.text, policy, None if args.no_embedding else LocalEmbedFunction())
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return 0
    lines = [f"action: {result['action']}  categories: {', '.join(result['categories']) or '-'}"]
    for category in CATEGORIES:
        score = result["scores"][category]
        marker = "*" if category in result["categories"] else " "
        lines.append(
            f" {marker} {category:<26} {score:6.3f}  (threshold {result['thresholds'][category]:.3f},"
            f" {result['modes'][category]})"
        )
    lines.append("signals: " + ("; ".join(result["signals"]) or "none"))
    if not result["embedding"]:
        lines.append("(lexical-only classifier: no embedding)")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _run_eval(args: argparse.Namespace) -> int:
    embed = LocalEmbedFunction(args.cache_dir)
    rows = evaluate(embed, default_guard_model(), GuardPolicy(), args.data_dir)
    if args.json:
        payload = [
            {
                "dataset": row.dataset,
                "measure": row.measure,
                "n": row.count,
                "rate": row.rate,
                "target": row.target,
                "meets_target": row.meets_target,
            }
            for row in rows
        ]
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        sys.stdout.write(format_table(rows) + "\n\n" + target_summary(rows) + "\n")
    return 0


def add_guard_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `guard` and `eval guard` on the top-level CLI's sub-parsers."""
    guard = subparsers.add_parser(
        "guard",
        help="explain the guard's verdict on one message",
        description="Screen one user message as the gateway does before any model sees it, and show the action "
        "(allow, flag, block or crisis), each category's score against its threshold, and the lexical signals "
        "seen. Nothing is sent to a model.",
    )
    guard.add_argument("text", help="the user message to screen")
    guard.add_argument("--json", action="store_true", help="machine-readable output")
    guard.add_argument(
        "--policy",
        help="a policy as JSON, the format of HOMILY_GUARD_POLICY, e.g. "
        '\'{"categories": {"jailbreak": {"mode": "flag"}}}\' (default: block every category at its calibrated '
        "threshold)",
    )
    guard.add_argument("--no-embedding", action="store_true", help="use the lexical-only classifier")
    guard.set_defaults(handler=_run_guard)

    guard_eval = eval_targets(eval_command(subparsers)).add_parser(
        "guard",
        help="guard recall / false positives on held-out data",
        description="Guard recall on held-out harmful, jailbreak and injection prompts (AdvBench, JailbreakBench, "
        "XSTest, Giskard, BIPIA) and false positives on benign ones (AlpacaEval, Vicuna, XSTest, NotInject, "
        "WildGuard), with the default policy, next to each measure's target.",
    )
    guard_eval.add_argument("--data-dir", type=Path, default=default_data_dir(), help=SHARED_DATA_HELP)
    guard_eval.add_argument(
        "--cache-dir", type=Path, default=default_cache_dir(), help="embedding cache (default: %(default)s)"
    )
    guard_eval.add_argument("--json", action="store_true", help="print JSON instead of a table")
    guard_eval.set_defaults(handler=_run_eval)
