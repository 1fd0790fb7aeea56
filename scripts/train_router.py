"""Train the per-shape complexity router and write src/homily/routing/weights/{complexity_router.npz,REPORT.md}.

Each prompt shape (multiple choice / arithmetic word problem / open instruction, `homily.routing.shapes`) gets its
own logistic head trained only on training rows of that shape:
- multiple choice: MMLU (MIT; RouteLLM's per-item Mixtral/GPT-4-1106 correctness, Apache-2.0), the subjects at even
  positions of the sorted subject list; the odd ones are held out for evaluation and never seen here except in the
  final report;
- word problems: template arithmetic problems labelled by step count plus the word-problem-shaped rows of our own
  traffic and task sets (scripts/router_data, our own writing);
- open instructions: the rest of our own traffic and task sets.
GSM8K and MT-Bench are never used for training or model selection; they appear only in the final evaluation.

Model selection (training side only):
- multiple choice: 4-fold cross-validation grouped by MMLU training subject, mean APGR per fold;
- word problems: Spearman correlation of the head's scores with hand-counted step numbers of hand-written, realistic
  problems (scripts/router_data/word_problem_validation.py; never trained on); cross-validation on the templates is
  reported but rewards learning the templates' phrasing;
- open: Spearman correlation of the head's scores with the task-kind labels of hand-written open prompts
  (scripts/router_data/open_validation.py; never trained on); CV on our open prompts is reported.
Tier boundaries and the confidence calibration come from out-of-fold scores on the traffic set.

    python scripts/train_router.py [--data-dir ../shared/data] [--cache-dir /tmp/homily-embedding-cache] [--no-heldout]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO))

from router_data.calibration import auc, choose_boundaries, fit_confidence, spearman  # noqa: E402
from router_data.linear import LinearHead, fit_logistic  # noqa: E402
from router_data.mmlu_stems import word_problem_stems  # noqa: E402
from router_data.open_validation import OPEN_VALIDATION  # noqa: E402
from router_data.pool import HeadConfig, Inputs, Mask, Pool, Standardiser  # noqa: E402
from router_data.report import CvRow, write_report  # noqa: E402
from router_data.traffic import traffic_examples  # noqa: E402
from router_data.word_problem_validation import VALIDATION_PROBLEMS  # noqa: E402
from tests.support.realistic_traffic import realistic_requests  # noqa: E402

from homily.embeddings.offline_cache import default_cache_dir, embed_cached  # noqa: E402
from homily.routing.benchmarks import MmluItem, default_data_dir, load_mmlu_items  # noqa: E402
from homily.routing.evaluation import evaluate_sets, format_table, load_evaluation_sets  # noqa: E402
from homily.routing.learned import ComplexityModel, ComplexityWeights, default_weights_path  # noqa: E402
from homily.routing.metrics import evaluate_router  # noqa: E402
from homily.routing.shapes import PROBLEM_SIGNAL_NAMES, SHAPES  # noqa: E402
from homily.routing.signals import SIGNAL_NAMES, ConversationFacts  # noqa: E402

logger = logging.getLogger("train_router")
Array = npt.NDArray[np.float64]
FOLDS = 4
L2_GRID = (1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)
EMBEDDING_SCALES = (1.0, 4.0, 8.0, 16.0)
MMLU_TOLERANCE = 0.005
"""Subject-CV APGR within this of the best counts as a tie."""
SPEARMAN_TOLERANCE = 0.01
"""CV Spearman within this of the best counts as a tie."""


def split_subjects(items: list[MmluItem]) -> tuple[list[str], list[str]]:
    subjects = sorted({item.subject for item in items})
    return subjects[0::2], subjects[1::2]


def mmlu_target(items: list[MmluItem], kind: str) -> Array:
    weak = np.array([item.weak_correct for item in items], dtype=np.float64)
    strong = np.array([item.strong_correct for item in items], dtype=np.float64)
    return 1.0 - weak if kind == "weak_fails" else (1.0 - weak) * strong


def mmlu_pool(items: list[MmluItem], texts: list[str], cache_dir: Path) -> Pool:
    facts = [ConversationFacts()] * len(items)
    levels = np.zeros(len(items), dtype=np.int_)
    return Pool.build(
        texts,
        facts=facts,
        targets=mmlu_target(items, "strong_wins"),
        levels=levels,
        groups=[i.subject for i in items],
        cache_dir=cache_dir,
    )


def quality(items: list[MmluItem], mask: Mask) -> tuple[Array, Array]:
    chosen = [item for item, keep in zip(items, mask, strict=True) if keep]
    return (np.array([i.strong_correct for i in chosen], float), np.array([i.weak_correct for i in chosen], float))


@dataclass(frozen=True, slots=True)
class StemSet:
    """Quantitative MMLU training-subject stems (router_data.mmlu_stems) with both models' correctness."""

    pool: Pool
    strong: Array
    weak: Array

    @classmethod
    def build(cls, items: list[MmluItem], cache_dir: Path) -> StemSet:
        rows = word_problem_stems(items)
        chosen = [item for _, item in rows]
        pool = mmlu_pool(chosen, [text for text, _ in rows], cache_dir)
        mask = np.ones(len(chosen), dtype=bool)
        strong, weak = quality(chosen, mask)
        return cls(pool, strong, weak)


class Trainer:
    """The three heads' training and selection over fixed pools and standardisation."""

    def __init__(
        self, items: list[MmluItem], mmlu: Pool, traffic: Pool, validation: dict[str, Pool], stems: StemSet
    ) -> None:
        self.items, self.mmlu, self.traffic, self.validation, self.stems = items, mmlu, traffic, validation, stems
        self.inputs = Inputs(
            Standardiser.fit(np.vstack([mmlu.signals, traffic.signals])),
            Standardiser.fit(np.vstack([mmlu.problem, traffic.problem])),
        )
        self.traffic_fold = np.random.default_rng(1).integers(0, FOLDS, len(traffic))

    def fit(self, pool: Pool, mask: Mask, config: HeadConfig, targets: Array | None = None) -> LinearHead:
        chosen = pool.targets[mask] if targets is None else targets[mask]
        return fit_logistic(self.inputs.design(pool, mask, config), chosen, np.ones(int(mask.sum())), config.l2)

    def mmlu_targets(self, kind: str) -> Array:
        return mmlu_target(self.items, kind)

    def cv_multiple_choice(self, config: HeadConfig, kind: str) -> float:
        subjects = sorted(set(self.mmlu.groups.tolist()))
        apgrs = []
        for fold in range(FOLDS):
            test = np.isin(self.mmlu.groups, [s for i, s in enumerate(subjects) if i % FOLDS == fold])
            head = self.fit(self.mmlu, ~test, config, self.mmlu_targets(kind))
            strong, weak = quality(self.items, test)
            apgrs.append(evaluate_router(head.logits(self.inputs.design(self.mmlu, test, config)), strong, weak).apgr)
        return float(np.mean(apgrs))

    def oof_traffic(self, shape: str, config: HeadConfig) -> tuple[float, Array]:
        """Spearman of out-of-fold logits with targets over rows of `shape`, and the logits (NaN elsewhere)."""
        rows = self.traffic.shapes == shape
        logits = np.full(len(self.traffic), np.nan)
        for fold in range(FOLDS):
            test = rows & (self.traffic_fold == fold)
            head = self.fit(self.traffic, rows & (self.traffic_fold != fold), config)
            logits[test] = head.logits(self.inputs.design(self.traffic, test, config))
        return spearman(logits[rows], self.traffic.targets[rows]), logits

    def validation_spearman(self, shape: str, config: HeadConfig) -> float:
        """Rank agreement of the head of `shape` (trained on all its rows) with the hand-written validation labels
        (hand-counted steps for word problems, task-kind labels for open prompts)."""
        head = self.fit(self.traffic, self.traffic.shapes == shape, config)
        pool = self.validation[shape]
        everything = np.ones(len(pool), dtype=bool)
        return spearman(head.logits(self.inputs.design(pool, everything, config)), pool.targets)


    def stem_auc(self, config: HeadConfig) -> float:
        """How well the word-problem head (trained on all its rows) picks out the quantitative MMLU training-subject
        stems the weak model gets wrong (ROC AUC; 0.5 is chance)."""
        head = self.fit(self.traffic, self.traffic.shapes == "word_problem", config)
        pool = self.stems.pool
        logits = head.logits(self.inputs.design(pool, np.ones(len(pool), dtype=bool), config))
        return auc(logits, 1.0 - self.stems.weak)


def head_grid(embedding_options: tuple[bool, ...], signal_options: tuple[bool, ...] = (True,)) -> list[HeadConfig]:
    """Configurations to compare; a head without the general signals always reads the word-problem signals."""
    return [
        HeadConfig(embedding=emb, signals=sig, problem=prob, l2=l2, embedding_scale=scale)
        for emb in embedding_options
        for scale in (EMBEDDING_SCALES if emb else (1.0,))
        for sig in signal_options
        for prob in ((False, True) if sig else (True,))
        for l2 in L2_GRID
    ]


SIGNAL_OPTIONS = {"word_problem": (True, False), "open": (True,)}
"""The word-problem head may drop the general signals: their cues (reasoning words, constraints) are constant in
the templates it trains on, so their weights there are artefacts of template phrasing."""


T = TypeVar("T")


def most_regularised(results: list[tuple[float, HeadConfig, T]], tolerance: float) -> tuple[HeadConfig, T]:
    """Among results within `tolerance` of the best score, the most regularised (then the best scoring): weakly
    regularised heads overfit our template phrasings, and the realistic-traffic tests showed it."""
    best = max(score for score, _, _ in results)
    close = [row for row in results if row[0] >= best - tolerance]
    _, config, extra = max(close, key=lambda row: (row[1].l2, row[0]))
    return config, extra


def select_heads(trainer: Trainer) -> tuple[dict[str, HeadConfig], str, list[CvRow], Array]:
    """Configs per head chosen on training-side criteria, the MMLU target, the CV table, out-of-fold traffic logits."""
    rows: list[CvRow] = []
    mc_results: list[tuple[float, HeadConfig, str]] = []
    for kind in ("weak_fails", "strong_wins"):
        for config in head_grid((True,)):
            apgr = trainer.cv_multiple_choice(config, kind)
            mc_results.append((apgr, config, kind))
            rows.append(CvRow("multiple_choice", f"{kind} {config.label()}", {"subject-CV MMLU APGR": apgr}))
            logger.info("multiple_choice %s %s: %.4f", kind, config.label(), apgr)
    mc_config, kind = most_regularised(mc_results, MMLU_TOLERANCE)
    chosen: dict[str, HeadConfig] = {"multiple_choice": mc_config}
    oof = np.full(len(trainer.traffic), np.nan)
    for shape in ("word_problem", "open"):
        results: list[tuple[float, HeadConfig, Array]] = []
        for config in head_grid((False, True), SIGNAL_OPTIONS[shape]):
            rho, logits = trainer.oof_traffic(shape, config)
            validation = trainer.validation_spearman(shape, config)
            results.append((validation, config, logits))
            scores = {"hand-written Spearman": validation, "CV Spearman": rho}
            if shape == "word_problem":
                scores["MMLU stem AUC (weak fails)"] = trainer.stem_auc(config)
            rows.append(CvRow(shape, config.label(), scores))
            logger.info("%s %s: hand-written %.4f cv %.4f", shape, config.label(), validation, rho)
        chosen[shape], logits = most_regularised(results, SPEARMAN_TOLERANCE)
        oof = np.where(trainer.traffic.shapes == shape, logits, oof)
    return chosen, kind, rows, oof


def assemble(trainer: Trainer, chosen: dict[str, HeadConfig], kind: str) -> tuple[list[Array], list[Array], Array]:
    """Final heads on all training rows: per head (embedding, signal, problem) weight rows and embedding means."""
    blocks: list[Array] = []
    means: list[Array] = []
    biases = []
    for shape in SHAPES:
        config = chosen[shape]
        if shape == "multiple_choice":
            pool, mask, targets = trainer.mmlu, np.ones(len(trainer.mmlu), dtype=bool), trainer.mmlu_targets(kind)
        else:
            pool, mask, targets = trainer.traffic, trainer.traffic.shapes == shape, None
        head = trainer.fit(pool, mask, config, targets)
        coef = list(head.coef)
        sizes = (
            (config.embedding, 384),
            (config.signals, len(SIGNAL_NAMES)),
            (config.problem, len(PROBLEM_SIGNAL_NAMES)),
        )
        row: list[Array] = []
        for index, (used, size) in enumerate(sizes):
            scale = config.embedding_scale if index == 0 else 1.0
            row.append(np.array(coef[:size]) * scale if used else np.zeros(size))
            coef = coef[size:] if used else coef
        blocks.append(np.concatenate(row))
        means.append(pool.embeddings[mask].mean(axis=0))
        biases.append(head.bias)
    return blocks, means, np.array(biases)


def check_assembly(model: ComplexityModel, trainer: Trainer, chosen: dict[str, HeadConfig]) -> None:
    """The shipped arrays must reproduce the fitted open head on its own training rows (catches block mix-ups)."""
    rows = trainer.traffic.shapes == "open"
    head = trainer.fit(trainer.traffic, rows, chosen["open"])
    expected = head.logits(trainer.inputs.design(trainer.traffic, rows, chosen["open"]))
    texts = [text for text, keep in zip(trainer.traffic.texts, rows, strict=True) if keep]
    facts = ConversationFacts()
    single_turn = np.array(
        [trainer.traffic.signals[i, SIGNAL_NAMES.index("user_turns")] == 0 for i in np.flatnonzero(rows)]
    )
    actual = model.batch_logits(texts, trainer.traffic.embeddings[rows].astype(np.float32), facts)
    gap = float(np.max(np.abs(actual - expected)[single_turn & ~trainer.traffic.signals[rows, -2:].any(axis=1)]))
    if gap > 1e-2:
        raise RuntimeError(f"shipped weights disagree with the fitted open head by {gap:.4f}")


def validation_pool(rows: list[tuple[str, float]], cache_dir: Path) -> Pool:
    return Pool.build(
        [text for text, _ in rows],
        facts=[ConversationFacts()] * len(rows),
        targets=np.array([label for _, label in rows]),
        levels=np.zeros(len(rows), dtype=np.int_),
        groups=["validation"] * len(rows),
        cache_dir=cache_dir,
    )


def realistic_traffic(model: ComplexityModel, cache_dir: Path) -> dict[str, list[int]]:
    """[in expected tier, total] per category of the realistic-traffic check set (reported, never selected on)."""
    requests = realistic_requests()
    embeddings = embed_cached([request.text for request in requests], cache_dir)
    counts: dict[str, list[int]] = {}
    for request, embedding in zip(requests, embeddings, strict=True):
        tier = model.estimate(request.text, ConversationFacts(user_turns=request.user_turns), embedding).tier
        right, total = counts.get(request.category, [0, 0])
        counts[request.category] = [right + (tier == request.tier), total + 1]
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument("--out", type=Path, default=default_weights_path())
    parser.add_argument("--no-heldout", action="store_true", help="train and cross-validate only (no held-out look)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.monotonic()

    all_items = load_mmlu_items(args.data_dir)
    train_subjects, eval_subjects = split_subjects(all_items)
    items = [item for item in all_items if item.subject in set(train_subjects)]
    examples = traffic_examples()
    traffic = Pool.build(
        [ex.text for ex in examples],
        facts=[ConversationFacts(ex.user_turns, ex.has_tools, ex.grounded) for ex in examples],
        targets=np.array([ex.training_target for ex in examples]),
        levels=np.array([ex.level for ex in examples]),
        groups=["traffic"] * len(examples),
        cache_dir=args.cache_dir,
    )
    mmlu = mmlu_pool(items, [item.prompt for item in items], args.cache_dir)
    validation = {
        "word_problem": validation_pool([(text, float(steps)) for text, steps in VALIDATION_PROBLEMS], args.cache_dir),
        "open": validation_pool([(text, float(label)) for text, label in OPEN_VALIDATION], args.cache_dir),
    }
    logger.info("pools: %d MMLU, %d traffic", len(mmlu), len(traffic))
    stems = StemSet.build(items, args.cache_dir)
    logger.info("quantitative MMLU training stems shaped as word problems: %d", len(stems.pool))
    trainer = Trainer(items, mmlu, traffic, validation, stems)
    chosen, kind, cv_rows, oof_logits = select_heads(trainer)
    oof_scores = 1.0 / (1.0 + np.exp(-oof_logits))
    low, high, tier_accuracy = choose_boundaries(oof_scores, traffic.levels)
    confidence = fit_confidence(oof_scores, traffic.levels, (low, high))
    blocks, means, biases = assemble(trainer, chosen, kind)
    signal_end = 384 + len(SIGNAL_NAMES)
    metadata: dict[str, object] = {
        "mmlu_target": kind,
        "heads": {shape: chosen[shape].label() for shape in SHAPES},
        "mmlu_train_subjects": train_subjects,
        "mmlu_eval_subjects": eval_subjects,
        "cv_traffic_tier_accuracy": round(tier_accuracy, 4),
        "traffic_rows_by_shape": {s: int(np.sum(traffic.shapes == s)) for s in SHAPES},
        "embedding_model": "all-MiniLM-L6-v2",
        "mmlu_stem_items": len(stems.pool),
        "mmlu_stem_quality": [float(stems.strong.mean()), float(stems.weak.mean())],
    }
    weights = ComplexityWeights(
        embedding_weight=np.stack([b[:384] for b in blocks]).astype(np.float32),
        embedding_mean=np.stack(means).astype(np.float32),
        signal_weight=np.stack([b[384:signal_end] for b in blocks]).astype(np.float32),
        problem_weight=np.stack([b[signal_end:] for b in blocks]).astype(np.float32),
        bias=biases,
        signal_mean=trainer.inputs.signals.mean.astype(np.float32),
        signal_scale=trainer.inputs.signals.scale.astype(np.float32),
        problem_mean=trainer.inputs.problem.mean.astype(np.float32),
        problem_scale=trainer.inputs.problem.scale.astype(np.float32),
        boundaries=(low, high),
        confidence_coef=confidence,
        signal_names=SIGNAL_NAMES,
        problem_signal_names=PROBLEM_SIGNAL_NAMES,
        shapes=SHAPES,
        metadata=metadata,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    weights.save(args.out)
    model = ComplexityModel.load(args.out)
    check_assembly(model, trainer, chosen)
    metadata["realistic_traffic"] = realistic_traffic(model, args.cache_dir)
    rows = [] if args.no_heldout else evaluate_sets(model, load_evaluation_sets(model, args.data_dir), args.cache_dir)
    write_report(
        args.out.parent / "REPORT.md", cv_rows, metadata, (low, high), confidence, rows, time.monotonic() - started
    )
    logger.info("wrote %s (traffic tier accuracy %.3f)\n%s", args.out, tier_accuracy, format_table(rows))


if __name__ == "__main__":
    main()
