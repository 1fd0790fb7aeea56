"""Train the complexity router and write src/homily/routing/weights/{complexity_router.npz,REPORT.md}.

Data (only what may ship):
- MMLU (MIT; RouteLLM's per-item Mixtral/GPT-4-1106 correctness, Apache-2.0): the subjects at even
  positions of the
  sorted subject list train; the odd ones are held out for evaluation and never seen here except in the
  final report.
- Hand-written product traffic (scripts/router_data/traffic.py, our own writing).
GSM8K and MT-Bench are never used for training or model selection; they appear only in the final evaluation.

Model selection: 4-fold cross-validation grouped by MMLU subject (training subjects only), mean APGR per fold.
Tier boundaries and the confidence calibration come from out-of-fold predictions on the traffic set.

    python scripts/train_router.py [--data-dir ../shared/data] [--cache-dir /tmp/homily-router-cache]
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import cast

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

from router_data.fit import FitConfig, FittedNetwork, fit_network  # noqa: E402
from router_data.traffic import TrafficExample, traffic_examples  # noqa: E402

from homily.routing.benchmarks import MmluItem, default_data_dir, load_mmlu_items  # noqa: E402
from homily.routing.embedding_cache import default_cache_dir, embed_cached  # noqa: E402
from homily.routing.evaluation import (  # noqa: E402
    BenchmarkRow,
    evaluate_sets,
    format_sweep,
    format_table,
    load_evaluation_sets,
)
from homily.routing.learned import ComplexityModel, ComplexityWeights, default_weights_path  # noqa: E402
from homily.routing.metrics import evaluate_router  # noqa: E402
from homily.routing.signals import SIGNAL_NAMES, ConversationFacts, text_signals  # noqa: E402

logger = logging.getLogger("train_router")
Array = npt.NDArray[np.float64]
TRAFFIC_SHARE = 0.6
"""Total sample weight of the traffic set relative to the MMLU training items."""
FOLDS = 4


def split_subjects(items: list[MmluItem]) -> tuple[list[str], list[str]]:
    subjects = sorted({item.subject for item in items})
    return subjects[0::2], subjects[1::2]


def mmlu_target(items: list[MmluItem], kind: str) -> Array:
    weak = np.array([item.weak_correct for item in items], dtype=np.float64)
    strong = np.array([item.strong_correct for item in items], dtype=np.float64)
    if kind == "weak_fails":
        return 1.0 - weak
    if kind == "strong_wins":
        return (1.0 - weak) * strong
    # "graded": strong needed (1), both fail (0.5: hard, but the strong model does not help), weak fine (0)
    return (1.0 - weak) * (0.5 + 0.5 * strong)


def build_inputs(embeddings: Array, signals: Array, mean: Array, scale: Array) -> Array:
    return np.hstack([embeddings, (signals - mean) / scale])


def traffic_signals(examples: list[TrafficExample]) -> Array:
    return np.stack(
        [
            text_signals(ex.text, ConversationFacts(ex.user_turns, ex.has_tools, ex.grounded)).astype(
                np.float64
            )
            for ex in examples
        ]
    )


class TrainingData:
    """Embeddings, signals, targets and weights of the training pool (MMLU train subjects + traffic)."""

    def __init__(self, items: list[MmluItem], traffic: list[TrafficExample], cache_dir: Path) -> None:
        self.items = items
        self.traffic = traffic
        self.mmlu_embeddings = embed_cached([item.prompt for item in items], cache_dir).astype(np.float64)
        self.traffic_embeddings = embed_cached([ex.text for ex in traffic], cache_dir).astype(np.float64)
        facts = ConversationFacts()
        self.mmlu_signals = np.stack([text_signals(item.prompt, facts) for item in items]).astype(np.float64)
        self.traffic_signals = traffic_signals(traffic)
        self.traffic_levels = np.array([ex.level for ex in traffic])
        self.traffic_targets = np.array([ex.training_target for ex in traffic])
        self.subjects = np.array([item.subject for item in items])
        all_signals = np.vstack([self.mmlu_signals, self.traffic_signals])
        self.signal_mean = all_signals.mean(axis=0)
        self.signal_scale = np.maximum(all_signals.std(axis=0), 1e-3)

    def fit(
        self,
        mmlu_mask: npt.NDArray[np.bool_],
        traffic_mask: npt.NDArray[np.bool_],
        target: str,
        config: FitConfig,
    ) -> FittedNetwork:
        mmlu_inputs = build_inputs(
            self.mmlu_embeddings[mmlu_mask], self.mmlu_signals[mmlu_mask], self.signal_mean, self.signal_scale
        )
        traffic_inputs = build_inputs(
            self.traffic_embeddings[traffic_mask],
            self.traffic_signals[traffic_mask],
            self.signal_mean,
            self.signal_scale,
        )
        chosen = [item for item, keep in zip(self.items, mmlu_mask, strict=True) if keep]
        targets = np.concatenate([mmlu_target(chosen, target), self.traffic_targets[traffic_mask]])
        n_mmlu, n_traffic = len(mmlu_inputs), len(traffic_inputs)
        weights = np.concatenate(
            [np.ones(n_mmlu), np.full(n_traffic, TRAFFIC_SHARE * n_mmlu / max(n_traffic, 1))]
        )
        return fit_network(np.vstack([mmlu_inputs, traffic_inputs]), targets, weights, config)

    def mmlu_logits(self, network: FittedNetwork, mask: npt.NDArray[np.bool_]) -> Array:
        inputs = build_inputs(
            self.mmlu_embeddings[mask], self.mmlu_signals[mask], self.signal_mean, self.signal_scale
        )
        return network.logits(inputs)

    def traffic_logits(self, network: FittedNetwork, mask: npt.NDArray[np.bool_]) -> Array:
        inputs = build_inputs(
            self.traffic_embeddings[mask], self.traffic_signals[mask], self.signal_mean, self.signal_scale
        )
        return network.logits(inputs)


def cross_validate(data: TrainingData, target: str, config: FitConfig) -> tuple[float, Array]:
    """Mean MMLU APGR over subject-grouped folds, and out-of-fold traffic scores (sigmoid of logits)."""
    subjects = sorted(set(data.subjects.tolist()))
    traffic_fold = np.random.default_rng(1).integers(0, FOLDS, len(data.traffic))
    traffic_scores = np.zeros(len(data.traffic))
    apgrs = []
    for fold in range(FOLDS):
        held = {subject for i, subject in enumerate(subjects) if i % FOLDS == fold}
        test_mask = np.isin(data.subjects, list(held))
        network = data.fit(~test_mask, traffic_fold != fold, target, config)
        weak = np.array(
            [item.weak_correct for item, t in zip(data.items, test_mask, strict=True) if t], float
        )
        strong = np.array(
            [item.strong_correct for item, t in zip(data.items, test_mask, strict=True) if t], float
        )
        apgrs.append(evaluate_router(data.mmlu_logits(network, test_mask), strong, weak).apgr)
        traffic_scores[traffic_fold == fold] = 1 / (
            1 + np.exp(-data.traffic_logits(network, traffic_fold == fold))
        )
    return float(np.mean(apgrs)), traffic_scores


def choose_boundaries(scores: Array, levels: npt.NDArray[np.int_]) -> tuple[float, float, float]:
    """Boundaries maximising tier accuracy on out-of-fold traffic scores (ties: widest middle margin)."""
    candidates = np.unique(np.round(np.quantile(scores, np.linspace(0.02, 0.98, 97)), 4))
    best = (-1.0, 0.0, 0.0)
    for low, high in itertools.combinations(candidates, 2):
        tiers = np.where(scores < low, 0, np.where(scores < high, 1, 2))
        accuracy = float(np.mean(tiers == levels))
        if accuracy > best[0] + 1e-9:
            best = (accuracy, float(low), float(high))
    return best[1], best[2], best[0]


def fit_confidence(
    scores: Array, levels: npt.NDArray[np.int_], bounds: tuple[float, float]
) -> tuple[float, float]:
    """Logistic regression of 'tier correct' on distance to the nearest boundary (Newton steps)."""
    tiers = np.where(scores < bounds[0], 0, np.where(scores < bounds[1], 1, 2))
    correct = (tiers == levels).astype(np.float64)
    distance = np.min(np.abs(scores[:, None] - np.array(bounds)[None, :]), axis=1)
    design = np.column_stack([np.ones_like(distance), distance])
    coef = np.zeros(2)
    for _ in range(50):
        prob = 1 / (1 + np.exp(-(design @ coef)))
        hessian = design.T @ (design * (prob * (1 - prob))[:, None]) + 1e-3 * np.eye(2)
        coef -= np.linalg.solve(hessian, design.T @ (prob - correct) + 1e-3 * coef)
    return float(coef[0]), float(coef[1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument("--out", type=Path, default=default_weights_path())
    parser.add_argument("--quick", action="store_true", help="small grid (for trying changes)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.monotonic()

    all_items = load_mmlu_items(args.data_dir)
    train_subjects, eval_subjects = split_subjects(all_items)
    train_items = [item for item in all_items if item.subject in set(train_subjects)]
    traffic = traffic_examples()
    data = TrainingData(train_items, traffic, args.cache_dir)
    logger.info(
        "training pool: %d MMLU items (%d subjects) + %d traffic examples",
        len(train_items),
        len(train_subjects),
        len(traffic),
    )

    grid = [
        (target, FitConfig(hidden=hidden, relu=hidden > 1, l2=l2))
        for target in ("weak_fails", "strong_wins")
        for hidden, l2 in ((32, 1e-3),)
    ]
    if args.quick:
        grid = grid[:2]
    results = []
    for target, config in grid:
        apgr, traffic_scores = cross_validate(data, target, config)
        low, high, tier_accuracy = choose_boundaries(traffic_scores, data.traffic_levels)
        logger.info(
            "cv target=%s hidden=%d l2=%g: MMLU APGR %.3f, traffic tier accuracy %.3f",
            target,
            config.hidden,
            config.l2,
            apgr,
            tier_accuracy,
        )
        results.append((apgr, tier_accuracy, target, config, traffic_scores))
    best_apgr, _, target, config, traffic_scores = max(results, key=lambda row: (round(row[0], 3), row[1]))
    low, high, tier_accuracy = choose_boundaries(traffic_scores, data.traffic_levels)
    confidence = fit_confidence(traffic_scores, data.traffic_levels, (low, high))

    everything = np.ones(len(train_items), dtype=bool)
    network = data.fit(everything, np.ones(len(traffic), dtype=bool), target, config)
    metadata: dict[str, object] = {
        "target": target,
        "config": asdict(config),
        "traffic_share": TRAFFIC_SHARE,
        "mmlu_train_subjects": train_subjects,
        "mmlu_eval_subjects": eval_subjects,
        "cv_mmlu_apgr": round(best_apgr, 4),
        "cv_traffic_tier_accuracy": round(tier_accuracy, 4),
        "embedding_model": "all-MiniLM-L6-v2",
    }
    weights = ComplexityWeights(
        hidden_weight=network.hidden_weight.astype(np.float32),
        hidden_bias=network.hidden_bias.astype(np.float32),
        output_weight=network.output_weight.astype(np.float32),
        output_bias=network.output_bias,
        signal_mean=data.signal_mean.astype(np.float32),
        signal_scale=data.signal_scale.astype(np.float32),
        boundaries=(low, high),
        confidence_coef=confidence,
        signal_names=SIGNAL_NAMES,
        metadata=metadata,
        relu=config.relu,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    weights.save(args.out)
    model = ComplexityModel.load(args.out)
    rows = evaluate_sets(model, load_evaluation_sets(model, args.data_dir), args.cache_dir)
    write_report(
        args.out.parent / "REPORT.md",
        results,
        metadata,
        (low, high),
        confidence,
        rows,
        time.monotonic() - started,
    )
    logger.info("wrote %s\n%s", args.out, format_table(rows))


def write_report(  # noqa: PLR0917 - one call site, every argument is a report section
    path: Path,
    results: list[tuple[float, float, str, FitConfig, Array]],
    metadata: dict[str, object],
    bounds: tuple[float, float],
    confidence: tuple[float, float],
    rows: list[BenchmarkRow],
    seconds: float,
) -> None:
    table_rows = rows
    train_subjects = cast("list[str]", metadata["mmlu_train_subjects"])
    eval_subjects = cast("list[str]", metadata["mmlu_eval_subjects"])
    cv_lines = [
        f"| {target} | {config.hidden} | {'relu' if config.relu else 'linear'} | {config.l2:g} | {apgr:.3f} "
        f"| {accuracy:.3f} |"
        for apgr, accuracy, target, config, _ in results
    ]
    text = f"""# Complexity router: training report

Produced by `python scripts/train_router.py` in {seconds:.0f} s. Weights: `complexity_router.npz` (NumPy, no pickle).

## Data and split
- Train: MMLU subjects at even positions of the sorted subject list ({len(train_subjects)}
  subjects: {", ".join(train_subjects)}) with target `{metadata["target"]}`,
  plus {TRAFFIC_SHARE:.0%} (by weight) data of our own making in scripts/router_data/: hand-written product traffic
  (greetings, thanks, one-line lookups -> 0; moderate tasks -> 0.45; long analytical/comparative theology -> 0.85;
  multi-step reasoning and code -> 1), template-generated writing/role-play/extraction/explanation tasks (0.4) vs
  logic puzzles/code/math (1.0), and template arithmetic word problems labelled by step count (1 step 0 ... 5+ 1).
- Held out for evaluation only: MMLU subjects {", ".join(eval_subjects)};
  all of GSM8K and MT-Bench. RouteLLM's contaminated prompts are removed from every set.
- Model selection: 4-fold CV grouped by MMLU training subject (mean APGR); tier boundaries and confidence from
  out-of-fold traffic predictions.

## Cross-validation (training subjects only)
| target | hidden | activation | L2 | CV MMLU APGR | traffic tier accuracy |
|---|---|---|---|---|---|
{chr(10).join(cv_lines)}

Chosen: target `{metadata["target"]}`, {metadata["config"]}. Tier boundaries on the score: tier_1 <
{bounds[0]:.4f} <= tier_2 < {bounds[1]:.4f} <= tier_3. Confidence = sigmoid({confidence[0]:.3f} + {confidence[1]:.3f} x
distance to nearest boundary).

## Held-out evaluation (RouteLLM metrics; 10 quantile thresholds; CPT = strong-call share)
{format_table(table_rows)}

{chr(10).join(format_sweep(row) for row in table_rows)}
"""
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
