"""Loaders for the RouteLLM evaluation sets in `../shared/data/routing/routellm` (strong = GPT-4-1106,
weak = Mixtral).

Each loader removes the prompts RouteLLM lists as contaminated (its `eval_prompt` column), exactly as
RouteLLM's own
evaluation does, and returns per-item outcomes for both models so routers can be scored offline.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

STRONG_MODEL = "gpt-4-1106-preview"
WEAK_MODEL = "mistralai/Mixtral-8x7B-Instruct-v0.1"


def default_data_dir() -> Path:
    """`../shared/data` relative to the repository root (this file lives in src/homily/routing)."""
    return Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


@dataclass(frozen=True, slots=True)
class BenchmarkSet:
    """Prompts that decide the route, and each model's per-item quality.

    `strong_quality[i]`/`weak_quality[i]` are what item i scores when routed to that model (1/0
    correctness, or the
    MT-Bench judge score averaged over both turns); every item counts once.
    """

    name: str
    prompts: list[str]
    strong_quality: npt.NDArray[np.float64]
    weak_quality: npt.NDArray[np.float64]
    groups: list[str]


@dataclass(frozen=True, slots=True)
class MmluItem:
    subject: str
    prompt: str
    weak_correct: bool
    strong_correct: bool


def _contaminated(path: Path) -> set[str]:
    with path.open(encoding="utf-8") as handle:
        return {str(json.loads(line)["eval_prompt"]) for line in handle if line.strip()}


def load_mmlu_items(data_dir: Path) -> list[MmluItem]:
    """All decontaminated MMLU items (57 subjects) with both models' correctness."""
    root = data_dir / "routing" / "routellm"
    excluded = _contaminated(root / "mmlu" / "contaminated_prompts.jsonl")
    with (root / "mmlu_all.csv").open(encoding="utf-8", newline="") as handle:
        return [
            MmluItem(
                row["subject"],
                row["prompt"],
                row["mixtral_8x7b_correct"] == "True",
                row["gpt4_1106_correct"] == "True",
            )
            for row in csv.DictReader(handle)
            if row["prompt"] not in excluded
        ]


def mmlu_set(items: list[MmluItem], name: str = "mmlu") -> BenchmarkSet:
    return BenchmarkSet(
        name=name,
        prompts=[item.prompt for item in items],
        strong_quality=np.array([float(item.strong_correct) for item in items]),
        weak_quality=np.array([float(item.weak_correct) for item in items]),
        groups=[item.subject for item in items],
    )


def load_gsm8k(data_dir: Path) -> BenchmarkSet:
    """The 1,319 GSM8K test prompts minus RouteLLM's contaminated ones."""
    root = data_dir / "routing" / "routellm" / "gsm8k"
    excluded = _contaminated(root / "contaminated_prompts.jsonl")
    prompts: list[str] = []
    strong: list[float] = []
    weak: list[float] = []
    with (root / "gsm8k_responses.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["prompt"] in excluded:
                continue
            prompts.append(row["prompt"])
            strong.append(float(row[STRONG_MODEL] == "True"))
            weak.append(float(row[WEAK_MODEL] == "True"))
    return BenchmarkSet("gsm8k", prompts, np.array(strong), np.array(weak), ["gsm8k"] * len(prompts))


def load_mt_bench(data_dir: Path) -> BenchmarkSet:
    """MT-Bench questions minus contaminated ones; the first turn decides, both turns' judge scores count."""
    root = data_dir / "routing" / "routellm" / "mt_bench"
    excluded = _contaminated(root / "contaminated_prompts.jsonl")
    questions: list[tuple[int, str, list[str]]] = []
    with (root / "question.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                questions.append((int(record["question_id"]), str(record["category"]), list(record["turns"])))
    scores: dict[tuple[int, str], list[float]] = {}
    with (root / "judgements.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                scores.setdefault((int(record["question_id"]), str(record["model"])), []).append(float(record["score"]))
    kept = [q for q in questions if not (set(q[2]) & excluded)]
    return BenchmarkSet(
        name="mt_bench",
        prompts=[turns[0] for _, _, turns in kept],
        strong_quality=np.array([float(np.mean(scores[(qid, STRONG_MODEL)])) for qid, _, _ in kept]),
        weak_quality=np.array([float(np.mean(scores[(qid, WEAK_MODEL)])) for qid, _, _ in kept]),
        groups=[category for _, category, _ in kept],
    )
