"""guard5: one recorded look at the test parts for guard4's full head mixed with the token-state intent head.

The mixed head: sigmoid((1 - w) * guard4 full-head logit + w * attention-head logit), thresholds chosen by
`guard_cv.choose_thresholds` on the out-of-fold mixed scores of `guard_intent_cv.py` (train + validation parts
only); the attention head is then refitted on all train + validation examples, like guard4's full head (whose
weights, from commit b222810, are the mix's other half). The test parts are scored by `homily.guard.evaluation`
unchanged (same sets, same detection rule, same passage scanner), through a model that adds the intent head.
Every run of this script is a look at the test parts: record it in the evaluation history first.

    git show b222810:src/homily/guard/weights/guard.npz > /tmp/guard5/guard4.npz
    python scripts/guard_intent_eval.py --guard4 /tmp/guard5/guard4.npz --tag q8 --weight 0.5 --queries 8
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import numpy.typing as npt
import torch
from guard_attention import AttentionConfig, head_arrays, numpy_logits, train_attention
from guard_cv import choose_thresholds
from guard_intent_cv import examples_and_pool, load, sigmoid
from guard_net import label_matrix
from guard_token_states import TokenStateEncoder

from homily.guard import datasets
from homily.guard.categories import CATEGORIES, Category
from homily.guard.evaluation import evaluate, format_table
from homily.guard.features import LexicalFeatures
from homily.guard.model import GuardModel, PassageScorer, load_guard_model
from homily.guard.policy import GuardPolicy

LOG = logging.getLogger("guard_intent_eval")
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class IntentMixedModel:
    """Quacks like `GuardModel` for `screen`: the full head's logits mixed with the intent head's.

    Token states are looked up by the query embedding's bytes (filled by `embed`), since `screen` passes only
    the embedding; without an embedding (earlier turns) the base model's lexical head answers as before.
    """

    base: GuardModel
    arrays: dict[str, FloatArray]
    weight: float
    thresholds: FloatArray
    states: dict[bytes, FloatArray]

    @property
    def passage(self) -> PassageScorer:
        return self.base.passage

    def category_scores(self, features: LexicalFeatures, embedding: FloatArray | None) -> dict[Category, float]:
        if embedding is None:
            return self.base.category_scores(features, None)
        probabilities = np.clip(self.base.full.probabilities(features, embedding), 1e-6, 1 - 1e-6)
        base = np.log(probabilities / (1 - probabilities))
        intent = numpy_logits(self.arrays, self.states[embedding.tobytes()], embedding)
        mixed = 1 / (1 + np.exp(-((1 - self.weight) * base + self.weight * intent)))
        return {category: float(mixed[i]) for i, category in enumerate(CATEGORIES)}

    def default_thresholds(self, with_embedding: bool) -> dict[Category, float]:
        if not with_embedding:
            return self.base.default_thresholds(False)
        return {category: float(self.thresholds[i]) for i, category in enumerate(CATEGORIES)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=datasets.default_data_dir())
    parser.add_argument("--work", type=Path, default=Path("/tmp/guard5"))  # noqa: S108
    parser.add_argument("--guard4", type=Path, required=True, help="guard4's guard.npz (commit b222810)")
    parser.add_argument("--tag", required=True, help="out-of-fold attention scores to mix (guard_intent_cv.py)")
    parser.add_argument("--weight", type=float, default=0.5)
    parser.add_argument("--split", choices=("val", "test"), default="test", help="val: a plumbing check (in-sample)")
    for field in dataclasses.fields(AttentionConfig):
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=type(field.default), default=field.default)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(1)
    config = AttentionConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(AttentionConfig)})
    baseline, attention = load(args.work / "oof-baseline.npz"), load(args.work / f"oof-attention-{args.tag}.npz")
    mixed = {name: (1 - args.weight) * baseline[name] + args.weight * attention[name] for name in baseline}
    thresholds = choose_thresholds(sigmoid(mixed)).thresholds
    LOG.info("thresholds %s", np.round(thresholds, 3).tolist())
    examples, _ = examples_and_pool(args.data_dir)
    encoder = TokenStateEncoder(args.work / "states")
    texts = sorted({text for text, _ in examples})
    embeddings, states = encoder(texts)
    position = {text: index for index, text in enumerate(texts)}
    rows = [position[text] for text, _ in examples]
    net = train_attention(
        [states[row] for row in rows], embeddings[rows], label_matrix(examples), np.arange(len(rows)), config
    )
    lookup: dict[bytes, FloatArray] = {}

    def embed(prompts: Sequence[str]) -> FloatArray:
        vectors, prompt_states = encoder(list(prompts))
        for vector, item in zip(vectors, prompt_states, strict=True):
            lookup[np.asarray(vector, dtype=np.float32).tobytes()] = item[: config.max_tokens].astype(np.float32)
        return vectors

    model = IntentMixedModel(load_guard_model(args.guard4), head_arrays(net), args.weight, thresholds, lookup)
    print(format_table(evaluate(embed, cast(GuardModel, model), GuardPolicy(), args.data_dir, split=args.split)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
