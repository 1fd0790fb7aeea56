"""guard8: one out-of-fold run at a time, scored as guard6's `cv` scores a seed (tuning items only).

For each out-of-fold logits file: mean harm recall within guard6's budgets when mixed into the shipped guard's
harm logits at each share (thresholds re-chosen per share by `guard_shipped_intent.choose`), the three recalls,
and the ROC AUC of the top harm score on the topic-matched pairs (JBB harmful vs benign, XSTest unsafe vs safe),
for the head alone (share 1) and mixed at 0.5. Used to screen variants on one seed; the reported figures are
`guard_shipped_intent.py cv` over seeds 7/8/9. Runs against guard6's tree like `guard_layer_cv.py`:

    /tmp/guard8/run.sh guard_layer_screen /tmp/guard5/oof-attention-q8.npz /tmp/guard8/oof-attention-L1.npz
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from guard_intent_cv import PAIRS, auc, examples_and_pool, load
from guard_shipped_intent import HARM, HARMFUL, choose, mix, shipped_logits, unseen_mask
from guard_token_states import encoder_for

from homily.guard import datasets
from homily.guard.model import load_guard_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--shares", nargs="*", type=float, default=[0.2, 0.3, 0.5, 0.7, 1.0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/guard5"), help="holds the float32 states cache")  # noqa: S108
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    examples, pool = examples_and_pool(datasets.default_data_dir())
    texts = sorted({text for text, _ in examples} | {text for items in pool.values() for text in items})
    keep = unseen_mask(pool)
    everything = shipped_logits(pool, encoder_for(args.work), texts)
    shipped = {name: everything[name][keep[name]] for name in pool}
    thresholds = load_guard_model().full.thresholds
    for path in args.files:
        raw = load(path)
        intent = {name: raw[name][keep[name]] for name in pool}
        cells = []
        for share in args.shares:
            choice = choose({name: mix(shipped[name], intent[name], share) for name in shipped}, thresholds)
            recalls = " ".join(f"{choice.rates[name]:.3f}" for name in HARMFUL)
            cells.append(f"s{share:.1f} {np.mean([choice.rates[name] for name in HARMFUL]):.3f} ({recalls})")
        aucs = []
        for share in (1.0, 0.5):
            mixed = {name: mix(shipped[name], intent[name], share)[:, HARM].max(axis=1) for name in shipped}
            aucs.append(" ".join(f"{auc(mixed[a], mixed[b]):.3f}" for a, b in PAIRS))
        print(f"{path.name}: " + " | ".join(cells) + f" | AUC JBB XSTest alone {aucs[0]}, s0.5 {aucs[1]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
