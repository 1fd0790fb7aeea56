"""Check that quoted Bible verses find their verse in the shared GlooGrounded library (tests/support/verse_quotes.py).

Installs the packaged library into a throwaway index, searches every quotation the way grounded requests search
(hybrid, no tradition) and prints hit@1 / hit@3 per kind of wording and overall, with every miss and what came
first instead. A hit is a World English Bible chunk of the verse's book and chapter whose markers cover the verse.

    python scripts/check_quotes.py [--library-dir path/to/built/library] [--postgres]

`--postgres` checks the PostgreSQL index instead, in a throwaway server started as the tests start theirs.

hit@1 / hit@3 of 68 quotations by kind (web 16, kjv 18, paraphrase 13, partial 11, misquote 10):

                                  web    kjv    paraphrase  partial  misquote  all
    main 6bd1779, SQLite          7/9    3/8    3/8         2/6      2/3       17/34
    main 6bd1779, PostgreSQL      7/10   4/9    2/8         2/7      2/4       17/38
    quotation search, SQLite      15/16  13/17  8/11        10/11    6/9       52/64
    quotation search, PostgreSQL  13/16  14/17  7/10        9/10     4/8       47/61

The baseline was measured before quotation search was written; its design choices were then measured on this set
(a development set, not held out: see `fusion.RetrievalParams` and `quotes.shingles`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from tests.support.bible_hits import holds_reference  # noqa: E402
from tests.support.verse_quotes import VERSE_QUOTES  # noqa: E402

from homily.embeddings import load_local_embedder  # noqa: E402
from homily.grounding.index import ChunkIndex  # noqa: E402
from homily.grounding.index_protocol import ChunkIndexProtocol  # noqa: E402
from homily.grounding.library import LIBRARY_DIR, load_library  # noqa: E402
from homily.grounding.pipeline import library_records  # noqa: E402

PUBLISHER = "gloo"


@contextmanager
def scratch_index(postgres: bool) -> Iterator[ChunkIndexProtocol]:
    """An empty index: SQLite in a temporary directory, or PostgreSQL in a throwaway server."""
    if postgres:
        from tests.support.services import running_postgres

        from homily.grounding.pg_index import PostgresChunkIndex

        with running_postgres() as server, server.fresh_database() as url:
            index: ChunkIndexProtocol = PostgresChunkIndex.open(url)
            yield index
            index.close()
        return
    with tempfile.TemporaryDirectory() as scratch:
        index = ChunkIndex.open(Path(scratch) / "library.db")
        yield index
        index.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library-dir", type=Path, default=LIBRARY_DIR)
    parser.add_argument("--postgres", action="store_true", help="check the PostgreSQL index")
    args = parser.parse_args()
    per_kind: dict[str, list[tuple[bool, bool]]] = {}
    timings: list[float] = []
    with scratch_index(args.postgres) as index:
        for item in load_library(args.library_dir):
            index.add(library_records(PUBLISHER, item))
        embedder = load_local_embedder()
        quotes = [quote for quote, _, _ in VERSE_QUOTES]
        for (quote, reference, kind), vector in zip(VERSE_QUOTES, embedder.embed(quotes), strict=True):
            index.search(quote, vector, PUBLISHER, limit=3)  # warm the statistics and caches
            started = time.perf_counter()
            hits = index.search(quote, vector, PUBLISHER, limit=3).hits
            timings.append((time.perf_counter() - started) * 1000)
            found = [holds_reference(hit, reference) for hit in hits]
            if not any(found):
                first = f"{hits[0].title} {hits[0].heading_path[-1:]}" if hits else "nothing"
                print(f"MISS [{kind}] {quote!r} ({reference}): first was {first}")
            per_kind.setdefault(kind, []).append((bool(found and found[0]), any(found)))
    everything = [entry for entries in per_kind.values() for entry in entries]
    for name, entries in [*per_kind.items(), ("all", everything)]:
        at_one = sum(hit for hit, _ in entries)
        at_three = sum(hit for _, hit in entries)
        print(f"{name} {len(entries)}: hit@1 {at_one}/{len(entries)}  hit@3 {at_three}/{len(entries)}")
    print(f"search latency: median {statistics.median(timings):.1f} ms, max {max(timings):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
