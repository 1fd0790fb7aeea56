"""Check the shared GlooGrounded library against questions readers ask (tests/support/library_questions.py).

Installs the packaged library into a throwaway index, asks every question the way grounded requests search
(hybrid, no tradition) and prints hit@1 / hit@3 with every miss and what came first instead: first the questions
in words, then abbreviated Bible references ("Rom 8:28"), whose hit is a Bible chunk holding the verses.

    python scripts/check_library.py [--library-dir path/to/built/library]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from tests.support.bible_hits import holds_reference  # noqa: E402
from tests.support.library_questions import LIBRARY_QUESTIONS, REFERENCE_QUESTIONS  # noqa: E402

from homily.embeddings import load_local_embedder  # noqa: E402
from homily.grounding.index import ChunkIndex, SearchHit  # noqa: E402
from homily.grounding.library import LIBRARY_DIR, load_library  # noqa: E402
from homily.grounding.pipeline import library_records  # noqa: E402

PUBLISHER = "gloo"


def is_answer(hit: SearchHit, title: str, heading: str) -> bool:
    joined = " > ".join(hit.heading_path)
    return title in hit.title and (heading in joined or heading in hit.title)


def report(name: str, found_per_question: list[tuple[str, list[bool], str]]) -> None:
    first = sum(bool(found and found[0]) for _, found, _ in found_per_question)
    top_three = sum(any(found) for _, found, _ in found_per_question)
    for question, found, instead in found_per_question:
        if not any(found):
            print(f"MISS {question!r}: first was {instead}")
    total = len(found_per_question)
    print(f"{name}: hit@1 {first}/{total}  hit@3 {top_three}/{total}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library-dir", type=Path, default=LIBRARY_DIR)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        index = ChunkIndex.open(Path(scratch) / "library.db")
        for item in load_library(args.library_dir):
            index.add(library_records(PUBLISHER, item))
        embedder = load_local_embedder()
        words: list[tuple[str, list[bool], str]] = []
        questions = [question for question, _, _ in LIBRARY_QUESTIONS]
        for (question, title, heading), vector in zip(LIBRARY_QUESTIONS, embedder.embed(questions), strict=True):
            hits = index.search(question, vector, PUBLISHER, limit=3).hits
            first = hits[0].title if hits else "nothing"
            words.append((question, [is_answer(hit, title, heading) for hit in hits], first))
        references: list[tuple[str, list[bool], str]] = []
        for question, vector in zip(REFERENCE_QUESTIONS, embedder.embed(list(REFERENCE_QUESTIONS)), strict=True):
            hits = index.search(question, vector, PUBLISHER, limit=3).hits
            first = hits[0].title if hits else "nothing"
            references.append((question, [holds_reference(hit, question) for hit in hits], first))
        index.close()
    report("questions in words", words)
    report("Bible references", references)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
