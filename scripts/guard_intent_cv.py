"""guard5 experiment: does an attention head over MiniLM token states separate intent better? (cross-validation)

Same examples, same five folds and same threshold search as `guard_cv` (train + validation parts only; the test
parts are never read here). Out-of-fold scores are computed for (a) guard4's full-head ensemble (mean-pooled
embedding + n-grams + signals), (b) the attention head of `guard_attention`, (c) the mean logit of both, and
compared by the mean harm recall at the chosen thresholds under the false-positive budgets, and by the ROC AUC of
the highest harm score on the topic-matched pairs (JailbreakBench harmful vs benign, XSTest unsafe vs safe).

    python scripts/guard_intent_cv.py baseline            # (a), cached in --work
    python scripts/guard_intent_cv.py attention [--queries 4 --epochs 12 ...]   # (b), cached per config
    python scripts/guard_intent_cv.py compare --tags q4 q4-e20   # (a), (b) and (c) for each tag
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from guard_attention import AttentionConfig, attention_logits, train_attention
from guard_cv import (
    ATTACK_SETS,
    FOLDS,
    HARMFUL_SETS,
    choose_thresholds,
    fold_of,
    format_cross_validation,
    out_of_fold_scores,
    pool_sets,
)
from guard_net import Example, label_matrix
from guard_token_states import TokenStates, encoder_for
from train_guard import FULL_ENSEMBLE, build_examples

from homily.guard import datasets
from homily.guard.categories import CATEGORIES, HARM_CATEGORIES
from homily.guard.embedding import LocalEmbedFunction

LOG = logging.getLogger("guard_intent_cv")
Scores = dict[str, npt.NDArray[np.float32]]
PAIRS = (("JailbreakBench harmful", "JailbreakBench benign"), ("XSTest unsafe", "XSTest safe"))


def examples_and_pool(data_dir: Path) -> tuple[list[Example], dict[str, list[str]]]:
    train, validation, _ = build_examples(data_dir, random.Random(2026))
    return train + validation, pool_sets(data_dir)


def save(path: Path, scores: Scores) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **scores)  # type: ignore[arg-type]


def load(path: Path) -> Scores:
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def attention_out_of_fold(
    examples: list[Example],
    pool: dict[str, list[str]],
    config: AttentionConfig,
    encoder: Callable[[Sequence[str]], tuple[npt.NDArray[np.float32], TokenStates]],
) -> Scores:
    """Out-of-fold logits of the attention head, on the folds of `guard_cv.out_of_fold_scores`."""
    texts = sorted({text for text, _ in examples} | {text for items in pool.values() for text in items})
    embeddings, states = encoder(texts)
    position = {text: index for index, text in enumerate(texts)}
    example_rows = [position[text] for text, _ in examples]
    example_states = [states[row] for row in example_rows]
    example_embeddings = embeddings[example_rows]
    labels = label_matrix(examples)
    pooled = {text for items in pool.values() for text in items}
    folds = np.array([fold_of(text) if text in pooled else -1 for text, _ in examples])
    logits = {name: np.zeros((len(items), len(CATEGORIES)), dtype=np.float32) for name, items in pool.items()}
    for fold in range(FOLDS):
        net = train_attention(example_states, example_embeddings, labels, np.flatnonzero(folds != fold), config)
        for name, items in pool.items():
            rows = [index for index, text in enumerate(items) if fold_of(text) == fold]
            item_rows = [position[items[index]] for index in rows]
            logits[name][rows] = attention_logits(
                [net], [states[row] for row in item_rows], embeddings[item_rows], config.max_tokens
            )
        LOG.info("fold %d done", fold)
    return logits


def to_logits(scores: Scores) -> Scores:
    return {
        name: np.log(np.clip(p, 1e-6, 1 - 1e-6) / np.clip(1 - p, 1e-6, 1)).astype(np.float32)
        for name, p in scores.items()
    }


def sigmoid(logits: Scores) -> Scores:
    return {name: (1 / (1 + np.exp(-value))).astype(np.float32) for name, value in logits.items()}


def auc(positive: npt.NDArray[np.float32], negative: npt.NDArray[np.float32]) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    greater = (positive[:, None] > negative[None, :]).mean()
    ties = (positive[:, None] == negative[None, :]).mean()
    return float(greater + 0.5 * ties)


def summary(name: str, scores: Scores, verbose: bool) -> str:
    """Mean harm recall at the thresholds `guard_cv` would choose, per-set rates, and the intent-pair AUCs."""
    harm = [index for index, category in enumerate(CATEGORIES) if category in HARM_CATEGORIES]
    result = choose_thresholds(scores)
    recall = np.mean([result.rates[set_name] for set_name in HARMFUL_SETS])
    aucs = [auc(scores[a][:, harm].max(1), scores[b][:, harm].max(1)) for a, b in PAIRS]
    rates = " ".join(f"{value:.1%}" for value in result.rates.values())
    line = f"{name:<34} harm recall {recall:.3f} | AUC JBB {aucs[0]:.3f} XSTest {aucs[1]:.3f} | {rates}"
    if verbose:
        line += f"\nthresholds {np.round(result.thresholds, 3).tolist()}\n{format_cross_validation(result)}"
    return line


def mix(baseline: Scores, attention: Scores, weight: float, harm_only: bool) -> Scores:
    """Logit mix (1 - weight) * baseline + weight * attention; with `harm_only` the attack columns stay baseline."""
    share = np.full(len(CATEGORIES), weight, dtype=np.float32)
    if harm_only:
        share[[index for index, category in enumerate(CATEGORIES) if category not in HARM_CATEGORIES]] = 0.0
    return {name: (1 - share) * baseline[name] + share * attention[name] for name in baseline}


def seed_table(work: Path, families: list[str], weights: list[float], harm_only: bool = False) -> str:
    """Mean harm recall, written-attack recall and intent AUCs over seeds 7, 8, 9, each attention run mixed with
    the baseline of its seed.

    A family `q4` names the runs `q4` (seed 7), `q4s8` and `q4s9`; weight 0 is the baseline alone.
    """
    harm = [index for index, category in enumerate(CATEGORIES) if category in HARM_CATEGORIES]
    lines = [
        "| head | attention share | mean harm recall (per seed) | written attacks | AUC JBB | AUC XSTest |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for family in families:
        for weight in weights:
            recalls, attacks, aucs = [], [], []
            for seed in (7, 8, 9):
                baseline = load(work / ("oof-baseline.npz" if seed == 7 else f"oof-baseline-s{seed}.npz"))
                attention = load(work / f"oof-attention-{family if seed == 7 else f'{family}s{seed}'}.npz")
                scores = sigmoid(mix(baseline, attention, weight, harm_only))
                result = choose_thresholds(scores)
                recalls.append(float(np.mean([result.rates[name] for name in HARMFUL_SETS])))
                attacks.append(result.rates[ATTACK_SETS[0]])
                aucs.append([auc(scores[a][:, harm].max(1), scores[b][:, harm].max(1)) for a, b in PAIRS])
            per_seed = " / ".join(f"{value:.3f}" for value in recalls)
            jbb, xstest = np.mean(aucs, axis=0)
            lines.append(
                f"| {family} | {weight:.2f} | {np.mean(recalls):.3f} ({per_seed}) | {np.mean(attacks):.1%} | "
                f"{jbb:.3f} | {xstest:.3f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=("baseline", "attention", "compare", "seeds"))
    parser.add_argument("--data-dir", type=Path, default=datasets.default_data_dir())
    parser.add_argument("--work", type=Path, default=Path("/tmp/guard5"))  # noqa: S108
    parser.add_argument("--tag", default="default")
    parser.add_argument("--tags", nargs="*", default=[])
    parser.add_argument("--weights", nargs="*", type=float, default=[0.5], help="attention's share of the logit")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--graph", type=Path, help="attention: an encoder graph with token_states (e.g. int8)")
    parser.add_argument("--harm-only", action="store_true", help="seeds: mix the harm categories only")
    parser.add_argument("--baseline", default="oof-baseline.npz", help="out-of-fold baseline file in --work")
    for field in dataclasses.fields(AttentionConfig):
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=type(field.default), default=field.default)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import torch

    torch.set_num_threads(1)
    if args.stage == "baseline":
        examples, pool = examples_and_pool(args.data_dir)
        embed = LocalEmbedFunction(args.work / "embeddings")
        configs = [dataclasses.replace(config, seed=args.seed) for config in FULL_ENSEMBLE]
        name = "oof-baseline.npz" if args.seed == 7 else f"oof-baseline-s{args.seed}.npz"
        save(args.work / name, to_logits(out_of_fold_scores(examples, pool, configs, embed)))
    elif args.stage == "attention":
        config = AttentionConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(AttentionConfig)})
        LOG.info("%s", config)
        examples, pool = examples_and_pool(args.data_dir)
        logits = attention_out_of_fold(examples, pool, config, encoder_for(args.work, args.graph))
        save(args.work / f"oof-attention-{args.tag}.npz", logits)
    elif args.stage == "seeds":
        print(seed_table(args.work, args.tags, args.weights, args.harm_only))
    else:
        baseline = load(args.work / args.baseline)
        print("columns: " + ", ".join(pool_sets(args.data_dir)))
        print(summary("guard4 full head (baseline)", sigmoid(baseline), args.verbose))
        for tag in args.tags:
            attention = load(args.work / f"oof-attention-{tag}.npz")
            print(summary(f"attention {tag}", sigmoid(attention), args.verbose))
            for weight in args.weights:
                mixed = {name: (1 - weight) * baseline[name] + weight * attention[name] for name in baseline}
                print(summary(f"baseline + {weight:.2f} x attention {tag}", sigmoid(mixed), args.verbose))
    return 0


if __name__ == "__main__":
    sys.exit(main())
