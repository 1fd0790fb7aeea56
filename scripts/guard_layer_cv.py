"""guard8: a guard-specific, fine-tuned copy of MiniLM's top layer(s) under guard5's intent head (cross-validation).

Hypothesis: frozen MiniLM features separate topic, not intent; a copy of the encoder's last layer (or last two)
fine-tuned on the guard's tuning items, reading the token states the shared encoder has already computed one
(or two) layers below, separates same-topic harmful/benign pairs better than guard6's head over frozen states.

Per fold (guard5's folds: `guard_cv.fold_of`, written/templated examples always in training):
1. linear-probe stage: guard5's attention head (`guard_attention.train_attention`, 8 queries, 12 epochs, its
   seed) fitted on the FROZEN copies' outputs, exactly guard5's recipe (with `--tune-epochs 0` this is the
   control: guard5's head on the same states);
2. fine-tuning stage: the copied layer(s) and the head trained together for `--tune-epochs` epochs (AdamW,
   `--layer-lr` for the layers, `--head-lr` for the head, same class-weighted loss), length-bucketed batches.
The out-of-fold logits are written as `oof-attention-{tag}.npz` in --work, the layout `guard_shipped_intent.py
cv --work W --family F` reads (seed 7 -> F, 8 -> Fs8, 9 -> Fs9), so the figure compares directly with guard6's.

Runs against guard6's tree (60918b5, whose `src` and `scripts` hold the stratified splits and guard5/6 code):
    git archive 60918b5 | tar -x -C /tmp/guard8/g6; ln -s /work/shared /tmp/guard8/shared
    ln -s /tmp/guard5/states /tmp/guard8/states
    export PYTHONPATH=/tmp/guard8/g6/src:/tmp/guard8/g6/scripts:$PWD/scripts GIT_DIR=$(git rev-parse --git-dir)
    run() { python -c "import sys; from $1 import main; sys.exit(main(sys.argv[2:]))" "$@"; }
    run guard_layer_cv --tag L3 --seed 7 --tune-epochs 6 --layer-lr 1e-4 --head-lr 1e-3   # and --seed 8, 9
    run guard_shipped_intent cv --work /tmp/guard8 --family L3 --shares 0 0.2 0.3 0.4 0.5 0.6 0.7 1.0
(run as modules: guard6's `train_guard` must shadow this tree's, which `python scripts/...` would not do.)
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from guard_attention import AttentionConfig, AttentionHead, padded, train_attention
from guard_cv import FOLDS, fold_of
from guard_intent_cv import examples_and_pool, save
from guard_layer_states import MiniLM, TokenStates, cached_states
from guard_net import label_matrix
from guard_token_states import TokenStateEncoder

from homily.guard import datasets
from homily.guard.categories import CATEGORIES

LOG = logging.getLogger("guard_layer_cv")
FloatArray = npt.NDArray[np.float32]
LAYERS = 6


@dataclass(frozen=True)
class TuneConfig:
    """The fine-tuning stage (chosen by cross-validation only)."""

    depth: int = 5
    """Layers computed by the shared encoder; the copies of layers depth..5 are fine-tuned."""
    tune_epochs: int = 3
    layer_lr: float = 3e-5
    head_lr: float = 3e-4
    batch: int = 32
    layer_dropout: float = 0.1
    probe: int = 1
    """1: start the fine-tuning from guard5's head fitted on the frozen outputs; 0: from a fresh head (joint
    training from the start, no linear-probe stage)."""


class TopLayers(torch.nn.Module):
    """Fine-tuned layer copies followed by guard5's attention head."""

    def __init__(self, layers: torch.nn.ModuleList, head: AttentionHead) -> None:
        super().__init__()
        self.layers = layers
        self.head = head

    def forward(self, states: torch.Tensor, mask: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            states = layer(states, mask)
        return self.head(states, mask, embedding)  # type: ignore[no-any-return]


def frozen_outputs(layers: torch.nn.ModuleList, states: TokenStates, max_tokens: int) -> TokenStates:
    """The untrained copies' outputs for every text (inputs truncated to `max_tokens`)."""
    layers.eval()
    out: TokenStates = []
    with torch.no_grad():
        for item in states:
            x = torch.from_numpy(item[:max_tokens].astype(np.float32))[None]
            mask = torch.ones((1, x.shape[1]), dtype=torch.bool)
            for layer in layers:
                x = layer(x, mask)
            out.append(x[0].numpy().astype(np.float16))
    return out


def buckets(
    rows: npt.NDArray[np.intp], lengths: npt.NDArray[np.intp], size: int, rng: np.random.Generator
) -> list[npt.NDArray[np.intp]]:
    """`rows` in batches of similar length (shuffled within a length band, batches in random order)."""
    jitter = lengths[rows] + rng.uniform(0, 4, len(rows))
    ordered = rows[np.argsort(jitter, kind="stable")]
    batches = [ordered[start : start + size] for start in range(0, len(ordered), size)]
    rng.shuffle(batches)  # type: ignore[arg-type]
    return batches


def fine_tune(
    model: TopLayers,
    states: TokenStates,
    embeddings: FloatArray,
    labels: FloatArray,
    rows: npt.NDArray[np.intp],
    *,
    head: AttentionConfig,
    tune: TuneConfig,
) -> None:
    """Train the layer copies and the head together on `rows` (loss weighting of `train_attention`)."""
    if tune.tune_epochs == 0:
        return
    torch.manual_seed(head.seed)
    optimiser = torch.optim.AdamW(
        [
            {"params": model.layers.parameters(), "lr": tune.layer_lr},
            {"params": model.head.parameters(), "lr": tune.head_lr},
        ],
        weight_decay=head.weight_decay,
    )
    fit = labels[rows]
    positives = fit.sum(axis=0)
    weight = torch.from_numpy(np.clip((len(fit) - positives) / np.maximum(positives, 1), 1, 8) ** 0.5)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=weight.float())
    lengths = np.array([min(len(item), head.max_tokens) for item in states], dtype=np.intp)
    rng = np.random.default_rng(head.seed + 1)
    model.train()
    for epoch in range(tune.tune_epochs):
        total = 0.0
        for batch in buckets(rows, lengths, tune.batch, rng):
            tokens, mask = padded(states, batch.tolist(), head.max_tokens)
            optimiser.zero_grad()
            loss = loss_fn(model(tokens, mask, torch.from_numpy(embeddings[batch])), torch.from_numpy(labels[batch]))
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(batch)
        LOG.info("epoch %d loss %.4f", epoch, total / len(rows))
    model.eval()


def predict(model: TopLayers, states: TokenStates, embeddings: FloatArray, max_tokens: int) -> FloatArray:
    out = np.zeros((len(states), len(CATEGORIES)), dtype=np.float32)
    order = sorted(range(len(states)), key=lambda index: len(states[index]))
    model.eval()
    with torch.no_grad():
        for start in range(0, len(order), 64):
            rows = order[start : start + 64]
            tokens, mask = padded(states, rows, max_tokens)
            out[rows] = model(tokens, mask, torch.from_numpy(embeddings[rows])).numpy()
    return out


def out_of_fold(data_dir: Path, work: Path, head: AttentionConfig, tune: TuneConfig) -> dict[str, FloatArray]:
    examples, pool = examples_and_pool(data_dir)
    texts = sorted({text for text, _ in examples} | {text for items in pool.values() for text in items})
    embeddings, _ = TokenStateEncoder(work / "states")(texts)
    minilm = MiniLM()
    states = cached_states(work / "layers", texts, tune.depth, minilm)
    position = {text: index for index, text in enumerate(texts)}
    example_rows = [position[text] for text, _ in examples]
    example_states = [states[row] for row in example_rows]
    example_embeddings = embeddings[example_rows]
    labels = label_matrix(examples)
    pooled = {text for items in pool.values() for text in items}
    folds = np.array([fold_of(text) if text in pooled else -1 for text, _ in examples])
    indices = range(tune.depth, LAYERS)
    frozen = frozen_outputs(minilm.layers(indices), example_states, head.max_tokens) if tune.probe else []
    logits = {name: np.zeros((len(items), len(CATEGORIES)), dtype=np.float32) for name, items in pool.items()}
    for fold in range(FOLDS):
        started = time.monotonic()
        rows = np.flatnonzero(folds != fold)
        if tune.probe:
            start = train_attention(frozen, example_embeddings, labels, rows, head)
        else:
            torch.manual_seed(head.seed)
            start = AttentionHead(labels.shape[1], head)
        model = TopLayers(minilm.layers(indices, tune.layer_dropout), start)
        fine_tune(model, example_states, example_embeddings, labels, rows, head=head, tune=tune)
        for name, items in pool.items():
            held = [index for index, text in enumerate(items) if fold_of(text) == fold]
            item_rows = [position[items[index]] for index in held]
            logits[name][held] = predict(
                model, [states[row] for row in item_rows], embeddings[item_rows], head.max_tokens
            )
        LOG.info("fold %d done in %.0f s", fold, time.monotonic() - started)
    return logits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=datasets.default_data_dir())
    parser.add_argument("--work", type=Path, default=Path("/tmp/guard8"))  # noqa: S108
    parser.add_argument("--tag", required=True, help="family name; seed 8/9 runs get the suffix s8/s9")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--queries", type=int, default=8)
    for field in dataclasses.fields(TuneConfig):
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=type(field.default), default=field.default)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(1)
    head = AttentionConfig(queries=args.queries, seed=args.seed)
    tune = TuneConfig(**{field.name: getattr(args, field.name) for field in dataclasses.fields(TuneConfig)})
    LOG.info("%s %s", head, tune)
    name = args.tag if args.seed == 7 else f"{args.tag}s{args.seed}"
    save(args.work / f"oof-attention-{name}.npz", out_of_fold(args.data_dir, args.work, head, tune))
    return 0


if __name__ == "__main__":
    sys.exit(main())
