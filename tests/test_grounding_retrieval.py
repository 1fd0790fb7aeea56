"""Hybrid retrieval: ranking with the real embedder, tradition boost, item diversity, deletion, threshold."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from homily.embeddings import load_local_embedder
from homily.grounding.chunking import chunk_document
from homily.grounding.document import DocumentMetadata, ParsedDocument, Section
from homily.grounding.embedder import FloatMatrix, TextEmbedder
from homily.grounding.fusion import RetrievalParams
from homily.grounding.index import ChunkIndex, ChunkRecord
from homily.grounding.index_protocol import ChunkIndexProtocol
from homily.grounding.pg_index import PostgresChunkIndex

PUBLISHER = "pub-1"
OTHER_PUBLISHER = "pub-2"

TEXTS = {
    "baptism": "Baptism is the sacrament of initiation: washing with water in the name of the Father, "
    "the Son and the Holy Spirit, by which we are born again and joined to the Church.",
    "prayer": "Prayer is lifting up the heart to God: praise, thanksgiving, confession of sins and "
    "asking for what we need, as Jesus taught his disciples in the Lord's Prayer.",
    "creation": "In the beginning God created the heavens and the earth; the earth was formless and "
    "empty, and the Spirit of God was hovering over the surface of the waters.",
    "forgiveness": "Forgive us our debts as we also forgive our debtors: the forgiven must forgive, "
    "seventy times seven, from the heart and without keeping account of wrongs.",
}


@pytest.fixture(scope="module")
def embedder() -> TextEmbedder:
    return load_local_embedder()


@pytest.fixture(params=["sqlite", "postgres"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ChunkIndexProtocol]:
    """The same retrieval tests on both backends: SQLite (embedded) and PostgreSQL (shared by replicas)."""
    opened: ChunkIndexProtocol
    if request.param == "postgres":
        opened = PostgresChunkIndex.open(request.getfixturevalue("postgres_url"))
    else:
        opened = ChunkIndex.open(tmp_path / "chunks.db")
    yield opened
    opened.close()


def _records(
    embedder: TextEmbedder,
    item_id: str,
    title: str,
    text: str,
    *,
    tradition: str | None = None,
    publisher_id: str = PUBLISHER,
) -> list[ChunkRecord]:
    document = ParsedDocument(title, (Section((), text),), DocumentMetadata(title=title, tradition=tradition))
    chunks = chunk_document(document)
    vectors = embedder.embed([chunk.embedding_text(title) for chunk in chunks])
    return [
        ChunkRecord(
            f"{item_id}:{chunk.index}",
            item_id,
            publisher_id,
            chunk.index,
            title,
            chunk.heading_path,
            chunk.text,
            chunk.char_start,
            chunk.char_end,
            chunk.token_count,
            chunk.content_hash,
            tradition,
            vectors[i],
        )
        for i, chunk in enumerate(chunks)
    ]


def _search(
    index: ChunkIndexProtocol, embedder: TextEmbedder, query: str, **kwargs: object
) -> list[tuple[str, float, bool]]:
    result = index.search(query, embedder.embed([query])[0], PUBLISHER, **kwargs)  # type: ignore[arg-type]
    return [(hit.item_id, hit.score, hit.relevant) for hit in result.hits]


def _load_topics(index: ChunkIndexProtocol, embedder: TextEmbedder, *, skip: str = "") -> None:
    for topic, text in TEXTS.items():
        if topic != skip:
            index.add(_records(embedder, topic, topic.title(), text))


def test_the_matching_passage_ranks_first(index: ChunkIndexProtocol, embedder: TextEmbedder) -> None:
    _load_topics(index, embedder)
    queries = {
        "What does it mean to be born again of water and the Spirit?": "baptism",
        "How should I pray and what did Jesus teach about it?": "prayer",
        "Who made the world at the start?": "creation",
        "How many times must I forgive someone who wrongs me?": "forgiveness",
    }
    for query, expected in queries.items():
        assert _search(index, embedder, query)[0][0] == expected, query


def test_keyword_only_match_is_found(index: ChunkIndexProtocol, embedder: TextEmbedder) -> None:
    _load_topics(index, embedder)
    index.add(_records(embedder, "rare", "Notes", "The Zwinglian memorialist view of the supper."))
    hits = _search(index, embedder, "zwinglian", params=RetrievalParams(dense_weight=0.0))
    assert hits[0][0] == "rare"


@pytest.mark.parametrize("insert_catholic_first", [True, False])
def test_tradition_boost_breaks_equal_relevance_both_ways(
    index: ChunkIndexProtocol, embedder: TextEmbedder, insert_catholic_first: bool
) -> None:
    text = TEXTS["baptism"]
    catholic = _records(embedder, "catholic-item", "On Baptism", text, tradition="catholic")
    evangelical = _records(embedder, "evangelical-item", "On Baptism", text, tradition="evangelical")
    for records in (catholic, evangelical) if insert_catholic_first else (evangelical, catholic):
        index.add(records)
    _load_topics(index, embedder, skip="baptism")
    query = "What happens in baptism?"
    assert _search(index, embedder, query, tradition="catholic")[0][0] == "catholic-item"
    assert _search(index, embedder, query, tradition="evangelical")[0][0] == "evangelical-item"
    top_two = {item for item, _, _ in _search(index, embedder, query)[:2]}
    assert top_two == {"catholic-item", "evangelical-item"}


def test_tradition_boost_does_not_override_clear_relevance(index: ChunkIndexProtocol, embedder: TextEmbedder) -> None:
    index.add(_records(embedder, "on-topic", "Baptism", TEXTS["baptism"], tradition="evangelical"))
    index.add(_records(embedder, "off-topic", "Creation", TEXTS["creation"], tradition="catholic"))
    hits = _search(index, embedder, "What happens in baptism?", tradition="catholic")
    assert hits[0][0] == "on-topic"


def test_no_single_item_crowds_out_the_rest(index: ChunkIndexProtocol, embedder: TextEmbedder) -> None:
    long_text = "\n\n".join(f"{TEXTS['prayer']} Part {n}." for n in range(12))
    index.add(_records(embedder, "long", "Prayer", long_text))
    index.add(_records(embedder, "short", "Prayer too", TEXTS["prayer"].replace("Prayer", "Praying")))
    _load_topics(index, embedder)
    items = [item for item, _, _ in _search(index, embedder, "What is prayer?", limit=4)]
    assert items.count("long") <= RetrievalParams().per_item_limit
    assert "short" in items


def test_relevance_threshold_decides_sources_returned(index: ChunkIndexProtocol, embedder: TextEmbedder) -> None:
    _load_topics(index, embedder)
    on_topic = "How should I pray?"
    off_topic = "What torque should the lug nuts of a car wheel be tightened to?"
    assert index.search(on_topic, embedder.embed([on_topic])[0], PUBLISHER).sources_returned
    off = index.search(off_topic, embedder.embed([off_topic])[0], PUBLISHER)
    assert off.hits  # the ranking still returns something to look at ...
    assert not off.sources_returned  # ... but nothing relevant enough to ground an answer
    strict = RetrievalParams(relevance_threshold=0.99)
    assert not index.search(on_topic, embedder.embed([on_topic])[0], PUBLISHER, params=strict).sources_returned


def test_search_is_scoped_to_the_publisher(index: ChunkIndexProtocol, embedder: TextEmbedder) -> None:
    index.add(_records(embedder, "mine", "Creation", TEXTS["creation"]))
    index.add(_records(embedder, "theirs", "Prayer", TEXTS["prayer"], publisher_id=OTHER_PUBLISHER))
    items = {item for item, _, _ in _search(index, embedder, "How should I pray?")}
    assert items == {"mine"}


def _unit(values: Sequence[float]) -> FloatMatrix:
    vector = np.zeros(384, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def test_deletion_removes_from_keyword_and_dense_at_once(index: ChunkIndexProtocol, embedder: TextEmbedder) -> None:
    _load_topics(index, embedder)
    query = "forgive seventy times seven"
    vector = embedder.embed([query])[0]
    assert index.search(query, vector, PUBLISHER).hits[0].item_id == "forgiveness"
    assert index.delete_items(["forgiveness"]) == 1
    keyword_only = RetrievalParams(dense_weight=0.0)
    dense_only = RetrievalParams(dense_weight=1.0, keyword_candidates=0)
    for params in (keyword_only, dense_only, RetrievalParams()):
        hits = index.search(query, vector, PUBLISHER, params=params).hits
        assert "forgiveness" not in {hit.item_id for hit in hits}
    assert index.count(PUBLISHER) == len(TEXTS) - 1


def test_vectors_persist_and_reload_from_the_database(tmp_path: Path) -> None:
    path = tmp_path / "persist.db"
    first = ChunkIndex.open(path)
    records = [
        ChunkRecord(f"c{n}", f"item{n}", PUBLISHER, 0, f"T{n}", (), f"text {n}", 0, 6, 2, "h", None, _unit([1, n]))
        for n in range(5)
    ]
    first.add(records)
    first.delete_items(["item3"])
    first.close()

    reopened = ChunkIndex.open(path)
    assert reopened.count(PUBLISHER) == 4
    hits = reopened.search("", _unit([1, 4]), PUBLISHER, params=RetrievalParams(dense_weight=1.0)).hits
    assert hits[0].item_id == "item4"
    assert "item3" not in {hit.item_id for hit in hits}
    reopened.close()


def test_vectors_set_after_keyword_indexing_become_searchable(index: ChunkIndexProtocol) -> None:
    record = ChunkRecord("c1", "item1", PUBLISHER, 0, "Title", (), "lexical first", 0, 13, 2, "h", None, None)
    index.add([record])
    assert index.count(PUBLISHER) == 0
    assert index.search("lexical", _unit([1]), PUBLISHER).hits[0].item_id == "item1"
    index.set_vectors(["c1"], _unit([1])[None, :])
    assert index.count(PUBLISHER) == 1
    dense = index.search("", _unit([1]), PUBLISHER, params=RetrievalParams(keyword_candidates=0))
    assert dense.hits[0].similarity == pytest.approx(1.0, abs=1e-5)


def test_title_change_and_tradition_update_reach_the_ranking(index: ChunkIndexProtocol) -> None:
    for n in (1, 2):
        index.add(
            [ChunkRecord(f"c{n}", f"i{n}", PUBLISHER, 0, "Same", (), "same words", 0, 10, 2, "h", None, _unit([1]))]
        )
    index.update_item("i2", tradition="mainline")
    assert index.search("same", _unit([1]), PUBLISHER, tradition="mainline").hits[0].item_id == "i2"
    index.update_item("i1", title="Unique heading")
    assert (
        index.search("unique", _unit([1]), PUBLISHER, params=RetrievalParams(dense_weight=0.0)).hits[0].item_id == "i1"
    )


# Verse-marked chapters as the shared library holds them, and passages that out-score them on the words alone.
SCRIPTURE = (
    ("romans-8a", "Romans (World English Bible)", ("Romans", "Romans 8"),
     "8:26 In the same way, the Spirit also helps our weaknesses, for we don't know how to pray as we ought.\n"
     "8:27 He who searches the hearts knows what is on the Spirit's mind."),
    ("romans-8b", "Romans (World English Bible)", ("Romans", "Romans 8"),
     "8:28 We know that all things work together for good for those who love God, for those who are called "
     "according to his purpose.\n8:29 For whom he foreknew, he also predestined."),
    ("romans-notes", "Reading Romans: notes for small groups", ("Romans", "Chapter 8, verses 26 to 28"),
     "Rom 8, verse 28 and verses 26 and 27: in Romans chapter 8 the Spirit helps us pray, and all things work "
     "together for good for those who love God. Romans groups often end their study of Romans with verse 28."),
    ("john-4", "John (World English Bible)", ("John", "John 4"),
     "4:8 For his disciples had gone away into the city to buy food.\n4:9 The Samaritan woman said to him."),
    ("matthew-5", "Matthew (World English Bible)", ("Matthew", "Matthew 5"),
     "5:3 Blessed are the poor in spirit, for theirs is the Kingdom of Heaven.\n5:4 Blessed are those who mourn."),
    ("henry", "Matthew Henry's Commentary: John 18", (),
     "Matthew Henry compares John 18 with Matt. 5:3: the poor in spirit are blessed, as Matthew 5:3 says; "
     "the poor in spirit, Matthew Henry writes, are blessed indeed."),
    ("first-john-4", "1 John (World English Bible)", ("1 John", "1 John 4"),
     "4:8 He who doesn't love doesn't know God, for God is love.\n4:9 By this God's love was revealed in us."),
)  # fmt: skip


def _scripture_records(embedder: TextEmbedder) -> list[ChunkRecord]:
    vectors = embedder.embed([f"{title}\n{text}" for _, title, _, text in SCRIPTURE])
    return [
        ChunkRecord(
            f"{key}:0", key, PUBLISHER, 0, title, heading, text, 0, len(text), 60, key, None, vectors[position]
        )
        for position, (key, title, heading, text) in enumerate(SCRIPTURE)
    ]


@pytest.mark.parametrize(
    ("question", "passage"),
    [
        ("Rom 8:28", "romans-8b"),
        ("What does Rom. 8:28 promise?", "romans-8b"),
        ("Romans 8:26-27", "romans-8a"),
        ("Explain Matt 5:3 to a child", "matthew-5"),
        ("1 Jn 4:8", "first-john-4"),
    ],
)
def test_a_bible_reference_finds_its_verses_first(
    index: ChunkIndexProtocol, embedder: TextEmbedder, question: str, passage: str
) -> None:
    """Readers name passages by (abbreviated) reference: the chunk holding the verses ranks first and counts as
    relevant, above notes that repeat the book's name and numbers, a commentator named Matthew, and John for
    1 John."""
    index.add(_scripture_records(embedder))
    item, _, relevant = _search(index, embedder, question)[0]
    assert (item, relevant) == (passage, True)


def test_a_referenced_verse_is_found_beyond_the_usual_candidates(
    index: ChunkIndexProtocol, embedder: TextEmbedder
) -> None:
    """"Gen 1:1" leaves "genesis" as its only telling keyword, and many chunks name Genesis more often than the one
    holding 1:1: the chunks naming the book are searched for the reference as well."""
    index.add(_scripture_records(embedder))
    opening = "1:1 In the beginning, God created the heavens and the earth.\n1:2 The earth was formless and empty."
    notes = "Genesis 1, Genesis 1 and Genesis 1 again: 1 note on Genesis 1 for 1 reader of Genesis 1, 1 by 1."
    records = [
        ChunkRecord("gen-1:0", "gen-1", PUBLISHER, 0, "Genesis (WEB)", ("Genesis", "Genesis 1"), opening, 0,
                    len(opening), 30, "g1", None, embedder.embed([opening])[0]),
        *(
            ChunkRecord(f"notes-{n}:0", f"notes-{n}", PUBLISHER, 0, f"Genesis notes {n}", (), notes, 0, len(notes),
                        15, f"n{n}", None, embedder.embed([notes])[0])
            for n in range(3)
        ),
    ]  # fmt: skip
    index.add(records)
    few = RetrievalParams(keyword_candidates=2, dense_candidates=0)
    hits = index.search("Gen 1:1", embedder.embed(["Gen 1:1"])[0], PUBLISHER, params=few).hits
    assert hits[0].item_id == "gen-1"
