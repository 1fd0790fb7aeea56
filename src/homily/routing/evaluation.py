"""`homily eval routing`: the learned router against RouteLLM's benchmarks, next to random and published rows.

Evaluated items never reach training: MMLU is scored only on the subjects the weights' metadata lists as
held out,
GSM8K and MT-Bench are wholly held out (see scripts/train_router.py). Prompts are embedded once and cached
by hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from homily.embeddings.offline_cache import embed_cached
from homily.routing.benchmarks import BenchmarkSet, load_gsm8k, load_mmlu_items, load_mt_bench, mmlu_set
from homily.routing.learned import ComplexityModel
from homily.routing.metrics import RouterMetrics, evaluate_router, random_router_metrics

PUBLISHED_APGR: dict[str, float] = {"mt_bench": 0.802, "mmlu": 0.603, "gsm8k": 0.622}
"""RouteLLM's best published APGR per benchmark (GPT-4-1106 vs Mixtral-8x7B, arXiv 2406.18665)."""


@dataclass(frozen=True, slots=True)
class BenchmarkRow:
    benchmark: str
    items: int
    router: RouterMetrics
    random_apgr: float
    random_cpt50: float
    random_cpt80: float
    published_apgr: float


def held_out_subjects(model: ComplexityModel) -> list[str]:
    subjects = model.weights.metadata.get("mmlu_eval_subjects", [])
    return [str(subject) for subject in subjects] if isinstance(subjects, list) else []


def load_evaluation_sets(model: ComplexityModel, data_dir: Path) -> list[BenchmarkSet]:
    """MT-Bench, held-out MMLU subjects, GSM8K (decontaminated)."""
    eval_subjects = set(held_out_subjects(model))
    if not eval_subjects:
        raise ValueError("the router weights do not list held-out MMLU subjects")
    mmlu_items = [item for item in load_mmlu_items(data_dir) if item.subject in eval_subjects]
    return [load_mt_bench(data_dir), mmlu_set(mmlu_items), load_gsm8k(data_dir)]


def score_prompts(model: ComplexityModel, prompts: list[str], cache_dir: Path) -> npt.NDArray[np.float64]:
    """Router logits of single-turn prompts (monotone in the complexity score, so identical rankings)."""
    return model.batch_logits(prompts, embed_cached(prompts, cache_dir))


def evaluate_sets(
    model: ComplexityModel, sets: list[BenchmarkSet], cache_dir: Path, num_bins: int = 10
) -> list[BenchmarkRow]:
    rows = []
    for benchmark in sets:
        scores = score_prompts(model, benchmark.prompts, cache_dir)
        metrics = evaluate_router(scores, benchmark.strong_quality, benchmark.weak_quality, num_bins)
        random_apgr, random_cpt50, random_cpt80 = random_router_metrics(
            benchmark.strong_quality, benchmark.weak_quality, num_bins=num_bins
        )
        rows.append(
            BenchmarkRow(
                benchmark=benchmark.name,
                items=len(benchmark.prompts),
                router=metrics,
                random_apgr=random_apgr,
                random_cpt50=random_cpt50,
                random_cpt80=random_cpt80,
                published_apgr=PUBLISHED_APGR[benchmark.name],
            )
        )
    return rows


def format_table(rows: list[BenchmarkRow]) -> str:
    """Markdown table: router vs random vs RouteLLM's best published APGR."""
    lines = [
        "| benchmark | items | weak | strong | APGR | CPT(50%) | CPT(80%) | random APGR | random CPT(50%) "
        "| random CPT(80%) | RouteLLM best APGR |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        metrics = row.router
        lines.append(
            f"| {row.benchmark} | {row.items} | {metrics.weak_quality:.3f} | {metrics.strong_quality:.3f} "
            f"| **{metrics.apgr:.3f}** | {metrics.cpt50:.1%} | {metrics.cpt80:.1%} | {row.random_apgr:.3f} "
            f"| {row.random_cpt50:.1%} | {row.random_cpt80:.1%} | {row.published_apgr:.3f} |"
        )
    return "\n".join(lines)


def format_sweep(row: BenchmarkRow) -> str:
    points = ", ".join(f"{point.strong_fraction:.0%}:{point.pgr:.2f}" for point in row.router.sweep)
    return f"{row.benchmark} PGR by strong-call share: {points}"
