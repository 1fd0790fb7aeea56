"""Loaders for the safety sets in `../shared/data` and the deterministic train/validation/test splits.

Two split functions, both pure functions of the data, so the training script and `homily eval guard` agree on
what was held out without sharing any state:
- `split_of` (AdvBench, WildGuard): CRC-32 of the normalised text mod 100;
- `stratified_split` (JailbreakBench, XSTest, NotInject, BIPIA): within each value of the set's own category
  column, items ordered by that same hash; the first 50% train, the next 10% validation, the last 40% test.
Which sets are used for what is documented in `weights/REPORT.md`; licences are respected here: CC BY-NC sets
are only ever evaluation sets.
"""

from __future__ import annotations

import csv
import json
import re
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

Split = Literal["train", "val", "test"]

_WORDS_RE = re.compile(r"[a-z0-9]+")


def default_data_dir() -> Path:
    """`../shared/data` relative to the repository root."""
    return Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


def _text_hash(text: str) -> int:
    return zlib.crc32(" ".join(_WORDS_RE.findall(text.lower())).encode("utf-8"))


def split_of(text: str) -> Split:
    """50% train, 10% validation (thresholds), 40% test; stable across runs and machines."""
    bucket = _text_hash(text) % 100
    if bucket < 50:
        return "train"
    if bucket < 60:
        return "val"
    return "test"


def stratified_split(rows: Sequence[tuple[str, str]]) -> list[Split]:
    """The split of each (text, stratum) row: 50% train / 10% validation / 40% test within every stratum.

    Rows of a stratum are ranked by the hash of their normalised text (ties by the text itself); the row of
    rank r among n falls at (r + 0.5) / n, which goes to train below 0.5, validation below 0.6, test above.
    A stratum of 10 thus gives 5 / 1 / 4, and one of 5 gives 2 / 1 / 2. Stable across runs and machines.
    """
    strata: dict[str, list[int]] = {}
    for index, (_, stratum) in enumerate(rows):
        strata.setdefault(stratum, []).append(index)
    splits: list[Split] = ["test"] * len(rows)
    for members in strata.values():
        ranked = sorted(members, key=lambda index: (_text_hash(rows[index][0]), rows[index][0]))
        for rank, index in enumerate(ranked):
            position = (rank + 0.5) / len(ranked)
            splits[index] = "train" if position < 0.5 else "val" if position < 0.6 else "test"
    return splits


def part(rows: Sequence[tuple[str, str]], split: Split | None) -> list[str]:
    """The texts of `rows` in `split` (all of them when `split` is None), in file order."""
    if split is None:
        return [text for text, _ in rows]
    return [text for (text, _), where in zip(rows, stratified_split(rows), strict=True) if where == split]


def word_set(text: str) -> frozenset[str]:
    """Lowercase word set, for near-duplicate checks between data sets."""
    return frozenset(_WORDS_RE.findall(text.lower()))


def near_duplicate(text: str, others: list[frozenset[str]], threshold: float = 0.6) -> bool:
    """True if the text's word set has Jaccard similarity >= threshold with any of `others`."""
    words = word_set(text)
    for other in others:
        union = len(words | other)
        if union and len(words & other) / union >= threshold:
            return True
    return False


def _csv_column(path: Path, column: str) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [row[column] for row in csv.DictReader(handle)]


def _csv_rows(path: Path, column: str, stratum: str) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row[column], row[stratum]) for row in csv.DictReader(handle)]


def advbench_behaviors(data_dir: Path) -> list[str]:
    return _csv_column(data_dir / "safety" / "advbench" / "harmful_behaviors.csv", "goal")


def advbench_strings(data_dir: Path) -> list[str]:
    return _csv_column(data_dir / "safety" / "advbench" / "harmful_strings.csv", "target")


def jbb_rows(data_dir: Path, kind: Literal["harmful", "benign"]) -> list[tuple[str, str]]:
    """JailbreakBench goals (MIT) with their `category` (10 categories of 10)."""
    return _csv_rows(data_dir / "safety" / "jbb_behaviors" / f"{kind}-behaviors.csv", "goal", "category")


def jbb_goals(data_dir: Path, kind: Literal["harmful", "benign"], split: Split | None = None) -> list[str]:
    return part(jbb_rows(data_dir, kind), split)


def xstest_rows(data_dir: Path, label: Literal["safe", "unsafe"]) -> list[tuple[str, str]]:
    """XSTest v2 (CC BY 4.0): the 250 safe prompts or the 200 unsafe contrast prompts, with their `type`."""
    with (data_dir / "safety" / "xstest" / "xstest_prompts.csv").open(encoding="utf-8", newline="") as handle:
        return [(row["prompt"], row["type"]) for row in csv.DictReader(handle) if row["label"] == label]


def xstest(data_dir: Path, label: Literal["safe", "unsafe"], split: Split | None = None) -> list[str]:
    return part(xstest_rows(data_dir, label), split)


def notinject_rows(data_dir: Path) -> list[tuple[str, str]]:
    """NotInject (MIT): benign prompts full of injection trigger words, with their `category`."""
    rows: list[tuple[str, str]] = []
    for name in ("one", "two", "three"):
        items = json.loads((data_dir / "safety" / "piguard" / f"NotInject_{name}.json").read_text("utf-8"))
        rows.extend((str(item["prompt"]), str(item["category"])) for item in items)
    return rows


def notinject(data_dir: Path, split: Split | None = None) -> list[str]:
    return part(notinject_rows(data_dir), split)


def wildguard_benign(data_dir: Path) -> list[str]:
    rows = json.loads((data_dir / "safety" / "piguard" / "wildguard.json").read_text("utf-8"))
    return [str(row["prompt"]) for row in rows if int(row["label"]) == 0]


def bipia_rows(data_dir: Path, kind: Literal["text", "code"]) -> list[tuple[str, str]]:
    """BIPIA (MIT) attack instructions with their attack group (5 per group)."""
    groups = json.loads((data_dir / "safety" / "piguard" / f"BIPIA_{kind}.json").read_text("utf-8"))
    return [(str(item), str(group)) for group, items in groups.items() for item in items]


def bipia_instructions(data_dir: Path, kind: Literal["text", "code"], split: Split | None = None) -> list[str]:
    return part(bipia_rows(data_dir, kind), split)


def giskard_injections(data_dir: Path) -> list[str]:
    return _csv_column(data_dir / "safety" / "giskard" / "prompt_injections.csv", "prompt")


def alpaca_eval(data_dir: Path) -> list[str]:
    """CC BY-NC 4.0: evaluation only."""
    path = data_dir / "safety" / "benign_prompts" / "alpaca_eval_805.jsonl"
    return [str(json.loads(line)["instruction"]) for line in path.read_text("utf-8").splitlines() if line.strip()]


def vicuna_bench(data_dir: Path) -> list[str]:
    path = data_dir / "safety" / "benign_prompts" / "vicuna_bench_80.jsonl"
    return [str(json.loads(line)["turns"][0]) for line in path.read_text("utf-8").splitlines() if line.strip()]


def _windows(text: str, words_per_window: int) -> Iterator[str]:
    words = text.split()
    for start in range(0, max(len(words) - words_per_window // 2, 1), words_per_window):
        yield " ".join(words[start : start + words_per_window])


def _jsonl_texts(path: Path, field: str) -> Iterator[str]:
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            yield str(json.loads(line)[field])


def carrier_passages(data_dir: Path, kind: Literal["train", "eval"], words: int = 110) -> list[str]:
    """Clean document passages that injected instructions are planted into.

    Train carriers come from `corpus/christian_texts` (public domain); evaluation carriers from other works
    (`corpus/christian_texts_more`) and SciFact abstracts (CC BY-NC, evaluation only), so the passage scanner
    is never evaluated on the prose style it was trained on.
    """
    corpus = data_dir / "corpus"
    passages: list[str] = []
    if kind == "train":
        spurgeon = corpus / "christian_texts" / "spurgeon_morning_evening" / "spurgeon_morning_and_evening.json"
        for reading in json.loads(spurgeon.read_text("utf-8")):
            passages.extend(_windows(str(reading["body"]), words))
        verses = list(_jsonl_texts(corpus / "christian_texts" / "bible_web" / "web_verses.jsonl", "text"))
        passages.extend(" ".join(verses[start : start + 5]) for start in range(0, len(verses), 25))
        confessions = corpus / "christian_texts" / "church_fathers_npnf" / "augustine_confessions"
        for book in sorted(confessions.glob("*.md")):
            text = re.sub(r"\*\*\[\d+:\d+\]\*\*|^#.*$", " ", book.read_text("utf-8"), flags=re.MULTILINE)
            passages.extend(_windows(text, words))
        return passages
    more = corpus / "christian_texts_more"
    for work in (
        "edwards_selected_sermons",
        "imitation_of_christ",
        "moody_way_to_god",
        "introduction_devout_life",
    ):
        for path in sorted((more / work).glob("*.jsonl")):
            for text in _jsonl_texts(path, "text"):
                passages.extend(_windows(text, words))
    scifact = data_dir / "retrieval" / "scifact" / "corpus.jsonl"
    passages.extend(" ".join(text.split()[:words]) for text in _jsonl_texts(scifact, "text"))
    return passages


def plant(carrier: str, instruction: str, position: int) -> str:
    """Insert `instruction` at the start (0), middle (1) or end (2) of `carrier`, at a sentence boundary."""
    if position == 0:
        return f"{instruction}\n{carrier}"
    if position == 2:
        return f"{carrier}\n{instruction}"
    boundaries = [match.end() for match in re.finditer(r"[.!?]\s", carrier)]
    cut = boundaries[len(boundaries) // 2] if boundaries else len(carrier) // 2
    return f"{carrier[:cut]}{instruction} {carrier[cut:]}"


def mt_bench_prompts(data_dir: Path) -> list[str]:
    """MT-Bench questions, both turns (Apache-2.0): benign training prompts."""
    path = data_dir / "routing" / "mt_bench" / "question.jsonl"
    return [
        str(turn) for line in path.read_text("utf-8").splitlines() if line.strip() for turn in json.loads(line)["turns"]
    ]


def mmlu_questions(data_dir: Path, every: int = 25) -> list[str]:
    """Every `every`-th MMLU question stem from RouteLLM's file (Apache-2.0): benign training prompts."""
    stems = _csv_column(data_dir / "routing" / "routellm" / "mmlu_all.csv", "prompt")
    return [stem.split("\nA.")[0].strip() for stem in stems[::every]]


def gsm8k_problems(data_dir: Path) -> list[str]:
    """GSM8K word problems from RouteLLM's file (Apache-2.0 redistribution; GSM8K itself is MIT)."""
    return _csv_column(data_dir / "routing" / "routellm" / "gsm8k" / "gsm8k_responses.csv", "prompt")
