"""Check the shared GlooGrounded library against questions readers ask (tests/support/library_questions.py).

Installs the packaged library into a throwaway index, asks every question the way grounded requests search
(hybrid, no tradition) and prints hit@1 / hit@3 with every miss and what came first instead.

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

from tests.support.library_questions import LIBRARY_QUESTIONS  # noqa: E402

from homily.embeddings import load_local_embedder  # noqa: E402
from homily.grounding.index import ChunkIndex, SearchHit  # noqa: E402
from homily.grounding.library import LIBRARY_DIR, load_library  # noqa: E402
from homily.grounding.pipeline import library_records  # noqa: E402

PUBLISHER = "gloo"


def is_answer(hit: SearchHit, title: str, heading: str) -> bool:
    joined = " > ".join(hit.heading_path)
    return title in hit.title and (heading in joined or heading in hit.title)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library-dir", type=Path, default=LIBRARY_DIR)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        index = ChunkIndex.open(Path(scratch) / "library.db")
        for item in load_library(args.library_dir):
            index.add(library_records(PUBLISHER, item))
        embedder = load_local_embedder()
        vectors = embedder.embed([question for question, _, _ in LIBRARY_QUESTIONS])
        first = top_three = 0
        for (question, title, heading), vector in zip(LIBRARY_QUESTIONS, vectors, strict=True):
            hits = index.search(question, vector, PUBLISHER, limit=3).hits
            found = [is_answer(hit, title, heading) for hit in hits]
            first += bool(found and found[0])
            top_three += any(found)
            if not any(found):
                instead = hits[0].title if hits else "nothing"
                print(f"MISS {question!r}: want {title} / {heading}; first was {instead}")
        index.close()
    total = len(LIBRARY_QUESTIONS)
    print(f"hit@1 {first}/{total}  hit@3 {top_three}/{total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
