"""Render `src/homily/guard/weights/REPORT.md` for the shipped (or given) guard weights.

    python scripts/guard_report.py [--weights PATH] [--data-dir ../shared/data] [--cache-dir /tmp/homily-guard-cache]

Runs the validation and test evaluations (`homily.guard.evaluation.evaluate`) and writes both tables, the data
and split description, and the evaluation history kept in `scripts/guard_data/evaluation_history.md` (every
look at the test part is recorded there by hand, with what changed). `scripts/train_guard.py --report` calls
`write_report` after training.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from guard_cv import threshold_selection

from homily.guard import datasets
from homily.guard.embedding import LocalEmbedFunction
from homily.guard.evaluation import EmbedFunction, EvalRow, evaluate, format_table
from homily.guard.features import HASH_BUCKETS, N_SIGNALS
from homily.guard.model import DEFAULT_WEIGHTS, GuardModel, load_guard_model
from homily.guard.policy import GuardPolicy

HISTORY = Path(__file__).resolve().parent / "guard_data" / "evaluation_history.md"
NOTES = Path(__file__).resolve().parent / "guard_data" / "report_notes.md"
"""Hand-written reading of the shipped figures (update it with the weights)."""


def split_counts(data_dir: Path) -> str:
    """A Markdown table: per stratified set, how many items fall in train / validation / test."""
    sets: list[tuple[str, list[tuple[str, str]], str]] = [
        ("JailbreakBench harmful (MIT)", datasets.jbb_rows(data_dir, "harmful"), "category"),
        ("JailbreakBench benign (MIT)", datasets.jbb_rows(data_dir, "benign"), "category"),
        ("XSTest unsafe (CC BY 4.0)", datasets.xstest_rows(data_dir, "unsafe"), "type"),
        ("XSTest safe (CC BY 4.0)", datasets.xstest_rows(data_dir, "safe"), "type"),
        ("NotInject (MIT)", datasets.notinject_rows(data_dir), "category"),
        ("BIPIA text (MIT)", datasets.bipia_rows(data_dir, "text"), "attack group"),
        ("BIPIA code (MIT)", datasets.bipia_rows(data_dir, "code"), "attack group"),
    ]
    lines = ["| set | stratified by | strata | train | validation | test |", "|---|---|---:|---:|---:|---:|"]
    for name, rows, column in sets:
        splits = datasets.stratified_split(rows)
        strata = len({stratum for _, stratum in rows})
        counts = [splits.count(split) for split in ("train", "val", "test")]
        lines.append(f"| {name} | {column} | {strata} | {counts[0]} | {counts[1]} | {counts[2]} |")
    return "\n".join(lines)


def previous_cross_validation(report: Path) -> str:
    """The cross-validation table of an existing report (it is computed only while training)."""
    text = report.read_text("utf-8") if report.exists() else ""
    start = text.find("## Cross-validated figures")
    if start < 0:
        return "(not recorded)"
    body = text[text.index("\n", start) + 1 :]
    return body[: body.find("\n## ")].strip()


def notes() -> str:
    return NOTES.read_text("utf-8").strip() if NOTES.exists() else "(none)"


def history() -> str:
    return HISTORY.read_text("utf-8").strip() if HISTORY.exists() else "(none recorded)"


def report_text(
    data_dir: Path, counts: tuple[int, int], val_rows: list[EvalRow], test_rows: list[EvalRow], cross_validation: str
) -> str:
    train_count, val_count = counts
    return f"""# Guard classifier: training report

Produced by `python scripts/train_guard.py --report` (tables re-rendered by `python scripts/guard_report.py`;
the test table is re-printed by `homily eval guard`).

## Data and split
- AdvBench (behaviours and strings, MIT) and WildGuard benign (ODC-BY): `homily.guard.datasets.split_of` =
  CRC-32 of the normalised text (lower-cased words joined by spaces) mod 100: 0-49 train, 50-59 validation,
  60-99 test.
- JailbreakBench harmful and benign, XSTest safe and unsafe, NotInject and BIPIA: `datasets.stratified_split`,
  stratified by the set's own category column: within each stratum, items ranked by the same CRC-32 hash (ties
  by text); rank r of n falls at (r + 0.5) / n, train below 0.5, validation below 0.6, test above. Per set:

{split_counts(data_dir)}

- Train ({train_count} examples, counting repeats): the train parts above (JailbreakBench and XSTest items
  repeated, NotInject once, all as labelled: JBB harmful by JBB's category mapped to ours plus keyword rules,
  XSTest unsafe by keyword rules; BIPIA train instructions only teach the passage scanner); AdvBench train split
  (keyword labels; rows whose word set has Jaccard >= 0.6 with a JailbreakBench validation/test goal are
  dropped); WildGuard benign train split; MT-Bench questions and every 25th MMLU question stem (Apache-2.0 /
  MIT, via `routing/`; rows near-duplicating AlpacaEval or Vicuna are dropped); `scripts/guard_data/*.txt`,
  `scripts/guard_templates.py` and `scripts/guard_contrasts.py` (written for Homily: harmful and benign prompts,
  contrast pairs on the same topic with harmful vs honest intent, crisis messages, jailbreaks, injections);
  injection/jailbreak templates combining hand-written parts with AdvBench train goals.
- Validation ({val_count} examples, counting repeats): the validation parts above. Thresholds of the full head
  (the one used whenever the query embedding is given, i.e. on the request path and in every table below) are
{threshold_selection()}
  The shipped full head is then refitted on all train +
  validation items. The lexical-only head (earlier turns; no embedding) is trained on the train parts; its
  thresholds are the 99th percentile of benign validation scores + 0.02, clipped to [0.4, 0.8]. The test part
  was looked at only as recorded in the evaluation history below.
- Never trained on: Giskard, AlpacaEval (CC BY-NC: evaluation only), Vicuna bench, and every test part.
- Passage scanner: sentences of public-domain carrier passages (`corpus/christian_texts`) plus statement
  sentences of GSM8K problems and MMLU stems, against instruction-like text (requests from the training set,
  `guard_data/indirect.txt`, BIPIA train instructions). Threshold: 97th percentile of validation carriers'
  max-sentence scores. Evaluated by planting each BIPIA test instruction at the start, middle and end of passages
  from *other* works (`corpus/christian_texts_more`, SciFact abstracts).

## Model
Features: 384-d all-MiniLM-L6-v2 query embedding (the shared per-request embedding); hashed (CRC-32,
{HASH_BUCKETS} buckets) word unigrams and bigrams and char 4-grams of words longer than 4 letters, log counts,
L2-normalised; {N_SIGNALS} regex/shape signals. `full` head (latest user turn, with its embedding): the mean
logit of two one-hidden-layer nets, one reading embedding + n-grams + signals (48 units, 20 epochs), one reading
only embedding + signals (128 units, dropout 0.3, 20 epochs), exported as one MLP with both hidden layers side
by side (`scripts/guard_net.py`; alternatives compared by cross-validation: see `FULL_ENSEMBLE` in
`scripts/train_guard.py` and the evaluation history). `lex` head (earlier
turns, or no embedding): n-grams + signals, 48 units, 60 epochs. 8 sigmoid outputs each. Detection below =
action is not "allow" under the default policy (block every category at its calibrated threshold).

## Reading the table
{notes()}

## Cross-validated figures at the chosen thresholds (train + validation parts, out of fold)
{cross_validation}

## Held-out results (test part)
{format_table(test_rows)}

## Validation part (in the refitted full head's training data: in-sample, for reference only)
{format_table(val_rows)}

## Evaluation history
{history()}

Latency: `python bench/guard.py` (screen() on one turn, embedding excluded).
"""


def write_report(
    embed: EmbedFunction,
    model: GuardModel,
    data_dir: Path,
    output: Path,
    *,
    counts: tuple[int, int],
    cross_validation: str,
) -> list[EvalRow]:
    """Evaluate `model` on validation and test parts and write the report; returns the test rows."""
    policy = GuardPolicy()
    val_rows = evaluate(embed, model, policy, data_dir, split="val")
    test_rows = evaluate(embed, model, policy, data_dir, split="test")
    output.write_text(report_text(data_dir, counts, val_rows, test_rows, cross_validation), "utf-8")
    return test_rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--data-dir", type=Path, default=datasets.default_data_dir())
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/homily-guard-cache"))  # noqa: S108
    parser.add_argument("--train-count", type=int, required=True, help="as logged by train_guard.py")
    parser.add_argument("--val-count", type=int, required=True, help="as logged by train_guard.py")
    args = parser.parse_args(argv)
    model = load_guard_model(args.weights)
    rows = write_report(
        LocalEmbedFunction(args.cache_dir),
        model,
        args.data_dir,
        args.weights.parent / "REPORT.md",
        counts=(args.train_count, args.val_count),
        cross_validation=previous_cross_validation(args.weights.parent / "REPORT.md"),
    )
    sys.stdout.write(format_table(rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
