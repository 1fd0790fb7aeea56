"""guard6: guard5's token-state intent head mixed into the SHIPPED guard's harm categories only.

Mixed harm score: sigmoid((1 - s) * shipped full-head logit + s * intent-head logit) for the five harm categories;
the attack categories (jailbreak, prompt_injection, system_prompt_extraction) keep the shipped scores and the
shipped thresholds, and the passage scanner is the shipped one. The share s and the harm thresholds are chosen
on the train + validation parts only (`cv`); `test` is the one recorded look at the test parts.

Fair tuning data for the shipped guard (`42a044c:scripts/train_guard.py` trained on AdvBench's and WildGuard's
train parts and on `guard_data/benign.txt` as it was then): AdvBench and WildGuard enter through their
validation parts only, the written pastoral questions through the lines added since 42a044c; JailbreakBench,
XSTest and NotInject (never trained on by the shipped guard) through their train + validation parts. The intent
head's scores are guard5's out-of-fold logits (`guard_intent_cv.py attention --queries 8`, seeds 7/8/9, float32
token states), so every tuning score is one its model did not fit.

    python scripts/guard_shipped_intent.py cv --shares 0 0.2 0.3 0.5
    python scripts/guard_shipped_intent.py stacked --shares 0.3 0.5   # the thresholds a look would use
    python scripts/guard_shipped_intent.py int8 --share 0.5 --graph /tmp/guard6/int8_states.onnx
    python scripts/guard_shipped_intent.py test --share 0.5      # a look at the test parts: record it first
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import numpy.typing as npt
from guard_attention import AttentionConfig, head_arrays, numpy_logits, train_attention
from guard_cv import GUARD_DATA
from guard_intent_cv import examples_and_pool, load
from guard_net import label_matrix
from guard_thresholds import Budget, greedy_thresholds, pooled, rates
from guard_token_states import TokenStateEncoder, encoder_for

from homily.guard import datasets
from homily.guard.categories import CATEGORIES, HARM_CATEGORIES, Category
from homily.guard.evaluation import evaluate, format_table
from homily.guard.features import LexicalFeatures, lexical_features
from homily.guard.model import GuardModel, PassageScorer, load_guard_model
from homily.guard.policy import GuardPolicy

LOG = logging.getLogger("guard_shipped_intent")
FloatArray = npt.NDArray[np.float32]
Scores = dict[str, FloatArray]
HARM = np.array([category in HARM_CATEGORIES for category in CATEGORIES])
HARMFUL = ("AdvBench behaviours", "JailbreakBench harmful", "XSTest unsafe")
PASTORAL = "Written pastoral and look-alike questions"
BUDGETS = {"XSTest safe": 0.08, "NotInject": 0.04, PASTORAL: 0.06}
HARM_ALLOWANCE = 0.01
"""The fixed attack columns alone flag 4.9% of NotInject's train + validation parts (over its 4% budget), so a
budget is raised to what the attack columns alone flag plus this much for the harm columns."""
POOLED_BUDGET = 0.025
"""WildGuard benign (validation part) weighted as AlpacaEval + Vicuna (885), JailbreakBench benign as its 40
and the pastoral questions at their own size: the issue's pooled target (3%) less a margin."""
HARM_START, HARM_FLOOR = 0.95, 0.35


@dataclass(frozen=True)
class Source:
    """Where the tuning scores come from: `work` holds the out-of-fold intent logits `oof-attention-{family}`
    (seed 7), `{family}s8`, `{family}s9`; `graph` None is the float32 encoder, else e.g. the int8 one."""

    work: Path
    family: str = "q8"
    graph: Path | None = None


def unseen_mask(pool: dict[str, list[str]]) -> dict[str, npt.NDArray[np.bool_]]:
    """Items of each pooled set the shipped guard never trained on."""
    old = subprocess.run(
        ["git", "show", "42a044c:scripts/guard_data/benign.txt"],
        capture_output=True,
        text=True,
        check=True,
        cwd=GUARD_DATA,
    ).stdout
    seen = {line.strip() for line in old.splitlines()}
    keep: dict[str, npt.NDArray[np.bool_]] = {}
    for name, texts in pool.items():
        if name in ("AdvBench behaviours", "WildGuard benign"):
            keep[name] = np.array([datasets.split_of(text) == "val" for text in texts])
        elif name == PASTORAL:
            keep[name] = np.array([text not in seen for text in texts])
        else:
            keep[name] = np.ones(len(texts), dtype=bool)
    return keep


def shipped_logits(pool: dict[str, list[str]], encoder: TokenStateEncoder, texts: list[str]) -> Scores:
    """The shipped full head's logits on every pooled item (float32 embeddings of the token-state encoder)."""
    model = load_guard_model()
    embeddings, _ = encoder(texts)
    position = {text: index for index, text in enumerate(texts)}
    out: Scores = {}
    for name, items in pool.items():
        probabilities = np.array(
            [model.full.probabilities(lexical_features(text), embeddings[position[text]]) for text in items]
        )
        clipped = np.clip(probabilities, 1e-6, 1 - 1e-6)
        out[name] = np.log(clipped / (1 - clipped)).astype(np.float32)
    return out


def mix(shipped: FloatArray, intent: FloatArray, share: float) -> FloatArray:
    """Harm columns mixed at `share`; attack columns the shipped guard's."""
    logits = np.where(HARM, (1 - share) * shipped + share * intent, shipped)
    return (1 / (1 + np.exp(-logits))).astype(np.float32)


@dataclass(frozen=True)
class Choice:
    thresholds: FloatArray
    rates: dict[str, float]


def choose(scores: Scores, attack_thresholds: FloatArray) -> Choice:
    """Harm thresholds from HARM_START down to HARM_FLOOR maximising mean harm recall within the budgets; attack
    thresholds fixed at the shipped values."""
    start = np.where(HARM, HARM_START, attack_thresholds).astype(np.float32)
    pool_parts = [(scores["WildGuard benign"], 885.0), (scores["JailbreakBench benign"], 40.0)]
    pool_parts.append((scores[PASTORAL], float(len(scores[PASTORAL]))))
    attack_only = np.where(HARM, np.inf, attack_thresholds).astype(np.float32)
    budgets = [
        Budget(scores[name], max(rate, Budget(scores[name], 0.0).rate(attack_only) + HARM_ALLOWANCE))
        for name, rate in BUDGETS.items()
    ]
    budgets.append(pooled(pool_parts, POOLED_BUDGET))
    harm_columns = [int(index) for index in np.flatnonzero(HARM)]
    thresholds = greedy_thresholds([scores[name] for name in HARMFUL], budgets, start, harm_columns, HARM_FLOOR)
    result = rates(scores, thresholds)
    result["pooled proxy"] = budgets[-1].rate(thresholds)
    return Choice(thresholds, result)


def tuning_scores(source: Source, data_dir: Path) -> tuple[Scores, dict[int, Scores], FloatArray]:
    """(shipped logits, intent out-of-fold logits per seed) restricted to the fair items; shipped thresholds."""
    examples, pool = examples_and_pool(data_dir)
    texts = sorted({text for text, _ in examples} | {text for items in pool.values() for text in items})
    shipped = shipped_logits(pool, encoder_for(source.work, source.graph), texts)
    keep = unseen_mask(pool)
    tags = {7: source.family, 8: f"{source.family}s8", 9: f"{source.family}s9"}
    intents = {seed: load(source.work / f"oof-attention-{tag}.npz") for seed, tag in tags.items()}
    restrict = {name: shipped[name][keep[name]] for name in pool}
    per_seed = {seed: {name: logits[name][keep[name]] for name in pool} for seed, logits in intents.items()}
    LOG.info("items: %s", {name: int(mask.sum()) for name, mask in keep.items()})
    return restrict, per_seed, load_guard_model().full.thresholds


def cv_table(source: Source, data_dir: Path, shares: Sequence[float]) -> str:
    shipped, intents, shipped_thresholds = tuning_scores(source, data_dir)
    columns = [*HARMFUL, "XSTest safe", "NotInject", "JailbreakBench benign", "WildGuard benign", PASTORAL]
    header = "| candidate | mean harm recall (seeds 7/8/9) | " + " | ".join(columns) + " | pooled proxy |"
    lines = [header, "|---" * (len(columns) + 3) + "|"]
    as_shipped = rates({name: mix(value, value, 0.0) for name, value in shipped.items()}, shipped_thresholds)
    lines.append(
        f"| shipped, its thresholds (0.4) | {np.mean([as_shipped[n] for n in HARMFUL]):.3f} | "
        + " | ".join(f"{as_shipped[n]:.1%}" for n in columns)
        + " | - |"
    )
    for share in shares:
        choices = [
            choose({name: mix(shipped[name], intent[name], share) for name in shipped}, shipped_thresholds)
            for intent in intents.values()
        ]
        recalls = [float(np.mean([choice.rates[n] for n in HARMFUL])) for choice in choices]
        cells = [f"{np.mean([choice.rates[n] for choice in choices]):.1%}" for n in [*columns, "pooled proxy"]]
        lines.append(
            f"| share {share:.2f} | {np.mean(recalls):.3f} ({' / '.join(f'{r:.3f}' for r in recalls)}) | "
            + " | ".join(cells)
            + " |"
        )
        for seed, choice in zip(intents, choices, strict=True):
            LOG.info("share %.2f seed %d thresholds %s", share, seed, np.round(choice.thresholds, 3).tolist())
    return "\n".join(lines)


def stacked_choice(source: Source, data_dir: Path, share: float) -> Choice:
    """Thresholds chosen once on the three seeds' out-of-fold mixes stacked (every item three times), so they
    do not follow one training seed's noise (per seed they vary by up to 0.4)."""
    shipped, intents, shipped_thresholds = tuning_scores(source, data_dir)
    stacked = {
        name: np.vstack([mix(shipped[name], intent[name], share) for intent in intents.values()]) for name in shipped
    }
    return choose(stacked, shipped_thresholds)


@dataclass(frozen=True)
class ShippedIntentModel:
    """Quacks like `GuardModel` for `screen`: shipped scores, harm columns mixed with the intent head.

    Token states are looked up by the query embedding's bytes (filled by the evaluation's embed function)."""

    base: GuardModel
    arrays: dict[str, FloatArray]
    share: float
    thresholds: FloatArray
    states: dict[bytes, FloatArray]

    @property
    def passage(self) -> PassageScorer:
        return self.base.passage

    def category_scores(self, features: LexicalFeatures, embedding: FloatArray | None) -> dict[Category, float]:
        if embedding is None:
            return self.base.category_scores(features, None)
        probabilities = np.clip(self.base.full.probabilities(features, embedding), 1e-6, 1 - 1e-6)
        shipped = np.log(probabilities / (1 - probabilities))
        intent = numpy_logits(self.arrays, self.states[embedding.tobytes()], embedding)
        mixed = mix(shipped.astype(np.float32), intent, self.share)
        return {category: float(mixed[i]) for i, category in enumerate(CATEGORIES)}

    def default_thresholds(self, with_embedding: bool) -> dict[Category, float]:
        if not with_embedding:
            return self.base.default_thresholds(False)
        return {category: float(self.thresholds[i]) for i, category in enumerate(CATEGORIES)}


CONFIG = AttentionConfig(queries=8, seed=7)


def refit_head(work: Path, data_dir: Path) -> dict[str, FloatArray]:
    """The intent head (8 queries, seed 7) refitted on all train + validation examples (float32 token states)."""
    examples, _ = examples_and_pool(data_dir)
    texts = sorted({text for text, _ in examples})
    embeddings, states = TokenStateEncoder(work / "states")(texts)
    position = {text: index for index, text in enumerate(texts)}
    rows = [position[text] for text, _ in examples]
    net = train_attention(
        [states[row] for row in rows], embeddings[rows], label_matrix(examples), np.arange(len(rows)), CONFIG
    )
    return head_arrays(net)


def int8_check(work: Path, data_dir: Path, share: float, graph: Path) -> str:
    """How many tuning-item decisions change when the refitted head and the shipped guard read the int8 graph's
    embeddings and token states instead of float32 ones (thresholds as for the test look; no test item read)."""
    choice = stacked_choice(Source(work), data_dir, share)
    arrays = refit_head(work, data_dir)
    _, pool = examples_and_pool(data_dir)
    keep = unseen_mask(pool)
    shipped = load_guard_model().full
    texts = sorted({text for items in pool.values() for text in items})
    position = {text: index for index, text in enumerate(texts)}
    encoders = {
        "float32": TokenStateEncoder(work / "states"),
        "int8": encoder_for(work, graph),
    }
    encoded = {name: encoder(texts) for name, encoder in encoders.items()}
    lines = ["| set | n | float32 rate | int8 rate | decisions changed |", "|---|---:|---:|---:|---:|"]
    for name, items in pool.items():
        chosen = [text for text, kept in zip(items, keep[name], strict=True) if kept]
        flags = {}
        for precision, (embeddings, states) in encoded.items():
            rows = [position[text] for text in chosen]
            scores = []
            for text, row in zip(chosen, rows, strict=True):
                probabilities = np.clip(shipped.probabilities(lexical_features(text), embeddings[row]), 1e-6, 1 - 1e-6)
                intent = numpy_logits(arrays, states[row][: CONFIG.max_tokens].astype(np.float32), embeddings[row])
                scores.append(mix(np.log(probabilities / (1 - probabilities)).astype(np.float32), intent, share))
            flags[precision] = (np.array(scores) >= choice.thresholds).any(axis=1)
        changed = int((flags["float32"] != flags["int8"]).sum())
        lines.append(
            f"| {name} | {len(chosen)} | {flags['float32'].mean():.1%} | {flags['int8'].mean():.1%} | {changed} |"
        )
    cosine = np.sum(encoded["float32"][0] * encoded["int8"][0], axis=1)
    lines.append(f"\nsentence-embedding cosine float32 vs int8: mean {cosine.mean():.5f}, min {cosine.min():.5f}")
    return "\n".join(lines)


def test_look(work: Path, data_dir: Path, share: float, split: str) -> str:
    """Thresholds from the stacked out-of-fold mixes; the intent head refitted (`refit_head`); the test parts
    scored by `homily.guard.evaluation` unchanged."""
    choice = stacked_choice(Source(work), data_dir, share)
    LOG.info("thresholds %s, tuning rates %s", np.round(choice.thresholds, 3).tolist(), choice.rates)
    config = CONFIG
    arrays = refit_head(work, data_dir)
    encoder = TokenStateEncoder(work / "states")
    lookup: dict[bytes, FloatArray] = {}

    def embed(prompts: Sequence[str]) -> FloatArray:
        vectors, prompt_states = encoder(list(prompts))
        for vector, item in zip(vectors, prompt_states, strict=True):
            lookup[np.asarray(vector, dtype=np.float32).tobytes()] = item[: config.max_tokens].astype(np.float32)
        return vectors

    model = ShippedIntentModel(load_guard_model(), arrays, share, choice.thresholds, lookup)
    rows_out = evaluate(embed, cast(GuardModel, model), GuardPolicy(), data_dir, split=split)  # type: ignore[arg-type]
    return format_table(rows_out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=("cv", "stacked", "int8", "test"))
    parser.add_argument("--data-dir", type=Path, default=datasets.default_data_dir())
    parser.add_argument("--work", type=Path, default=Path("/tmp/guard5"))  # noqa: S108
    parser.add_argument("--shares", nargs="*", type=float, default=[0.0, 0.2, 0.3, 0.5])
    parser.add_argument("--share", type=float, default=0.3)
    parser.add_argument("--split", choices=("val", "test"), default="test")
    parser.add_argument("--graph", type=Path, help="an encoder graph with the token_states output (e.g. int8)")
    parser.add_argument("--family", default="q8", help="cv/stacked: out-of-fold intent runs in --work")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import torch

    torch.set_num_threads(1)
    if args.stage == "cv":
        print(cv_table(Source(args.work, args.family, args.graph), args.data_dir, args.shares))
    elif args.stage == "stacked":
        for share in args.shares:
            choice = stacked_choice(Source(args.work, args.family, args.graph), args.data_dir, share)
            recall = np.mean([choice.rates[name] for name in HARMFUL])
            cells = ", ".join(f"{name} {rate:.1%}" for name, rate in choice.rates.items())
            print(
                f"share {share:.2f}: mean harm recall {recall:.3f}; thresholds "
                f"{np.round(choice.thresholds, 3).tolist()}; {cells}"
            )
    elif args.stage == "int8":
        print(int8_check(args.work, args.data_dir, args.share, args.graph))
    else:
        print(test_look(args.work, args.data_dir, args.share, args.split))
    return 0


if __name__ == "__main__":
    sys.exit(main())
