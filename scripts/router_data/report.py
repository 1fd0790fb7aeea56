"""Renders the router's REPORT.md (data and split, selection table, held-out table, evaluation history).

The evaluation history is hand-maintained accounting of every look at the held-out sets; it lives in
`EVALUATION_HISTORY.md` next to the report and is copied in verbatim, so retraining never loses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

from homily.routing.evaluation import BenchmarkRow, format_sweep, format_table


@dataclass(frozen=True, slots=True)
class CvRow:
    head: str
    config: str
    scores: dict[str, float]


def _cv_table(rows: list[CvRow], chosen: dict[str, str], target: str) -> str:
    lines = ["| head | configuration | training-side scores | chosen |", "|---|---|---|---|"]
    for row in rows:
        scores = ", ".join(f"{name} {value:.3f}" for name, value in row.scores.items())
        wanted = f"{target} {chosen[row.head]}" if row.head == "multiple_choice" else chosen[row.head]
        lines.append(f"| {row.head} | {row.config} | {scores} | {'**yes**' if row.config == wanted else ''} |")
    return "\n".join(lines)


def _traffic_table(counts: dict[str, list[int]]) -> str:
    lines = ["| category | in expected tier |", "|---|---|"]
    lines += [f"| {category} | {right}/{total} |" for category, (right, total) in counts.items()]
    right, total = (sum(pair[i] for pair in counts.values()) for i in (0, 1))
    return "\n".join([*lines, f"| all | {right}/{total} ({right / total:.1%}) |"])


def write_report(  # noqa: PLR0917 - one call site, every argument is a report section
    path: Path,
    cv_rows: list[CvRow],
    metadata: dict[str, object],
    bounds: tuple[float, float],
    confidence: tuple[float, float],
    rows: list[BenchmarkRow],
    seconds: float,
) -> None:
    train_subjects = cast("list[str]", metadata["mmlu_train_subjects"])
    eval_subjects = cast("list[str]", metadata["mmlu_eval_subjects"])
    chosen = cast("dict[str, str]", metadata["heads"])
    target = str(metadata["mmlu_target"])
    stem_quality = cast("list[float]", metadata["mmlu_stem_quality"])
    history_file = path.parent / "EVALUATION_HISTORY.md"
    history = history_file.read_text(encoding="utf-8").strip() if history_file.exists() else ""
    held_out = (
        f"{format_table(rows)}\n\n" + "\n".join(format_sweep(row) for row in rows)
        if rows
        else "Not evaluated in this run (`--no-heldout`)."
    )
    text = f"""# Complexity router: training report

Produced by `python scripts/train_router.py` in {seconds:.0f} s. Weights: `complexity_router.npz` (NumPy, no pickle).

## Design
`homily.routing.shapes.prompt_shape` sorts the last user turn into multiple choice (three or more option lines), an
arithmetic word problem (prose with two or more quantities and a question, no code) or an open instruction; each
shape has its own logistic head over the shared MiniLM embedding, the structural/lexical signals and the
word-problem signals (counts of quantities, rates, fractions/percentages, units, comparisons, conditions, sentences
that introduce a quantity, verbs that change one). Two signals mark requests the product wants in tier_3 however
short: `code_request` (a language or framework named next to a code artefact: "a Swift function", "a SQL query")
and `traditions_named` (distinct traditions or theologians named: comparative theology). `emb*c` means the
embedding columns were scaled by c before fitting (their L2 penalty divided by c squared); a head without `sig`
reads only the word-problem signals (offered to the word-problem head only). Heads:
{", ".join(f"{shape}: `{label}`" for shape, label in chosen.items())}.

## Data and split
- multiple-choice head: MMLU subjects at even positions of the sorted subject list ({len(train_subjects)} subjects:
  {", ".join(train_subjects)}) with target `{target}`.
- word-problem head: template arithmetic word problems labelled by step count (1 step -> 0 ... 5+ -> 1) and the
  word-problem-shaped rows of our own traffic/task sets (scripts/router_data, our own writing).
- open head: the rest of our own data, templated and hand-written: greetings, thanks, one-line lookups (0), moderate
  tasks, writing, role-play, extraction, explanation (0.4-0.5), long analytical/comparative theology (0.85), reasoning
  puzzles, code and math (1), and short product requests (scripts/router_data/product_requests.py): one-line code
  requests (1), short comparative theology (0.85), Bible-trivia lookups (0), everyday tasks quoting a verse (0.4).
  Rows of our own data by shape: {metadata["traffic_rows_by_shape"]}.
- Held out for evaluation only: MMLU subjects {", ".join(eval_subjects)};
  all of GSM8K and MT-Bench. RouteLLM's contaminated prompts are removed from every set.

## Selection (training side only)
Multiple choice: 4-fold CV grouped by MMLU training subject (mean APGR). Word problems: Spearman correlation of the
head's scores with the hand-counted steps of 36 hand-written realistic problems (never trained on; CV Spearman on the
templates shown for reference). Open prompts: Spearman correlation of the head's scores with the task-kind labels
(reasoning/math/code 1, writing/role-play/extraction/explanation 0) of 38 hand-written prompts (never trained on;
CV Spearman on our open prompts shown for reference). Among configurations within a tolerance of the best (0.005
APGR, 0.01 Spearman) the most regularised wins. For the word-problem head the table also shows how well it picks
out (ROC AUC) the items the weak model fails among the {metadata["mmlu_stem_items"]} quantitative MMLU
training-subject questions whose stem (options removed) is word-problem shaped (scripts/router_data/mmlu_stems.py;
strong {stem_quality[0]:.3f} vs weak {stem_quality[1]:.3f} correct, a gap too small for a stable APGR). These are
mostly abstract algebra, physics and chemistry rather than arithmetic stories, so the AUC is reported, not used for
selection.

{_cv_table(cv_rows, chosen, target)}

Tier boundaries on the score (maximising out-of-fold traffic tier accuracy, {metadata["cv_traffic_tier_accuracy"]}):
tier_1 < {bounds[0]:.4f} <= tier_2 < {bounds[1]:.4f} <= tier_3. Confidence = sigmoid({confidence[0]:.3f} +
{confidence[1]:.3f} x distance to nearest boundary).

## Realistic traffic (tests/support/realistic_traffic.py; never trained on or selected on, but its misroutes on main
showed which kinds of request the data lacked, so these figures are optimistic)
Share of requests in their expected tier, by category (`python scripts/check_router_traffic.py` lists misroutes):
{_traffic_table(cast("dict[str, list[int]]", metadata["realistic_traffic"]))}

## Held-out evaluation (RouteLLM metrics; 10 quantile thresholds; CPT = strong-call share)
Reproduce with `homily eval routing` (or this script).

{held_out}

{history}
"""
    path.write_text(text, encoding="utf-8")
